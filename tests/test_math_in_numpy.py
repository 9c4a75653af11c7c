"""`math` calls in a NumPy module keep Python's semantics (`ir.Assign.scalar`):
the value is the float math returns (float64 for a float32 operand), the step
raises where math raises, and a math result is returned as the float it is.
The references are the user's own forward, run as written, and central
differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build

SRC = """import math
import numpy as np


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def f(x, a):
    s = math.exp(a) + math.log(x[0] ** 2)
    out = x * s + math.sqrt(a * a)
    return np.sum(out)


def g(x, w):
    s = np.sum(x * w)
    return sigmoid(s)
"""


def test_float32_values_are_the_forwards_exactly():
    forward, generated, code = build(SRC, "f", ["x", "a"])
    assert "math.exp(a)" in code and "math.log(" in code
    x = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    a = np.float32(0.7)
    want = forward.f(x, a)
    got, (gx, ga) = generated.f_value_and_grad(x, a)
    assert got == want and got.dtype == want.dtype  # not 1 ulp apart
    h = 1e-3  # central differences in float64 of the same forward
    x64, a64 = x.astype(np.float64), float(a)
    num_a = (forward.f(x64, a64 + h) - forward.f(x64, a64 - h)) / (2 * h)
    assert ga == pytest.approx(num_a, rel=1e-5)
    e0 = np.eye(3)[0] * h
    num_x0 = (forward.f(x64 + e0, a64) - forward.f(x64 - e0, a64)) / (2 * h)
    assert gx[0] == pytest.approx(num_x0, rel=1e-4)


@pytest.mark.parametrize(
    "func, args, error",
    [
        ("f", (np.array([0.0, 1.0, 2.0]), 1.0), ValueError),  # math.log(0)
        ("g", (np.array([300.0, 500.0]), np.array([-1.0, -1.0])), OverflowError),
    ],
)
def test_a_math_step_raises_where_the_forward_raises(func, args, error):
    forward, generated, _ = build(SRC, func, ["x", "a"] if func == "f" else ["x", "w"])
    with pytest.raises(error):
        getattr(forward, func)(*args)
    with pytest.raises(error):  # not nan or 0.0 with a RuntimeWarning
        getattr(generated, f"{func}_forward")(*args)
    with pytest.raises(error):
        getattr(generated, f"{func}_value_and_grad")(*args)


def test_a_math_result_is_returned_as_a_float():
    forward, generated, _ = build(SRC, "g", ["x", "w"])
    x, w = np.array([0.3, -0.2]), np.array([1.5, 0.5])
    out, cache = generated.g_forward(x, w)
    assert type(out) is float and out == forward.g(x, w)  # not a 0-d array copy
    gx, gw = generated.g_backward(1.0, cache)
    s = 1 / (1 + math.exp(-float(x @ w)))
    np.testing.assert_allclose(gx, (1 - s) * s * w, rtol=1e-12)
    np.testing.assert_allclose(gw, (1 - s) * s * x, rtol=1e-12)


@pytest.mark.parametrize("x", [10, np.int64(10), np.float32(0.3), True, -3])
def test_builtin_abs_and_math_fabs_give_the_forwards_types(x):
    # builtin abs of a Python int is an int (np.abs: np.int64, which wraps
    # around at ** 30 and refuses ** -1); math.fabs is a float of anything
    source = (
        "import math\nimport numpy as np\n\n\ndef f(x, y):\n"
        "    return math.fabs(x) * y, abs(x) ** 30 + y, abs(x) ** -1 * y\n"
    )
    forward, generated, code = build(source, "f", ["y"])
    try:
        want = forward.f(x, 1.5)
    except ValueError:  # np.int64 ** -1, in the forward as in the module
        with pytest.raises(ValueError, match="negative integer powers"):
            generated.f_forward(x, 1.5)
        return
    got, _ = generated.f_forward(x, 1.5)
    assert [type(v) for v in got] == [type(v) for v in want], code
    assert got == want, code
    _, grad = generated.f_value_and_grad(x, 1.5)
    assert grad == pytest.approx(math.fabs(x) + 1 + 1 / abs(x)), code
