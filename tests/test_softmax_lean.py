"""codegen.core.softmax_lean: a softmax's backward in closed form, and a
scale moved past the products that read its gradient.

Each case's generated gradient is checked against HIPS autograd (the same
source run with autograd.numpy) and against central differences; the text
shows the pass fired (or, where a condition cannot be proven, that it did
not, and the gradient is still right); the generated value-and-grad is
differentiated again (Hessian-vector products against central differences).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
from references import autograd_grads as _autograd
from references import central as _central
from references import hessian_vector_products

from codegen.checks.verify import module_from_source
from codegen.pipeline import generate

HEAD = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

"""

ATTENTION = """
def f(q: Float[np.ndarray, "T d"], k: Float[np.ndarray, "T d"], v: Float[np.ndarray, "T d"], u: Float[np.ndarray, "T d"]):
    d = q.shape[1]
    s = q @ k.T / np.sqrt(d)
    m = s - np.max(s, axis=1, keepdims=True)
    e = np.exp(m)
    A = e / np.sum(e, axis=1, keepdims=True)
    return np.sum((A @ v) * u)
"""

QKVU = {"q": (4, 3), "k": (4, 3), "v": (4, 3), "u": (4, 3)}

#: name -> (forward after HEAD, shapes, wrt, lines the passes write)
FIRES = {
    "attention head": (
        ATTENTION,
        QKVU,
        ["q", "k", "v"],
        [
            'grad_A -= np.einsum("ij,ij->i", grad_A, A)[:, None]',
            "grad_A *= A",
            "grad_q = grad_s_matmul @ s_transpose.T / s_sqrt",
        ],
    ),
    "rank 3, axis 1, no max shift": (
        """
def f(x: Float[np.ndarray, "B T C"], w: Float[np.ndarray, "B T C"]):
    e = np.exp(x)
    A = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(A * w)
""",
        {"x": (2, 3, 4), "w": (2, 3, 4)},
        ["x", "w"],
        ['np.einsum("ijk,ijk->ik", grad_A, A)[:, None]', "grad_A *= A"],
    ),
    "A read twice: the out-of-place form": (
        """
def f(x: Float[np.ndarray, "N C"], v: Float[np.ndarray, "C D"], w: Float[np.ndarray, "N C"]):
    e = np.exp(x)
    A = e / np.sum(e, axis=-1, keepdims=True)
    return np.sum(np.sin(A @ v)) + np.sum(A * w)
""",
        {"x": (3, 4), "v": (4, 2), "w": (3, 4)},
        ["x", "v", "w"],
        ['A * (grad_A - np.einsum("ij,ij->i", grad_A, A)[:, None])'],
    ),
    "the max over another axis keeps its gradient": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"]):
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    A = e / np.sum(e, axis=0, keepdims=True)
    return np.sum(A * w)
""",
        {"x": (3, 4), "w": (3, 4)},
        ["x"],
        ['np.einsum("ij,ij->j", grad_A, A)[None]'],
    ),
    "a scale by a number": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D M"], u: Float[np.ndarray, "M K"]):
    h = x @ w * 0.5
    return np.sum(np.tanh(h @ u))
""",
        {"x": (3, 4), "w": (4, 5), "u": (5, 2)},
        ["x", "w", "u"],
        ["grad_x = grad_h_matmul @ w.T * 0.5", "grad_w = x.T @ grad_h_matmul * 0.5"],
    ),
}

