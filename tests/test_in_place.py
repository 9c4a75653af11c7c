"""codegen.core.in_place: elementwise results written over dead temporaries
(`write_over`), and a clamp's mask read off its output (`mask_from_output`).

Each program's generated gradient is checked against HIPS autograd (the same
source run with autograd.numpy) and against central differences, in float64
and float32 and with mixed dtypes (where `_reuse` must decline); the text
shows where the passes fire and where they must not; no parameter, upstream
gradient or returned value is ever written; the runtime helper's decisions
are checked one by one; and a generated value-and-grad with ``out=_reuse``
lines is differentiated again.
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
from codegen.errors import CodegenError
from codegen.pipeline import generate

HEAD = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

"""

#: name -> (forward after HEAD, parameter shapes, wrt, lines the output must hold)
PROGRAMS = {
    "affine, relu, affine": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"], b: Float[np.ndarray, "H"], v: Float[np.ndarray, "H C"]):
    h = np.maximum(0, x @ w + b)
    s = h @ v
    return np.sum(np.tanh(s))
""",
        {"x": (5, 4), "w": (4, 6), "b": (6,), "v": (6, 3)},
        ["x", "w", "b", "v"],
        [
            "h_add = np.add(h_matmul, b, out=_reuse(h_matmul, b))",
            "h = np.maximum(0, h_add, out=_reuse(h_add, 0))",
            "np.multiply(grad_h, 0 < h, out=_reuse(grad_h, h))",
        ],
    ),
    "a chain of elementwise steps, rank 3": (
        """
def f(x: Float[np.ndarray, "N T D"], w: Float[np.ndarray, "D M"], b: Float[np.ndarray, "M"]):
    y = np.exp(-(x @ w + b) * 0.5)
    return np.sum(np.sin(y))
""",
        {"x": (2, 3, 4), "w": (4, 5), "b": (5,)},
        ["x", "w", "b"],
        ["out=_reuse(y_matmul, b)"],
    ),
    "read before by a step that made a new array": (
        """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    c = x * 2.0
    e = np.exp(c)
    y = c + b
    return np.sum(np.sin(y) * e)
""",
        {"x": (4, 3), "b": (3,)},
        ["x", "b"],
        ["y = np.add(c, b, out=_reuse(c, b))"],
    ),
    "minimum with a number on the left": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"]):
    h = np.minimum(1.0, x @ w)
    return np.sum(h * h)
""",
        {"x": (4, 3), "w": (3, 5)},
        ["x", "w"],
        ["1.0 > h"],
    ),
}

#: name -> (forward, shapes, wrt, text that must not appear)
NOT_FIRED = {
    "the temporary is read twice": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"], b: Float[np.ndarray, "H"]):
    m = x @ w
    h = m + b
    return np.sum(np.tanh(h)) + np.sum(m)
""",
        {"x": (4, 3), "w": (3, 5), "b": (5,)},
        ["x", "w", "b"],
        "out=_reuse(m",
    ),
    "the temporary is cached for the backward": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"]):
    m = x @ w
    return np.sum(np.sin(m) + 1.0)
""",
        {"x": (4, 3), "w": (3, 5)},
        ["x", "w"],
        "out=_reuse(m",
    ),
    "a parameter is never written": (
        """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    return np.sum(np.tanh(x + b))
""",
        {"x": (4, 3), "b": (3,)},
        ["x", "b"],
        "out=_reuse(x",
    ),
    "a view of a parameter is never written": (
        """
def f(x: Float[np.ndarray, "N D"]):
    y = x[:, 1:] + 2.0
    return np.sum(np.tanh(y) * x[:, :2])
""",
        {"x": (4, 3)},
        ["x"],
        "out=_reuse",
    ),
    "a view of the temporary is read after": (
        """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    c = x * 2.0
    r = c[0]
    y = c + b
    return np.sum(np.sin(y) * r)
""",
        {"x": (4, 3), "b": (3,)},
        ["x", "b"],
        "out=_reuse(c",
    ),
    "ranks unknown": (
        """
def f(x, w, b):
    return np.sum(np.tanh(x @ w + b))
""",
        {"x": (4, 3), "w": (3, 5), "b": (5,)},
        ["x", "w", "b"],
        "out=_reuse",
    ),
    "the clamp's output is not read by the backward: its mask is cached": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D H"]):
    h = np.maximum(0, x @ w)
    return np.sum(h)
