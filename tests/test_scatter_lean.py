"""`codegen.core.gather_lean.scatter_in_place` (issue 17): a basic slice's
gradient added into its place, ``grad_a[:, s] += c``, instead of zeros the
size of a added whole.

Each case is checked against HIPS autograd and against central differences;
the generated text is checked for the rewrite where it is proven and for its
absence where it is not (integer-array indexing, a gradient whose array is
shared, a shape that is not the value's)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd

from codegen.checks.verify import check_gradients, module_from_source
from codegen.core import expr as E
from codegen.core.passes import accumulate_in_place, cache_shapes
from codegen.core.reverse import reverse
from codegen.core.gather_lean import scatter_in_place
from codegen.front.parse import parse

ROOT = Path(__file__).resolve().parent.parent

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

GATES = """
import numpy as np


def f(x, w):
    a = x @ w
    H = a.shape[1] // 4
    i = np.tanh(a[:, :H])
    j = np.exp(a[:, H : 2 * H])
    k = a[:, 2 * H : 3 * H] ** 2
    m = np.sin(a[:, 3 * H :])
    return i * j + k * m
"""

# overlapping slices, a step, an integer index and None: every one basic
MIXED = """
import numpy as np


def f(x):
    a = np.sin(x)
    b = a[:, :3] * a[:, 1:4]
    c = a[::2, 2:] * 3.0
    d = a[1, None]
    return np.sum(b) + np.sum(c * c) + np.sum(d * a[-1])
"""

# integer-array indexing (a gather): repeated rows add up, no rewrite
GATHER = """
import numpy as np


def f(x, idx):
    a = np.sin(x)
    return np.sum(a[idx] ** 2) + np.sum(a[:, 1:] * 2.0)
"""

# grad_a's first value is the upstream gradient itself (a + ...): shared,
# so the later slice is added out of place
SHARED = """
import numpy as np


def f(x):
    a = np.sin(x)
    return a + np.sum(a[:, :2])
