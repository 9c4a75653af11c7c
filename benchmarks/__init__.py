"""Benchmarks of codegen: generated gradients against NumPy by hand, HIPS
autograd, JAX and PyTorch (``run.py``), and codegen's own speed
(``scaling.py``). Not part of the installed package."""
