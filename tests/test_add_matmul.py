"""codegen.core.add_matmul: ``grad += a @ b`` into a 2-D gradient the
backward allocated, done a block of rows at a time (``_add_matmul``).

Programs whose weight gradient is an L2 term plus a product are checked
against HIPS autograd and central differences, in float64 and float32; the
text shows where the pass fires and where it must not; the runtime helper
is checked against ``out += a @ b`` on several blocks and on the shapes
where it must fall back; a value-and-grad holding it is differentiated
again.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from references import autograd_grads as _autograd
from references import central as _central
from references import hessian_vector_products

from codegen.checks.verify import module_from_source
from codegen.core.rules import runtime_helpers
from codegen.pipeline import generate

HEAD = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

"""

MLP = """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"], v: Float[np.ndarray, "H C"], reg: float):
    h = np.tanh(x @ w)
    s = h @ v
    return np.sum(s * s) + reg * np.sum(w * w) + reg * np.sum(v * v)
"""
SHAPES = {"x": (6, 5), "w": (5, 4), "v": (4, 3)}
WRT = ["x", "w", "v"]


def _point(dtype=np.float64, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    point: dict = {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
    point["reg"] = 0.3
    return point


def _module(source: str, name: str):
    code = generate(source, "<test>", "f", WRT)
    return code, module_from_source(code, name)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weight_gradients_by_rows_match_autograd_and_central_differences(dtype):
    source = HEAD + textwrap.dedent(MLP)
    code, mod = _module(source, f"add_matmul_{np.dtype(dtype).name}")
    assert "_add_matmul(grad_w, x.T, " in code and "_add_matmul(grad_v, h.T, " in code
    point = _point(dtype)
    _, grads = mod.f_value_and_grad(**point)
    _, cache = mod.f_forward(**point)
    pair = mod.f_backward(np.ones((), dtype), cache)
    forward = module_from_source(source, f"add_matmul_fwd_{np.dtype(dtype).name}")
    wide = {k: np.asarray(v, np.float64) if k != "reg" else v for k, v in point.items()}
    refs = _autograd(source, wide, WRT)
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    for p, g, g2, ref in zip(WRT, grads, pair, refs, strict=True):
        assert g.dtype == dtype and g.shape == point[p].shape
        np.testing.assert_allclose(g, ref, rtol=rtol, atol=rtol, err_msg=p)
        np.testing.assert_allclose(g2, ref, rtol=rtol, atol=rtol, err_msg=p)
        if dtype == np.float64:
            num = _central(forward.f, wide, p)
            np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-7, err_msg=p)


def test_no_parameter_or_upstream_gradient_is_written():
    source = HEAD + textwrap.dedent(MLP)
    _, mod = _module(source, "add_matmul_untouched")
    point = _point()
    before = {k: np.copy(v) for k, v in point.items()}
    _, cache = mod.f_forward(**point)
    seed = np.ones(())
    first = mod.f_backward(seed, cache)
    second = mod.f_backward(seed, cache)  # the cache is read, never written
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)
    for k, v in before.items():
        assert np.array_equal(point[k], v), k


def test_only_accumulations_into_matrices_the_backward_made_are_blocked():
    # no L2 term: the product is the gradient's first value, not an
    # accumulation; a vector weight: its gradient is not 2-D
    cases = [
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"]):
    return np.sum(np.tanh(x @ w))
""",
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D"], reg: float):
    return np.sum(np.tanh(x @ w)) + reg * np.sum(w * w)
""",
    ]
    for body in cases:
        code = generate(HEAD + textwrap.dedent(body), "<test>", "f", ["x", "w"])
        assert "_add_matmul" not in code


def _helper():
    ns = {"np": np}
    exec(runtime_helpers()["_add_matmul"], ns)  # noqa: S102
    return ns["_add_matmul"]


@pytest.mark.parametrize(
    ("out_shape", "a_shape", "b_shape", "dtype", "order"),
    [
        ((1200, 1000), (1200, 7), (7, 1000), np.float64, "C"),  # 131 rows a block: 10
        ((1200, 1000), (1200, 7), (7, 1000), np.float64, "F"),  # wide: blocks too
        ((300, 1000), (300, 7), (7, 1000), np.float64, "F"),  # under 4 MiB: one product
        (
            (1200, 1000),
            (1200, 7),
            (7, 1000),
            np.float32,
            "C",
        ),  # a float64 product, cast
        (
            (3073, 10),
            (3073, 500),
            (500, 10),
            np.float64,
            "F",
        ),  # X.T, narrow: (b.T @ X).T
        ((3073, 10), (3073, 500), (500, 10), np.float32, "F"),  # likewise, cast
        ((200000, 3), (200000, 5), (5, 3), np.float64, "C"),  # narrow, not X.T: blocks
        ((3073, 64), (3073, 100), (100, 64), np.float64, "F"),  # inner size too small
        ((2, 3), (5,), (2, 5, 3), np.float64, "C"),  # a vector times a stack: fallback
        ((4, 3), (4, 5), (5, 1), np.float64, "C"),  # broadcast into out: fallback
    ],
)
def test_the_helper_adds_what_out_plus_a_at_b_adds(
    out_shape, a_shape, b_shape, dtype, order
):
    rng = np.random.default_rng(1)
    out = rng.standard_normal(out_shape).astype(dtype)
    a = np.asarray(rng.standard_normal(a_shape), order=order)  # F: a transposed array
    b = rng.standard_normal(b_shape)
    expected = np.copy(out)
    expected += a @ b
    _helper()(out, a, b)
    assert out.dtype == dtype
    tol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


def test_a_value_and_grad_with_add_matmul_is_differentiated_again():
    source = HEAD + textwrap.dedent(MLP)
    first = generate(source, "<test>", "f", WRT)
    assert "_add_matmul(" in first
    point = _point(seed=3)
    for p, g, expected in hessian_vector_products(
        source, first, WRT, point, "add_matmul"
    ):
        assert np.allclose(g, expected, rtol=1e-4, atol=1e-6), p
