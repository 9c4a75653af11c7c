"""codegen.core.norm_lean: a normalisation's backward in closed form.

Each spelling's generated gradient is checked against HIPS autograd (the same
source run with autograd.numpy) and against central differences; the
generated text shows the closed form (one contribution to grad_x, none of the
step-by-step gradients of mu, var and the square root); where a condition
cannot be proven the pass must not fire, and the gradient is still right; the
generated value-and-grad is differentiated again (Hessian-vector products
against central differences of the first gradient).
"""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest
from programs.second import hvp_source
from references import autograd_grads as _autograd
from references import central as _central

from codegen.checks.verify import module_from_source
from codegen.pipeline import generate

HEAD = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

"""

#: name -> (forward body after HEAD, shapes of the parameters, wrt)
SPELLINGS = {
    "batch norm, np.var, axis 0": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], beta: Float[np.ndarray, "D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * xhat + beta) * w)
""",
        {"x": (5, 4), "gamma": (4,), "beta": (4,), "w": (5, 4)},
        ["x", "gamma", "beta"],
    ),
    "layer norm, np.var, axis 1, keepdims": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], beta: Float[np.ndarray, "D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * xhat + beta) * w)
""",
        {"x": (3, 6), "gamma": (6,), "beta": (6,), "w": (3, 6)},
        ["x", "gamma", "beta"],
    ),
    "layer norm, mean of squares, axis -1, no gamma": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc**2, axis=-1, keepdims=True)
    xhat = xc / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (3, 5), "w": (3, 5)},
        ["x"],
    ),
    "batch norm, keepdims, c * c, rsqrt by a power": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "1 D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=0, keepdims=True)
    xhat = xc * (var + 1e-3) ** -0.5
    return np.sum(gamma * xhat * w)
""",
        {"x": (6, 3), "gamma": (1, 3), "w": (6, 3)},
        ["x", "gamma"],
    ),
    "batch norm, istd = 1 / sqrt, eps a hyperparameter": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], w: Float[np.ndarray, "N D"], eps: float = 1e-5):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    istd = 1 / np.sqrt(eps + var)
    xhat = (x - mu) * istd
    out = xhat * gamma
    return np.sum(out * w) + np.sum(np.tanh(xhat))
""",
        {"x": (5, 3), "gamma": (3,), "w": (5, 3)},
        ["x", "gamma"],
    ),
    "rank 3, axes (1, 2), np.square": (
        """
def f(x: Float[np.ndarray, "N C L"], w: Float[np.ndarray, "N C L"]):
    mu = np.mean(x, axis=(1, 2), keepdims=True)
    var = np.mean(np.square(x - mu), axis=(1, 2), keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w) + np.sum(x * w)
""",
        {"x": (2, 3, 4), "w": (2, 3, 4)},
        ["x"],
    ),
    "staged batch norm: np.sum(x, axis=0) / N, N = x.shape[0]": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], beta: Float[np.ndarray, "D"], w: Float[np.ndarray, "N D"]):
    N = x.shape[0]
    mu = np.sum(x, axis=0) / N
    xmu = x - mu
    sq = xmu**2
    var = np.sum(sq, axis=0) / N
    sqrtvar = np.sqrt(var + 1e-5)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    return np.sum((gamma * xhat + beta) * w)
""",
        {"x": (5, 4), "gamma": (4,), "beta": (4,), "w": (5, 4)},
        ["x", "gamma", "beta"],
    ),
}

#: spellings where the pass must not fire: (body, shapes, wrt)
REFUSED = {
    "the mean is read again": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w) + np.sum(mu * mu)
""",
        {"x": (5, 4), "w": (5, 4)},
        ["x"],
    ),
    "ddof=1": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0, ddof=1)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (5, 4), "w": (5, 4)},
        ["x"],
    ),
    "variance over another axis": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=0, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (4, 4), "w": (4, 4)},
        ["x"],
    ),
    "axis 1 without keepdims: broadcast along the other axis": (
        """
