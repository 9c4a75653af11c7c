"""Random forward programs written the way users write them, and a checker
that compares codegen's output with the program itself, HIPS autograd and
central differences (issue 13). `python -m tests.programs.run` is the long
profile; tests/test_random_programs.py the bounded CI one."""
