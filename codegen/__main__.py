"""`python -m codegen` is the `codegen` command."""

from codegen.cli import run

run()
