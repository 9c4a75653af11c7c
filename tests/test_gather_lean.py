"""codegen.core.gather_lean: a cross-entropy's gather without the full array.

Every case's generated gradient is checked against HIPS autograd (the same
source run with autograd.numpy) and against central differences. Where the
passes fire, the generated text shows it (no ``np.add.at``, no full array of
log-probabilities, the labels' gradient added in place); where a condition
cannot be proven they must not fire, and the gradient is still right
(repeated indices add up). The generated value-and-grad is differentiated
again (Hessian-vector products against central differences).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from references import autograd_grads as _autograd
from references import central as _central
from references import hessian_vector_products

from codegen.checks.verify import module_from_source
from codegen.core import ir
from codegen.core.gather_lean import column_gather
from codegen.front.parse import parse
from codegen.pipeline import generate

HEAD = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int

"""

CE = """
def f(x: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs[np.arange(N), y]) / N
"""

#: name -> (forward after HEAD, {param: shape, or ("int", high, shape)}, wrt,
#: a line the passes write)
FIRES = {
    "softmax cross-entropy": (
        CE,
        {"x": (5, 4), "y": ("int", 4, (5,))},
        ["x"],
        "grad_shifted[np.arange(N), y] += grad_out_gather_shifted",
    ),
    "column on the left, a sum, weights": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    t = np.sum(w * x, axis=1, keepdims=True) + x * w
    return np.sum(t[np.arange(N), y] ** 2)
""",
        {"x": (4, 6), "w": (4, 6), "y": ("int", 6, (4,))},
        ["x", "w"],
        "out_gather_t_sum = t_sum[:, 0]",
    ),
    "a plain gather next to a dense use": (
        """
def f(x: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    return np.sum(np.sin(x[np.arange(N), y])) + np.sum(x * x * x)
""",
        {"x": (5, 3), "y": ("int", 3, (5,))},
        ["x"],
        "grad_x[np.arange(N), y] += grad_out_gather",
    ),
}

#: name -> (forward, shapes, wrt, text that shows the pass did not fire)
REFUSED = {
    "rows not an arange (repeated)": (
        """
def f(x: Float[np.ndarray, "N C"], r: Int[np.ndarray, "N"], y: Int[np.ndarray, "N"]):
    t = x - np.max(x, axis=1, keepdims=True)
    u = t - np.log(np.sum(np.exp(t), axis=1, keepdims=True))
    return np.sum(u[r, y] * np.arange(5.0))
""",
        {"x": (5, 4), "r": ("int", 2, (5,)), "y": ("int", 2, (5,))},
        ["x"],
        "_scatter_add(",
    ),
    "an arange shorter than the axis": (
        """
def f(x: Float[np.ndarray, "N C"], z: Float[np.ndarray, "M"], y: Int[np.ndarray, "M"]):
    M = z.shape[0]
    u = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return np.sum(u[np.arange(M), y] * z)
""",
        {"x": (5, 4), "z": (3,), "y": ("int", 4, (3,))},
        ["x", "z"],
        "_scatter_add(",
    ),
    "no size-1 axis": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    return np.sum((x - w)[np.arange(N), y] ** 2)
""",
        {"x": (4, 3), "w": (4, 3), "y": ("int", 3, (4,))},
        ["x", "w"],
        "[:, 0]",
    ),
    "a column over axis 0": (
        """
def f(x: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    u = x - np.sum(x * x, axis=0, keepdims=True)
    return np.sum(u[np.arange(N), y] ** 2)
""",
        {"x": (4, 4), "y": ("int", 4, (4,))},
        ["x"],
        "[:, 0]",
    ),
    "labels that broadcast the rows (repeated pairs)": (
        """
def f(x: Float[np.ndarray, "N C"], y: Int[np.ndarray, "K N"]):
    N = x.shape[0]
    return np.sum(np.sin(x[np.arange(N), y]))
""",
        {"x": (3, 2), "y": ("int", 2, (4, 3))},
        ["x"],
        "_scatter_add(",
    ),
    "no annotations": (
        """
def f(x, y):
    N = x.shape[0]
    u = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return np.sum(u[np.arange(N), y] ** 2)
""",
        {"x": (4, 3), "y": ("int", 3, (4,))},
        ["x"],
        "_scatter_add(",
    ),
}


def _point(shapes: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    point = {}
    for name, shape in shapes.items():
        if shape and shape[0] == "int":
            _, high, dims = shape
            point[name] = rng.integers(0, high, dims)
        else:
            point[name] = rng.standard_normal(shape)
    return point


def _build(body: str, wrt: list[str]):
    source = HEAD + textwrap.dedent(body)
    code = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, "gather_forward")
    return source, forward, module_from_source(code, "gather_generated"), code


