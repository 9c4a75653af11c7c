"""`codegen.core.setitem_lean.fold_masked_setitem` (issue 17): the SVM's
broadcast upstream gradient, zeroed at the correct classes and masked by the
hinge, written as one product ``_setitem(mask * g, 0.0, idx)``.

Checked against HIPS autograd and central differences, with the text showing
the fold where it is proven and not where it is not (a mask that is not a
comparison, a sum with an axis, a nonzero value written)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build

from codegen.checks.verify import check_gradients

autograd = pytest.importorskip("autograd")

HEADER = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int

"""

HINGE = HEADER + """
def f(s: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = s.shape[0]
    m = np.maximum(0, s - 0.5)
    m[np.arange(N), y] = 0
    return np.sum(m) / N
"""

# a nonzero value written: the position still gets no gradient (the zero
# the fold relies on is the gradient's), so it folds the same
WRITTEN = HINGE.replace("m[np.arange(N), y] = 0", "m[np.arange(N), y] = 2.0")

# summed along an axis: the upstream gradient is not a number
AXIS = HINGE.replace("return np.sum(m) / N", "return np.sum(m, axis=0)")

# a product with a value, not a boolean mask: 0 * inf would be nan
VALUE = HEADER + """
def f(s: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = s.shape[0]
    m = np.exp(s)
    m[np.arange(N), y] = 0
    return np.sum(m) / N
"""


def _backward(code: str) -> str:
    return code.split("def f_backward")[1].split("def f_value_and_grad")[0]


#: autograd has no item assignment: the same losses written functionally.
def _reference(source: str):
    anp = pytest.importorskip("autograd.numpy")

    def keep(y, shape):
        k = np.ones(shape)
        k[np.arange(shape[0]), y] = 0
        return k

    def hinge(s, y):
        return anp.sum(anp.maximum(0, s - 0.5) * keep(y, s.shape)) / s.shape[0]

    def written(s, y):
        m = anp.maximum(0, s - 0.5) * keep(y, s.shape) + 2.0 * (1 - keep(y, s.shape))
        return anp.sum(m) / s.shape[0]

    def axis(s, y):
        return anp.sum(anp.maximum(0, s - 0.5) * keep(y, s.shape), axis=0)

    def value(s, y):
        return anp.sum(anp.exp(s) * keep(y, s.shape)) / s.shape[0]

    return {HINGE: hinge, WRITTEN: written, AXIS: axis, VALUE: value}[source]


def _both(source: str, point: dict) -> None:
    forward, mod, _ = build(source, "f", ["s"])
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), list(point), point, ["s"]
    )
    assert report.ok, report.summary()
    out, cache = mod.f_forward(*point.values())
    up = np.random.default_rng(3).standard_normal(np.shape(out))
    got = mod.f_backward(up, cache)
    ref = _reference(source)
    expected = autograd.grad(lambda s: (ref(s, point["y"]) * up).sum())(point["s"])
    assert np.allclose(got, expected, rtol=1e-7, atol=1e-9)


def _point(seed: int, n: int = 6, c: int = 4) -> dict:
    rng = np.random.default_rng(seed)
    return {"s": rng.standard_normal((n, c)), "y": rng.integers(0, c, n)}


def test_the_hinge_is_one_product():
    _, mod, code = build(HINGE, "f", ["s"])
    back = _backward(code)
    assert "_setitem(m_sub_mask * grad_out_sum, 0.0, np.s_[np.arange(N), y])" in back
    assert "np.broadcast_to" not in back
    _both(HINGE, _point(0))
    _, _, written = build(WRITTEN, "f", ["s"])
    assert "_setitem(m_sub_mask * grad_out_sum, 0.0" in _backward(written)
    _both(WRITTEN, _point(4))
    # float32 stays float32
    p = _point(1)
    _, g32 = mod.f_value_and_grad(p["s"].astype(np.float32), p["y"])
    assert g32.dtype == np.float32


@pytest.mark.parametrize("source", [AXIS, VALUE])
def test_unproven_cases_keep_the_broadcast(source):
    _, _, code = build(source, "f", ["s"])
    back = _backward(code)
    assert "np.broadcast_to" in back
    assert "_mask * grad_out" not in back
    _both(source, _point(2))
