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


@pytest.mark.parametrize("body", ["return x / y", "return x + y", "return x * y, y"])
def test_floats_in_give_floats_out_where_outputs_are_copied(body):
    # the value is cached (x / y) or the gradients are one array (x + y):
    # a copy for the caller, which of a float is the float itself, not the
    # 0-d array np.copy makes of it
    src = f"import numpy as np\n\n\ndef f(x, y):\n    {body}\n"
    mod = module_from_source(codegen.generate(src, "copies.py", "f"), "copies_ff")
    out, cache = mod.f_forward(0.7, 1.5)
    outs = out if isinstance(out, tuple) else (out,)
    grads = mod.f_backward(*(1.0 for _ in outs), cache)
    value, grads_vag = mod.f_value_and_grad(0.7, 1.5)
    values = value if isinstance(value, tuple) else (value,)
    for v in (*outs, *grads, *values, *grads_vag):
        assert type(v) is float


def test_an_array_output_of_unknown_rank_is_still_a_copy_of_the_cache():
    src = "import numpy as np\n\n\ndef f(x, y):\n    return x / y\n"
    mod = module_from_source(codegen.generate(src, "copies.py", "f"), "copies_fa")
    x, y = np.arange(1.0, 4.0), np.full(3, 2.0)
    out, cache = mod.f_forward(x, y)
    out[...] = 100.0  # the caller writes into what it got back
    grad_x, grad_y = mod.f_backward(np.ones(3), cache)
    np.testing.assert_allclose(grad_y, -x / y**2)  # read x / y from the cache


def test_meshgrid_grids_are_the_callers_own_arrays():
    # np.meshgrid copies: a returned grid is writable, and writing into it
    # changes neither the input nor what the backward reads
    src = (
        "import numpy as np\n\n\ndef f(x, y):\n"
        "    a, b = np.meshgrid(x, y)\n    return a * b, b\n"
    )
    mod = module_from_source(codegen.generate(src, "copies.py", "f"), "copies_mg")
    x, y = np.arange(1.0, 4.0), np.array([2.0, 5.0])
    (ab, b), cache = mod.f_forward(x, y)
    b[...] = 100.0
    np.testing.assert_array_equal(y, [2.0, 5.0])
    grad_x, grad_y = mod.f_backward(np.ones((2, 3)), np.zeros((2, 3)), cache)
    np.testing.assert_array_equal(grad_x, [7.0, 7.0, 7.0])  # y summed
    np.testing.assert_array_equal(grad_y, [6.0, 6.0])  # x summed