def _grads(mod, point: dict) -> tuple:
    _, grads = mod.f_value_and_grad(**point)
    return grads if isinstance(grads, tuple) else (grads,)


def _check(source, forward, mod, point, wrt) -> None:
    grads = _grads(mod, point)
    reference = _autograd(source, point, wrt)
    for p, g, r in zip(wrt, grads, reference, strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


@pytest.mark.parametrize("name", FIRES)
def test_the_gather_passes_match_autograd_and_central_differences(name):
    body, shapes, wrt, line = FIRES[name]
    source, forward, mod, code = _build(body, wrt)
    # np.add.at is gone (and the labels' gradient added in place)
    assert "_scatter_add" not in code
    assert line in code
    for seed in (0, 1):
        _check(source, forward, mod, _point(shapes, seed), wrt)


def test_cross_entropy_never_builds_the_log_probabilities():
    source, _, _, code = _build(CE, ["x"])
    forward = code.split("def f_forward")[1].split("def f_backward")[0]
    assert "\n    log_probs = " not in forward and "log_probs_log[:, 0]" in forward
    backward = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    assert "grad_log_probs =" not in backward
    assert "_scatter(grad_out_gather_shifted" not in code  # no zeros the size of x
    # the dense gradient comes first, the labels' after it, under their line
    lines = [ln.strip() for ln in backward.splitlines() if "del " not in ln]
    dense = lines.index("grad_shifted = grad_log_probs_exp * log_probs_exp")
    assert lines[dense + 1] == "# return -np.sum(log_probs[np.arange(N), y]) / N"
    assert (
        lines[dense + 2] == "grad_shifted[np.arange(N), y] += grad_out_gather_shifted"
    )


def test_the_gather_is_split_only_as_proven():
    fn = parse(HEAD + textwrap.dedent(CE), "<test>", "f")
    out = column_gather(fn)
    ops = [(s.op, s.args) for s in out.body]
    assert ("getitem", (ir.Var("log_probs_log"), ir.Const(":"), ir.Const("0"))) in ops
    assert "log_probs" not in {s.target for s in out.body}
    assert column_gather(out) == out  # nothing more to split


@pytest.mark.parametrize("name", REFUSED)
def test_the_passes_do_not_fire_where_they_cannot_prove_their_conditions(name):
    body, shapes, wrt, kept = REFUSED[name]
    source, forward, mod, code = _build(body, wrt)
    if kept == "[:, 0]":
        assert kept not in code
    else:
        assert kept in code
    for seed in (0, 1):
        _check(source, forward, mod, _point(shapes, seed), wrt)


def test_the_rows_are_computed_again_not_cached():
    *_, code = _build(CE, ["x"])
    cache = code.split("def f_backward")[1].split("= cache")[0].splitlines()[-1]
    assert "out_arange" not in cache and "N" in cache.replace(",", " ").split()
    # an arange of an array of unknown rank is kept
    body = """
def f(x: Float[np.ndarray, "N C"], n, y: Int[np.ndarray, "N"]):
    return np.sum(np.sin(x[np.arange(n), y]))
"""
    source, forward, mod, code = _build(body, ["x"])
    assert "np.s_[out_arange, y]" in code
    point = {
        "x": np.arange(12.0).reshape(4, 3) / 7,
        "n": 4,
        "y": np.array([2, 0, 2, 1]),
    }
    expected = _central(lambda **a: forward.f(**{**a, "n": 4}), point, "x")
    assert np.allclose(mod.f_value_and_grad(**point)[1], expected, rtol=1e-6)


def test_repeated_labels_add_up():
    body, shapes, wrt, _ = REFUSED["labels that broadcast the rows (repeated pairs)"]
    source, forward, mod, _ = _build(body, wrt)
    point = _point(shapes)
    point["y"] = np.zeros((4, 3), dtype=int)  # every pair four times
    _check(source, forward, mod, point, wrt)


@pytest.mark.parametrize("name", FIRES)
def test_second_order_through_the_gather_passes(name):
    body, shapes, wrt, _ = FIRES[name]
    source = HEAD + textwrap.dedent(body)
    first = generate(source, "<test>", "f", wrt)
    point = _point(shapes, seed=3)
    for p, g, expected in hessian_vector_products(
        source, first, wrt, point, "gather", h=1e-5
    ):
        assert np.allclose(g, expected, rtol=1e-4, atol=1e-6), p
