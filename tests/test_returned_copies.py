"""A returned value never shares memory with the caller's input where the
forward made a copy: ``np.copy(x)`` (and ``x.copy()``, ``np.array(x)``,
``+x``) is rendered as ``x`` itself, which nothing writes into, so the value
is copied on the way out; a value that is the input, or a view of it, in the
forward itself stays so."""

from __future__ import annotations

import numpy as np
import pytest

import codegen
from codegen.checks.verify import module_from_source

COPIED = [
    "return np.copy(x)",
    "return x.copy()",
    "return np.array(x)",
    "return +x",
    "return x.T.copy()",
    "return np.copy(x.T)",
    "y = np.copy(x)\n    z = y\n    return z.T",
    "y = +x\n    return y, x * 2.0",
]


def _module(body: str):
    src = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    return module_from_source(codegen.generate(src, "copies.py", "f"), "copies")


@pytest.mark.parametrize("body", COPIED)
def test_a_copy_of_an_input_is_a_new_array(body):
    mod = _module(body)
    x = np.arange(6.0).reshape(2, 3)
    kept = x.copy()
    for out in (mod.f_forward(x)[0], mod.f_value_and_grad(x)[0]):
        first = out[0] if isinstance(out, tuple) else out
        assert not np.shares_memory(first, x)
        first[...] = 100.0  # the caller updates what it got back
        np.testing.assert_array_equal(x, kept)


@pytest.mark.parametrize("body", ["return x", "y = x\n    return y"])
def test_the_input_itself_is_returned_as_the_forward_returns_it(body):
    mod = _module(body)
    x = np.arange(3.0)
    out, _ = mod.f_value_and_grad(x)
    assert out is x


def test_a_float_parameter_returned_stays_a_float():
    src = "import numpy as np\n\n\ndef f(x, a):\n    return a\n"
    mod = module_from_source(codegen.generate(src, "copies.py", "f"), "copies_f")
    assert type(mod.f_forward(np.ones(2), 2.0)[0]) is float


@pytest.mark.parametrize(
    "body",
    [
        "c = np.float64(x)\n    c[0] = w\n    return c * x",
        "a = x * 1.0\n    c = np.float32(a)\n    a *= w\n    return c * 2.0",
    ],
)
def test_a_float_cast_may_be_its_operand(body):
    """np.float64(x) of a float64 array is x itself: writing into either is
    refused, located, as for any array held twice (it changed x silently)."""
    src = f"import numpy as np\n\n\ndef f(x, w):\n    {body}\n"
    with pytest.raises(codegen.CodegenError, match="held elsewhere"):
        codegen.generate(src, "cast.py", "f")
