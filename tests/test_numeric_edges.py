"""Gradients at the ends of the float range: each adjoint is written so no
intermediate overflows or underflows where the gradient itself is a normal
float (codegen/core/prims). The references are exact: the closed-form
derivative in 60-digit decimal arithmetic, rounded once to a float."""

from __future__ import annotations

import warnings
from decimal import Decimal, getcontext

import numpy as np
import pytest
from conftest import build

getcontext().prec = 60
D = Decimal
NP = "import numpy as np\nimport math\n\n\n"


def _hypot2(x: D, y: D) -> D:
    return x * x + y * y


CASES = [
    # (forward body, point, exact gradients as Decimal functions of the point)
    (
        "x / y",
        {"x": 1e300, "y": 1e155},
        {"x": lambda x, y: 1 / y, "y": lambda x, y: -x / (y * y)},
    ),
    (
        "x / y",
        {"x": 1e-162, "y": 3e-162},
        {"x": lambda x, y: 1 / y, "y": lambda x, y: -x / (y * y)},
    ),
    ("np.divide(x, y)", {"x": 1e300, "y": 1e155}, {"y": lambda x, y: -x / (y * y)}),
    ("1 / x", {"x": 1e155}, {"x": lambda x: -1 / (x * x)}),
    (
        "np.arctan2(y, x)",
        {"x": 1e-170, "y": 2e-170},
        {"x": lambda x, y: -y / _hypot2(x, y), "y": lambda x, y: x / _hypot2(x, y)},
    ),
    (
        "math.atan2(y, x)",
        {"x": 3e160, "y": -1e160},
        {"x": lambda x, y: -y / _hypot2(x, y), "y": lambda x, y: x / _hypot2(x, y)},
    ),
    ("np.arcsinh(x)", {"x": 1e155}, {"x": lambda x: 1 / (x * x + 1).sqrt()}),
    ("math.asinh(x)", {"x": -3e200}, {"x": lambda x: 1 / (x * x + 1).sqrt()}),
    ("np.arctan(x)", {"x": 1e155}, {"x": lambda x: 1 / (x * x + 1)}),
    ("np.arctanh(x)", {"x": 1 - 2.0**-40}, {"x": lambda x: 1 / (1 - x * x)}),
    ("math.asin(x)", {"x": -(1 - 2.0**-40)}, {"x": lambda x: 1 / (1 - x * x).sqrt()}),
    ("np.arccos(x)", {"x": 1 - 2.0**-40}, {"x": lambda x: -1 / (1 - x * x).sqrt()}),
]


@pytest.mark.parametrize("kind", ["float", "array"])
@pytest.mark.parametrize("body, point, exact", CASES, ids=[c[0] for c in CASES])
def test_gradients_at_the_ends_of_the_range(body, point, exact, kind):
    params = ", ".join(point)
    src = NP + f"def f({params}):\n    return {body}\n"
    wrt = list(exact)
    _, generated, _ = build(src, "f", wrt)
    # math takes 0-d arrays only (NumPy 2.4 raises for shape (1,)), as the forward does
    shape = () if body.startswith("math.") else (1,)
    args = (
        point if kind == "float" else {k: np.full(shape, v) for k, v in point.items()}
    )
    out, grads = generated.f_value_and_grad(**args)
    grads = grads if len(wrt) > 1 else (grads,)
    for name, g in zip(wrt, grads, strict=True):
        want = float(exact[name](*(D(v) for v in point.values())))
        assert np.ravel(g)[0] == pytest.approx(want, rel=1e-14), name


@pytest.mark.parametrize("x", [1e200, np.array([1e200, 2.0])])
def test_a_numpy_power_that_overflows_has_an_infinite_gradient(x):
    """np.power(x, 3) on a Python float is inf past 1e103 (NumPy warns); its
    gradient 3 x**2 is inf too, where ``x ** 2`` on a float raised
    OverflowError."""
    src = NP + "def f(x):\n    return np.power(x, 3)\n"
    forward, generated, _ = build(src, "f", ["x"])
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out, grad = generated.f_value_and_grad(x)
        np.testing.assert_array_equal(out, forward.f(x))
        want = 3 * np.square(np.asarray(x, dtype=float))
    np.testing.assert_array_equal(grad, want)


@pytest.mark.parametrize(
    "exponent", ["(1 - 1)", "-0", "0.", "0x0", "-0.0", "(2 * 0)", "P0", "(N - 1)"]
)
@pytest.mark.parametrize("kind", ["math", "numpy"])
def test_a_constant_exponent_that_is_zero_has_no_gradient_at_zero(exponent, kind):
    # x ** 0 = 1 everywhere: d/dx (x ** e * y + x) is 1 at x = 0, not 0 * inf
    body = f"x ** {exponent} * y + x"
    if kind == "numpy":
        body = f"np.sum({body})"
    src = NP + f"N = 1\nP0 = 0\n\n\ndef f(x, y):\n    return {body}\n"
    _, generated, code = build(src, "f", ["x", "y"])
    x = 0.0 if kind == "math" else np.array([0.0, 1.5])
    _, (gx, gy) = generated.f_value_and_grad(x, -1.3)
    assert np.array_equal(gx, np.ones_like(x)), code
    assert gy == pytest.approx(1.0 if kind == "math" else 2.0), code
