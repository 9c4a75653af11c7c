"""Reductions over axis 0 of a number or a 0-d array, which NumPy accepts
(the result is the number itself): the gradient is shaped as the input (a
number for a number), never (1,) and never an error. Leading axes need no
`np.expand_dims` in the adjoint (broadcasting restores them on the left), so
the same rule serves every rank. Checked against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

CALLS = [
    "np.sum(x, axis=0)",
    "np.sum(x, axis=(0,))",
    "np.mean(x, axis=0)",
    "np.max(x, axis=0)",
    "np.min(x, axis=0) * x",
    "np.var(x, axis=0) + x",
    "np.std(x, axis=0) + x",
    "np.prod(x, axis=0)",
    "np.ptp(x, axis=0) + x",
    "np.median(x, axis=0)",
    "np.nanmean(x, axis=0)",
    "np.nanmax(x, axis=0)",
    "np.cumsum(x, axis=0)",
    "np.cumsum(x, axis=-1)",
    "np.cumprod(x, axis=0)",
    "x.sum(0)",
    "x.max(axis=0)",
]


def _accepted(call: str, x: object) -> bool:
    """Whether NumPy runs `call` at x (a 0-d array takes axis 0 in some
    reductions only; a Python float has no methods)."""
    try:
        eval(call, {"np": np, "x": x})  # noqa: S307 (the test's own literals)
    except (TypeError, ValueError, AttributeError):  # AxisError is a ValueError
        return False
    return True


POINTS = [0.7, np.array(-1.3), np.arange(1.0, 4.0)]


@pytest.mark.parametrize(
    ("call", "x"), [(c, x) for c in CALLS for x in POINTS if _accepted(c, x)]
)
def test_a_reduction_over_axis_0_of_any_rank(call, x):
    source = f"import numpy as np\n\n\ndef f(x):\n    return {call} * 1.5\n"
    forward, generated, code = build(source, "f", ["x"])
    value, grad = generated.f_value_and_grad(x)
    want = forward.f(x)
    assert np.shape(value) == np.shape(want) and np.allclose(value, want), code
    assert np.shape(grad) == np.shape(x), code

    def loss(x):
        return np.sum(forward.f(x))

    assert np.allclose(grad, central(loss, {"x": x}, "x"), atol=1e-6), code


def test_leading_axes_broadcast_back_without_expand_dims():
    source = "import numpy as np\n\n\ndef f(x):\n    return np.sum(x, axis=(0, 1))\n"
    forward, generated, code = build(source, "f", ["x"])
    assert "expand_dims" not in code
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    value, grad = generated.f_value_and_grad(x)
    assert np.allclose(value, forward.f(x))
    assert np.allclose(grad, central(lambda x: np.sum(forward.f(x)), {"x": x}, "x"))