#: name -> (forward, shapes, wrt, text that shows the pass did not fire)
REFUSED = {
    "no keepdims": (
        """
def f(x: Float[np.ndarray, "N N"], w: Float[np.ndarray, "N N"]):
    e = np.exp(x)
    A = e / np.sum(e, axis=1)
    return np.sum(A * w)
""",
        {"x": (3, 3), "w": (3, 3)},
        ["x"],
        "grad_e",
    ),
    "e read elsewhere": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"]):
    e = np.exp(x)
    A = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(A * w) + np.sum(e)
""",
        {"x": (3, 4), "w": (3, 4)},
        ["x"],
        "grad_e",
    ),
    "the sum of another array": (
        """
def f(x: Float[np.ndarray, "N C"], y: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"]):
    e = np.exp(x)
    A = e / np.sum(np.exp(y), axis=1, keepdims=True)
    return np.sum(A * w)
""",
        {"x": (3, 4), "y": (3, 4), "w": (3, 4)},
        ["x", "y"],
        "grad_e",
    ),
    "a sum over every axis": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"]):
    e = np.exp(x)
    A = e / np.sum(e, axis=None, keepdims=True)
    return np.sum(A * w)
""",
        {"x": (3, 4), "w": (3, 4)},
        ["x"],
        "grad_e",
    ),
    "a scale by an array": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D M"], c: Float[np.ndarray, "N 1"], u: Float[np.ndarray, "M K"]):
    h = x @ w / c
    return np.sum(np.tanh(h @ u))
""",
        {"x": (3, 4), "w": (4, 5), "c": (3, 1), "u": (5, 2)},
        ["x", "w"],
        "grad_x = grad_h_matmul @ w.T\n",
    ),
    "a scaled gradient read by more than products": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    h = np.exp(x) * 0.5
    return np.sum(np.tanh(h) * w)
""",
        {"x": (3, 4), "w": (3, 4)},
        ["x"],
        "grad_h_exp = ",
    ),
    "a scaled gradient written twice": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D M"]):
    m = x @ w
    h = m * 0.5
    return np.sum(np.tanh(h)) + np.sum(np.sin(m))
""",
        {"x": (3, 4), "w": (4, 5)},
        ["x", "w"],
        "grad_m += grad_h * 0.5",
    ),
}


def _point(shapes: dict, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    point = {n: rng.standard_normal(s) for n, s in shapes.items()}
    if "c" in point:
        point["c"] = 1.5 + np.abs(point["c"])
    return point


def _build(body: str, wrt: list[str]):
    source = HEAD + textwrap.dedent(body)
    code = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, "softmax_forward")
    return source, forward, module_from_source(code, "softmax_generated"), code


def _check(source, forward, mod, point, wrt) -> None:
    _, grads = mod.f_value_and_grad(**point)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for p, g, r in zip(wrt, grads, _autograd(source, point, wrt), strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


def _backward(code: str) -> str:
    return code.split("def f_backward")[1].split("def f_value_and_grad")[0]


@pytest.mark.parametrize("name", FIRES)
def test_the_softmax_passes_match_autograd_and_central_differences(name):
    body, shapes, wrt, lines = FIRES[name]
    source, forward, mod, code = _build(body, wrt)
    backward = _backward(code)
    for line in lines:
        assert line in backward, line
    assert "grad_e " not in backward and "grad_A_sum" not in backward
    for seed in (0, 1):
        _check(source, forward, mod, _point(shapes, seed), wrt)


def test_only_the_softmax_is_cached():
    body, _, wrt, _ = FIRES["attention head"]
    *_, code = _build(body, wrt)
    cache = _backward(code).split("= cache")[0].splitlines()[-1]
    assert cache.split() == ["q,", "v,", "u,", "s_transpose,", "s_sqrt,", "A"]


@pytest.mark.parametrize("name", REFUSED)
def test_the_passes_do_not_fire_where_they_cannot_prove_their_conditions(name):
    body, shapes, wrt, kept = REFUSED[name]
    source, forward, mod, code = _build(body, wrt)
    backward = _backward(code)
    assert kept in backward
    assert "grad_A -=" not in backward and "A * (grad_A -" not in backward
    for seed in (0, 1):
        _check(source, forward, mod, _point(shapes, seed), wrt)


@pytest.mark.parametrize("name", FIRES)
def test_second_order_through_the_softmax_passes(name):
    body, shapes, wrt, _ = FIRES[name]
    source = HEAD + textwrap.dedent(body)
    first = generate(source, "<test>", "f", wrt)
    point = _point(shapes, seed=3)
    for p, g, expected in hessian_vector_products(
        source, first, wrt, point, "softmax", h=1e-5
    ):
        assert np.allclose(g, expected, rtol=1e-4, atol=1e-6), p
