"""`codegen.core.sum_lean.sum_unbroadcast` (issue 17): `_unbroadcast` of a
gradient written as the sum it is where both shapes are proven.

Each case is checked against HIPS autograd and central differences, with
sizes that make the symbolic dimensions differ and, where a dimension may be
1 at run time, with that size too; the text is checked for the sum where it
is proven and for `_unbroadcast` where it is not (two different dimension
names, an unknown shape, a value with more axes than the gradient)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd

from codegen.checks.verify import check_gradients

autograd = pytest.importorskip("autograd")

HEADER = (
    "from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\n"
    "import numpy as np\n\nif TYPE_CHECKING:\n    from jaxtyping import Float\n"
)


def _source(params: dict[str, str], body: str) -> str:
    sig = ", ".join(
        f"{p}: Float[np.ndarray, {d!r}]" if d is not None else p
        for p, d in params.items()
    )
    return f"{HEADER}\n\ndef f({sig}):\n    {body}\n    return np.sum(out * out)\n"


def _backward(code: str) -> str:
    return code.split("def f_backward")[1].split("def f_value_and_grad")[0]


def _both(source: str, point: dict) -> None:
    wrt = list(point)
    _agrees_with_autograd(source, wrt, point, "case")
    forward, mod, _ = build(source, "f", wrt)
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), wrt, point, wrt
    )
    assert report.ok, report.summary()
    for name, g in zip(wrt, _grads(mod, point), strict=True):
        assert np.shape(g) == np.shape(point[name]), name


def _grads(mod, point):
    _, grads = mod.f_value_and_grad(*point.values())
    return grads if isinstance(grads, tuple) else (grads,)


CASES = [
    # (params with dims, body, shapes, the sum expected in the backward)
    (
        {"x": "N D", "b": "D"},
        "out = np.sin(x + b)",
        {"x": (3, 4), "b": (4,)},
        "np.sum(grad_out_add, axis=0)",
    ),
    (
        {"x": "N D", "c": "N 1"},
        "out = np.sin(x - c)",
        {"x": (3, 4), "c": (3, 1)},
        "np.sum(grad_out_sub, axis=1, keepdims=True)",
    ),
    (
        {"x": "B N D", "c": "N 1"},
        "out = np.tanh(x * 2.0 + c)",
        {"x": (2, 3, 4), "c": (3, 1)},
        "np.sum(np.sum(grad_out_add, axis=0), axis=1, keepdims=True)",
    ),
]


@pytest.mark.parametrize("params,body,shapes,summed", CASES)
def test_proven_shapes_are_summed_directly(params, body, shapes, summed):
    src = _source(params, body)
    _, _, code = build(src, "f", list(shapes))
    back = _backward(code)
    assert summed in back, back
    assert "_unbroadcast(" not in back
    rng = np.random.default_rng(sum(map(len, shapes.values())))
    _both(src, {p: rng.standard_normal(s) for p, s in shapes.items()})


def test_a_dimension_one_at_run_time_sums_the_same():
    # "N D" with D = 1 at run time and c "N 1": the keepdims sum over a
    # size-1 axis changes nothing, as _unbroadcast skips it
    src = _source({"x": "N D", "c": "N 1"}, "out = np.sin(x - c)")
    rng = np.random.default_rng(7)
    _both(src, {"x": rng.standard_normal((3, 1)), "c": rng.standard_normal((3, 1))})


def test_float32_keeps_its_dtype():
    src = _source({"x": "N D", "b": "D"}, "out = np.sin(x + b)")
    _, mod, _ = build(src, "f", ["x", "b"])
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    _, (gx, gb) = mod.f_value_and_grad(x, b)
    assert gx.dtype == np.float32 and gb.dtype == np.float32


@pytest.mark.parametrize(
    "params,shapes",
    [
        # two different names: K may or may not equal D at run time
        ({"x": "N D", "b": "K"}, {"x": (3, 4), "b": (1,)}),
        # b unannotated: its shape is not proven
        ({"x": "N D", "b": None}, {"x": (3, 4), "b": (4,)}),
    ],
)
def test_unproven_shapes_keep_unbroadcast(params, shapes):
    src = _source(params, "out = np.sin(x + b)")
    _, _, code = build(src, "f", list(shapes))
    assert "_unbroadcast(grad_out_add, np.shape(b))" in _backward(code)
    rng = np.random.default_rng(9)
    _both(src, {p: rng.standard_normal(s) for p, s in shapes.items()})