def f(x: Float[np.ndarray, "N N"], w: Float[np.ndarray, "N N"]):
    mu = np.mean(x, axis=1)
    var = np.var(x, axis=1)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (4, 4), "w": (4, 4)},
        ["x"],
    ),
    "eps differentiated": (
        """
def f(x: Float[np.ndarray, "N D"], eps: float, w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return np.sum(xhat * w)
""",
        {"x": (5, 4), "eps": (), "w": (5, 4)},
        ["x", "eps"],
    ),
    "a sum divided by a literal count": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.sum(x, axis=0) / 5
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (5, 4), "w": (5, 4)},
        ["x"],
    ),
    "a sum divided by the other axis's length": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.sum(x, axis=0) / x.shape[1]
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (5, 4), "w": (5, 4)},
        ["x"],
    ),
    "ranks not annotated": (
        """
def f(x, w):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (3, 5), "w": (3, 5)},
        ["x"],
    ),
}


def _point(shapes: dict, dtype=np.float64, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    point = {}
    for name, shape in shapes.items():
        if shape == ():
            point[name] = 0.5
        else:
            point[name] = (2 * rng.standard_normal(shape) + 1).astype(dtype)
    return point


def _build(body: str, wrt: list[str]):
    source = HEAD + textwrap.dedent(body)
    code = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, "norm_forward")
    return source, forward, module_from_source(code, "norm_generated"), code


def _backward(code: str) -> str:
    body = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))


def _grads(mod, point: dict, forward) -> tuple:
    names = list(inspect.signature(forward.f).parameters)
    _, grads = mod.f_value_and_grad(**{p: point[p] for p in names if p in point})
    return grads if isinstance(grads, tuple) else (grads,)


@pytest.mark.parametrize("name", SPELLINGS)
def test_closed_form_gradients_match_autograd_and_central_differences(name):
    body, shapes, wrt = SPELLINGS[name]
    source, forward, mod, code = _build(body, wrt)
    backward = _backward(code)
    # the closed form: one contribution to grad_x, built from xhat and the
    # einsum of the upstream gradient with it; no gradient of mu or var
    assert "(np.size(xhat) / np.size(" in backward
    assert "np.einsum(" in backward
    for gone in ("grad_mu", "grad_var", "_sqrt =", "grad_xc", "_sub =", "grad_istd"):
        assert gone not in backward, gone
    point = _point(shapes)
    grads = _grads(mod, point, forward)
    reference = _autograd(source, point, wrt)
    for p, g, r in zip(wrt, grads, reference, strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        expected = _central(forward.f, point, p)
        assert np.allclose(g, expected, rtol=1e-5, atol=1e-7), p


def test_batch_norm_scale_leaves_the_sums():
    # gamma is constant along axis 0: it multiplies the closed form once and
    # the gradient reaching xhat (gamma * g) is never built
    body, _, wrt = SPELLINGS["batch norm, np.var, axis 0"]
    *_, code = _build(body, wrt)
    backward = _backward(code)
    assert "grad_xhat" not in backward
    assert "*= gamma / " in backward  # after the sums, in place (norm_buffers)
    # along axis 1 gamma varies inside each mean: it stays in the upstream
    body, _, wrt = SPELLINGS["layer norm, np.var, axis 1, keepdims"]
    *_, code = _build(body, wrt)
    assert "grad_xhat = " in _backward(code)


def test_only_xhat_and_the_scale_are_cached():
    body, _, wrt = SPELLINGS["batch norm, np.var, axis 0"]
    *_, code = _build(body, wrt)
    cache = code.split("def f_backward")[1].split("= cache")[0].splitlines()[-1]
    assert "xhat_sub" not in cache  # x - mu is not kept
    assert "xhat" in cache


@pytest.mark.parametrize("name", list(SPELLINGS)[:3])
def test_float32_stays_float32_and_matches_float64(name):
    body, shapes, wrt = SPELLINGS[name]
    _, forward, mod, _ = _build(body, wrt)
    point32 = _point(shapes, np.float32)
    point64 = {k: np.asarray(v, np.float64) for k, v in point32.items()}
    for g32, g64 in zip(
        _grads(mod, point32, forward), _grads(mod, point64, forward), strict=True
    ):
        assert g32.dtype == np.float32
        assert np.allclose(g32, g64, rtol=1e-4, atol=1e-4 * np.abs(g64).max())


@pytest.mark.parametrize("name", REFUSED)
def test_the_pass_does_not_fire_where_it_cannot_prove_its_conditions(name):
    body, shapes, wrt = REFUSED[name]
    source, forward, mod, code = _build(body, wrt)
    backward = _backward(code)
    assert 'np.einsum("ij,ij->j", grad_xhat, xhat)' not in backward
    assert "grad_var" in backward or "grad_xhat_add" in backward
    point = _point(shapes)
    if "eps" in point:
        point["eps"] = 0.7
    grads = _grads(mod, point, forward)
    for p, g in zip(wrt, grads, strict=True):
        expected = _central(forward.f, point, p)
        assert np.allclose(g, expected, rtol=1e-5, atol=1e-7), p


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_second_order_through_the_closed_form(name):
    body, shapes, wrt = SPELLINGS[name]
    source = HEAD + textwrap.dedent(body)
    first = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, "norm_forward2")
    params = list(inspect.signature(forward.f).parameters)
    hvp_src = hvp_source(first, "f", params, wrt)
    second = generate(hvp_src, "hvp.py", "hvp", wrt)
    hv = module_from_source(hvp_src, "norm_hvp")
    mod = module_from_source(second, "norm_hvp_grad")
    point = _point(shapes, seed=3)
    for p, param in inspect.signature(forward.f).parameters.items():
        if param.default is not inspect.Parameter.empty:
            point[p] = param.default
    rng = np.random.default_rng(7)
    for p in wrt:
        point[f"v_{p}"] = rng.standard_normal(np.shape(point[p]))
    names = list(inspect.signature(hv.hvp).parameters)
    _, grads = mod.hvp_value_and_grad(**{n: point[n] for n in names if n in point})
    grads = grads if isinstance(grads, tuple) else (grads,)
    fwd = {k: v for k, v in point.items() if k in names}
    for p, g in zip(wrt, grads, strict=True):
        expected = _central(hv.hvp, fwd, p, h=1e-5)
        assert np.allclose(g, expected, rtol=1e-4, atol=1e-6), p