"""


def _central(source: str, wrt: list[str], point: dict) -> None:
    forward, mod, _ = build(source, "f", wrt)
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), list(point), point, wrt
    )
    assert report.ok, report.summary()


def _body(code: str) -> str:
    """The backward's text (without the helpers' definitions)."""
    return code[code.index("def f_backward") :]


def test_gates_are_added_into_their_slices():
    _, mod, code = build(GATES, "f", ["x", "w"])
    body = _body(code)
    assert body.count("_scatter(") == 2  # the first slice, in backward and flat
    for s in ("i_slice", "j_slice", "k_slice"):
        assert f"grad_a[:, {s}] += " in body
    rng = np.random.default_rng(0)
    point = {"x": rng.standard_normal((3, 4)), "w": rng.standard_normal((4, 8))}
    _agrees_with_autograd(GATES, ["x", "w"], point, "gates")
    _central(GATES, ["x", "w"], point)
    # the flat value-and-grad agrees with the backward
    _, grads = mod.f_value_and_grad(*point.values())
    out, cache = mod.f_forward(*point.values())
    expected = mod.f_backward(np.ones_like(out), cache)
    for g, e in zip(grads, expected, strict=True):
        assert np.array_equal(g, e)


def test_float32_keeps_its_dtype():
    _, mod, _ = build(GATES, "f", ["x", "w"])
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    w = rng.standard_normal((4, 8)).astype(np.float32)
    _, (gx, gw) = mod.f_value_and_grad(x, w)
    assert gx.dtype == np.float32 and gw.dtype == np.float32
    _, (ex, ew) = mod.f_value_and_grad(x.astype(np.float64), w.astype(np.float64))
    assert np.allclose(gx, ex, rtol=1e-4, atol=1e-5)
    assert np.allclose(gw, ew, rtol=1e-4, atol=1e-5)


def test_overlapping_steps_integers_and_none():
    _, _, code = build(MIXED, "f", ["x"])
    body = _body(code)
    assert "+= _scatter(" not in body and "grad_a = grad_a + _scatter(" not in body
    assert body.count("grad_a[") >= 3
    point = {"x": np.random.default_rng(2).standard_normal((5, 6))}
    _agrees_with_autograd(MIXED, ["x"], point, "mixed")
    _central(MIXED, ["x"], point)


def test_a_gather_is_not_rewritten():
    _, _, code = build(GATHER, "f", ["x"])
    body = _body(code)
    assert "_scatter_add(" in body  # the gather's own adjoint, untouched
    point = {
        "x": np.random.default_rng(3).standard_normal((4, 3)),
        "idx": np.array([0, 2, 2, 3, 0]),
    }
    _agrees_with_autograd(GATHER, ["x"], point, "gather")
    _central(GATHER, ["x"], point)


def test_a_shared_gradient_is_accumulated_out_of_place():
    _, _, code = build(SHARED, "f", ["x"])
    body = _body(code)
    assert "grad_a = grad_a + _scatter(" in body
    assert "grad_a[" not in body
    point = {"x": np.random.default_rng(4).standard_normal((3, 4))}
    _agrees_with_autograd(SHARED, ["x"], point, "shared")
    _central(SHARED, ["x"], point)


def _prepared(source: str, wrt: list[str]):
    fn = parse(textwrap.dedent(source), "<test>", "f")
    return accumulate_in_place(reverse(fn, wrt))


def _scatters(bwd):
    return [gs for b in bwd.blocks for gs in b.steps if gs.at]


def test_the_shape_must_be_the_values_own():
    bwd = _prepared(GATES, ["x", "w"])
    assert len(_scatters(scatter_in_place(bwd))) == 3
    other = E.Call(E.Attr(E.Name("np"), "shape"), (E.Name("x"),))

    def wrong_shape(gs):
        if not (gs.accumulate and isinstance(gs.expr, E.Call)):
            return gs
        c, _, index = gs.expr.args
        return replace(gs, expr=replace(gs.expr, args=(c, other, index)))

    blocks = tuple(
        replace(b, steps=tuple(wrong_shape(gs) for gs in b.steps)) for b in bwd.blocks
    )
    assert _scatters(scatter_in_place(replace(bwd, blocks=blocks))) == []


def test_not_in_place_is_not_rewritten():
    bwd = _prepared(GATES, ["x", "w"])
    blocks = tuple(
        replace(b, steps=tuple(replace(gs, in_place=False) for gs in b.steps))
        for b in bwd.blocks
    )
    assert _scatters(scatter_in_place(replace(bwd, blocks=blocks))) == []


def test_lstm_step_example_against_autograd_and_differences():
    path = ROOT / "examples" / "lstm_step.py"
    source = path.read_text()
    from codegen.pipeline import generate

    code = generate(source, "examples/lstm_step.py", "lstm_step")
    assert "grad_a[:, o_slice] += " in code and "+= _scatter(" not in code
    mod = module_from_source(code, "lstm_step_grad_under_test")
    user = module_from_source(source, "lstm_step_under_test")
    rng = np.random.default_rng(5)
    N, D, H = 3, 4, 5
    args = [
        rng.standard_normal((N, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((N, H)),
        rng.standard_normal((D, 4 * H)),
        rng.standard_normal((H, 4 * H)),
        rng.standard_normal(4 * H),
    ]
    names = ["x", "prev_h", "prev_c", "Wx", "Wh", "b"]
    report = check_gradients(
        user.lstm_step,
        (mod.lstm_step_forward, mod.lstm_step_backward),
        names,
        dict(zip(names, args, strict=True)),
        names,
        "lstm_step",
    )
    assert report.ok, report.summary()
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    _, cache = mod.lstm_step_forward(*args)
    grads = mod.lstm_step_backward(dh, dc, cache)
    ns: dict = {"np": anp}
    exec(compile(source.replace("import numpy as np", ""), "<ag>", "exec"), ns)

    def scalar(*a):
        h, c = ns["lstm_step"](*a)
        return anp.sum(h * dh) + anp.sum(c * dc)

    for k in range(len(names)):
        assert np.allclose(
            grads[k], autograd.grad(scalar, k)(*args), rtol=1e-7, atol=1e-9
        )