""",
        {"x": (4, 3), "w": (3, 5)},
        ["x", "w"],
        "0 < h)",
    ),
}


def _point(shapes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}


def _build(body, wrt, tag):
    source = HEAD + textwrap.dedent(body)
    code = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, f"inplace_fwd_{tag}")
    mod = module_from_source(code, f"inplace_grad_{tag}")
    return source, forward, mod, code


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_written_over_gradients_match_autograd_and_central_differences(name):
    body, shapes, wrt, lines = PROGRAMS[name]
    source, forward, mod, code = _build(body, wrt, "a")
    for line in lines:
        assert line in code, line
    point = _point(shapes)
    frozen = {k: v.copy() for k, v in point.items()}
    value, grads = mod.f_value_and_grad(**point)
    out, cache = mod.f_forward(**point)
    pair = mod.f_backward(1.0, cache)
    for k in point:  # no parameter is written
        np.testing.assert_array_equal(point[k], frozen[k])
    assert np.isclose(value, forward.f(**point)) and np.isclose(out, value)
    reference = _autograd(source, point, wrt)
    for p, g, g2, r in zip(wrt, grads, pair, reference, strict=True):
        assert np.allclose(g, r, rtol=1e-10, atol=1e-12), p
        assert np.allclose(g2, r, rtol=1e-10, atol=1e-12), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize(
    "dtypes", [("float32",) * 2, ("float32", "float64"), ("float64", "float32")]
)
def test_dtypes_are_those_of_the_forward(name, dtypes):
    # float32 inputs: the reused buffers are float32; mixed: _reuse declines
    # where the result is promoted, and every gradient keeps NumPy's type
    body, shapes, wrt, _ = PROGRAMS[name]
    source, forward, mod, _ = _build(body, wrt, "b")
    first, rest = dtypes
    point = {
        k: v.astype(first if i == 0 else rest)
        for i, (k, v) in enumerate(_point(shapes, 1).items())
    }
    value, grads = mod.f_value_and_grad(**point)
    expected = forward.f(**point)
    assert np.asarray(value).dtype == np.asarray(expected).dtype
    assert np.isclose(value, expected, rtol=1e-5)
    wide = {k: v.astype(np.float64) for k, v in point.items()}
    reference = _autograd(source, wide, wrt)
    for p, g, r in zip(wrt, grads, reference, strict=True):
        assert g.dtype == point[p].dtype or g.dtype == np.float64, p
        assert np.allclose(g, r, rtol=2e-3, atol=1e-4), p


@pytest.mark.parametrize("name", list(NOT_FIRED))
def test_the_passes_do_not_fire_where_they_cannot_prove_it(name):
    body, shapes, wrt, absent = NOT_FIRED[name]
    source, forward, mod, code = _build(body, wrt, "c")
    assert absent not in code
    point = _point(shapes, 2)
    frozen = {k: v.copy() for k, v in point.items()}
    _, grads = mod.f_value_and_grad(**point)
    for k in point:
        np.testing.assert_array_equal(point[k], frozen[k])
    grads = grads if isinstance(grads, tuple) else (grads,)
    for p, g, r in zip(wrt, grads, _autograd(source, point, wrt), strict=True):
        assert np.allclose(g, r, rtol=1e-10, atol=1e-12), p


def test_the_upstream_gradient_is_never_written():
    body, shapes, wrt, _ = PROGRAMS["affine, relu, affine"]
    body = body.replace("return np.sum(np.tanh(s))", "return np.tanh(s)")
    _, _, mod, _ = _build(body, wrt, "d")
    point = _point(shapes, 3)
    out, cache = mod.f_forward(**point)
    g = np.random.default_rng(4).standard_normal(out.shape)
    kept = g.copy()
    first = mod.f_backward(g, cache)
    np.testing.assert_array_equal(g, kept)
    again = mod.f_backward(g, cache)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_relu_tie_gives_the_declared_gradient():
    # np.maximum(0, a): where a is exactly 0 the gradient to a is 0 (ties go
    # to the first input); comparing h = max(0, a) gives the same mask
    body, shapes, wrt, _ = PROGRAMS["affine, relu, affine"]
    source, forward, mod, _ = _build(body, wrt, "e")
    point = _point(shapes, 5)
    point["b"] = -(point["x"] @ point["w"])[0]  # row 0 of x @ w + b is 0
    point["b"][1] += 0.5
    _, (gx, gw, gb, gv) = mod.f_value_and_grad(**point)
    pre = point["x"] @ point["w"] + point["b"]
    h = np.maximum(0, pre)
    gs = (1 - np.tanh(h @ point["v"]) ** 2) @ point["v"].T
    g_pre = gs * (0 < pre)
    assert np.allclose(gb, g_pre.sum(axis=0), rtol=1e-12, atol=1e-14)
    assert np.allclose(gw, point["x"].T @ g_pre, rtol=1e-12, atol=1e-14)


def _reuse():
    ns = {"np": np}
    exec(runtime_helpers()["_reuse"], ns)  # noqa: S102
    return ns["_reuse"]


@pytest.mark.parametrize(
    ("a", "operands", "fits"),
    [
        (np.ones((3, 4)), (np.ones(4),), True),
        (np.ones((3, 4), np.float32), (2.0,), True),
        (np.ones((3, 4), np.float32), (np.ones(4),), False),  # promoted to float64
        (np.ones((3, 1)), (np.ones((3, 4)),), False),  # the result is larger
        (np.ones((3, 4), int), (1,), False),  # not a float array
        (np.broadcast_to(np.ones(4), (3, 4)), (1.0,), False),  # read-only view
        (np.float64(2.0), (1.0,), False),  # a NumPy scalar
        (np.ones((3, 4)), (np.ones((3, 4), bool),), True),
        (np.ones((3, 4), np.float16), (np.ones(4, np.int8),), True),  # NumPy: float16
        (np.ones((3, 4), np.float16), (np.ones(4, np.int16),), False),
    ],
)
def test_reuse_gives_the_buffer_only_when_the_result_fits(a, operands, fits):
    assert (_reuse()(a, *operands) is a) is fits


def test_an_array_written_over_is_gone_for_the_parser():
    src = (
        "import numpy as np\n\n\ndef f(x, w, b):\n    m = x @ w\n"
        "    h = np.add(m, b, out=_reuse(m, b))\n    return np.sum(h * m)\n"
    )
    with pytest.raises(CodegenError, match="'m' is not defined"):
        generate(src, "<test>", "f")


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_second_order_through_written_over_lines(name):
    body, shapes, wrt, _ = PROGRAMS[name]
    source = HEAD + textwrap.dedent(body)
    first = generate(source, "<test>", "f", wrt)
    assert "out=_reuse(" in first
    point = _point(shapes, seed=3)
    for p, g, expected in hessian_vector_products(source, first, wrt, point, "inplace"):
        assert np.allclose(g, expected, rtol=1e-4, atol=1e-6), p


def test_check_finite_modules_keep_every_gradient_its_own_array():
    # --check-finite checks each block's gradients after it: none may have
    # been written over by a later line of the block
    body, _, wrt, _ = PROGRAMS["affine, relu, affine"]
    code = generate(HEAD + textwrap.dedent(body), "<test>", "f", wrt, check_finite=True)
    assert "_check_finite(" in code and "_reuse" not in code
