"""codegen.show on functions defined in a notebook cell or a file."""

from __future__ import annotations

import linecache

import numpy as np
from conftest import ROOT

import codegen
from codegen.checks.verify import module_from_source

CELL = "def f(x, y):\n    z = x * y + x\n    return z\n"


def _cell_function(filename: str):
    """A function as IPython defines it: compiled from a cell whose text only
    linecache holds."""
    linecache.cache[filename] = (len(CELL), None, CELL.splitlines(True), filename)
    namespace: dict = {}
    exec(compile(CELL, filename, "exec"), namespace)
    return namespace["f"]


def test_a_notebook_function_gets_a_command_that_regenerates_it():
    for filename in ("<ipython-input-1-0123abcd>", "/tmp/ipykernel_4242/123456.py"):
        code = codegen.show(_cell_function(filename)).code
        header = code.split('"""')[0]
        assert (
            "# Regenerate with: codegen.show(f) in the notebook that defines f"
            in header
        )
        assert "codegen grad" not in header and filename not in code
        mod = module_from_source(code, "cell")
        _, (gx, gy) = mod.f_value_and_grad(3.0, -2.0)
        assert (gx, gy) == (-2.0 + 1.0, 3.0)  # dz/dx = y + 1, dz/dy = x


def test_a_function_from_a_file_names_the_file(tmp_path, monkeypatch):
    from codegen.checks.verify import load_module

    monkeypatch.chdir(tmp_path)
    (tmp_path / "circuit.py").write_text((ROOT / "examples" / "circuit.py").read_text())
    code = codegen.show(load_module(tmp_path / "circuit.py").circuit).code
    assert "# Regenerate with: codegen grad circuit.py:circuit" in code
    mod = module_from_source(code, "c")
    _, grads = mod.circuit_value_and_grad(-2.0, 5.0, -4.0)
    np.testing.assert_allclose(grads, (-4.0, -4.0, 3.0))
