"""codegen.core.norm_forward: np.var computed from the forward's own x - mu.

Where the pass fires, the generated forward has no np.var and sums c * c by
one einsum; its value matches the source's (np.var) to rounding, for float64
and float32 (the dtype kept), and the gradients match HIPS autograd and
central differences; where a condition is not proven, np.var stays and the
gradient is still right. Second order differentiates the rewritten forward.
"""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest
from programs.second import hvp_source
from test_norm_lean import HEAD, _autograd, _build, _central, _grads, _point

from codegen.checks.verify import module_from_source
from codegen.pipeline import generate

#: name -> (forward body after HEAD, shapes of the parameters, wrt)
FIRES = {
    "batch norm, axis 0": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(gamma * xhat * w)
""",
        {"x": (5, 4), "gamma": (4,), "w": (5, 4)},
        ["x", "gamma"],
    ),
    "layer norm, axis -1, keepdims": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (3, 6), "w": (3, 6)},
        ["x"],
    ),
    "var before mu, and read again (no closed form)": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    var = np.var(x, axis=0)
    mu = np.mean(x, axis=0)
    xc = x - mu
    return np.sum(xc * w / np.sqrt(var + 1.0)) + np.sum(var * var)
""",
        {"x": (4, 3), "w": (4, 3)},
        ["x", "w"],
    ),
    "rank 3, axes (0, 2), var without keepdims": (
        """
def f(x: Float[np.ndarray, "N C L"], w: Float[np.ndarray, "C"]):
    mu = np.mean(x, axis=(0, 2), keepdims=True)
    xc = x - mu
    var = np.var(x, axis=(0, 2))
    return np.sum(np.sqrt(var + 0.1) * w) + np.sum(xc * xc)
""",
        {"x": (2, 3, 4), "w": (3,)},
        ["x", "w"],
    ),
}

#: the pass must not fire: (body, shapes, wrt)
REFUSED = {
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
    "the mean over another axis": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (4, 4), "w": (4, 4)},
        ["x"],
    ),
    "axis 1 mean without keepdims (broadcast along the other axis)": (
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
    "centred by the mean of another array": (
        """
def f(x: Float[np.ndarray, "N D"], y: Float[np.ndarray, "N D"]):
    mu = np.mean(y, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * y)
""",
        {"x": (5, 4), "y": (5, 4)},
        ["x", "y"],
    ),
    "var read before x - mu can be computed": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    var = np.var(x, axis=0)
    s = np.sqrt(var + 1e-5)
    mu = np.mean(x, axis=0)
    xhat = (x - mu) / s
    return np.sum(xhat * w)
""",
        {"x": (5, 4), "w": (5, 4)},
        ["x"],
    ),
    "ranks not annotated": (
        """
def f(x, w):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (5, 4), "w": (5, 4)},
        ["x"],
    ),
}


def _forward_code(code: str) -> str:
    """f_forward's statements, without the comments quoting the source."""
    body = code.split("def f_forward")[1].split("def f_backward")[0]
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))


def _args(forward, point: dict) -> dict:
    names = list(inspect.signature(forward.f).parameters)
    return {p: point[p] for p in names if p in point}


@pytest.mark.parametrize("name", FIRES)
def test_variance_from_x_minus_mu_matches_np_var_and_both_references(name):
    body, shapes, wrt = FIRES[name]
    source, forward, mod, code = _build(body, wrt)
    fwd = _forward_code(code)
    assert "np.var(" not in fwd
    assert "np.einsum(" in fwd
    for dtype, rtol in ((np.float64, 1e-13), (np.float32, 1e-5)):
        point = _point(shapes, dtype)
        out, _ = mod.f_forward(**_args(forward, point))
        expected = forward.f(**_args(forward, point))
        assert np.result_type(out) == np.result_type(expected) == dtype
        assert np.allclose(out, expected, rtol=rtol, atol=0), dtype
    point = _point(shapes)
    grads = _grads(mod, point, forward)
    for p, g, r in zip(wrt, grads, _autograd(source, point, wrt), strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


def test_the_variance_keeps_its_dtype_for_float32():
    body, shapes, wrt = FIRES["layer norm, axis -1, keepdims"]
    _, forward, mod, _ = _build(body, wrt)
    point = _point(shapes, np.float32)
    _, grads = mod.f_value_and_grad(**_args(forward, point))
    assert np.asarray(grads).dtype == np.float32


@pytest.mark.parametrize("name", REFUSED)
def test_np_var_stays_where_the_pass_cannot_prove_its_conditions(name):
    body, shapes, wrt = REFUSED[name]
    source, forward, mod, code = _build(body, wrt)
    assert "np.var(" in _forward_code(code)
    point = _point(shapes)
    grads = _grads(mod, point, forward)
    for p, g, r in zip(wrt, grads, _autograd(source, point, wrt), strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


@pytest.mark.parametrize("name", list(FIRES)[:3])
def test_second_order_through_the_rewritten_variance(name):
    body, shapes, wrt = FIRES[name]
    source = HEAD + textwrap.dedent(body)
    first = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, "var_forward2")
    params = list(inspect.signature(forward.f).parameters)
    hvp_src = hvp_source(first, "f", params, wrt)
    assert "np.einsum(" in hvp_src
    hv = module_from_source(hvp_src, "var_hvp")
    mod = module_from_source(generate(hvp_src, "hvp.py", "hvp", wrt), "var_hvp_grad")
    point = _point(shapes, seed=3)
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


# ----- divide_in_place: xhat = c / s in c's own array -----

#: name -> (body, shapes, wrt, the in-place line expected or None)
IN_PLACE = {
    "batch norm": (*FIRES["batch norm, axis 0"], "xhat_sub *= xhat_sqrt_inv"),
    "layer norm": (
        *FIRES["layer norm, axis -1, keepdims"],
        "xhat_sub *= xhat_sqrt_inv",
    ),
    "rsqrt by a power of the mean of squares": (
        """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "1 D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0, keepdims=True)
    xc = x - mu
    var = np.mean(np.square(xc), axis=0, keepdims=True)
    xhat = xc * (var + 1e-3) ** -0.5
    return np.sum(gamma * xhat * w)
""",
        {"x": (6, 3), "gamma": (1, 3), "w": (6, 3)},
        ["x", "gamma"],
        "xc *= xhat_pow",
    ),
    "staged: np.sum / N and 1 / sqrt": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    N = x.shape[0]
    mu = np.sum(x, axis=0) / N
    xmu = x - mu
    var = np.sum(xmu**2, axis=0) / N
    ivar = 1 / np.sqrt(var + 1e-5)
    xhat = xmu * ivar
    return np.sum(xhat * w)
""",
        {"x": (5, 3), "w": (5, 3)},
        ["x"],
        "xmu *= ivar",
    ),
    "a sum alone is no mean": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    xmu = x - np.sum(x, axis=0)
    xhat = xmu / np.sqrt(np.sum(xmu**2, axis=0) + 1e-5)
    return np.sum(xhat * w)
""",
        {"x": (5, 3), "w": (5, 3)},
        ["x"],
        None,
    ),
    "eps a parameter (a NumPy float64 would widen float32)": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"], eps: float = 1e-5):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    return np.sum(xhat * w)
""",
        {"x": (5, 3), "w": (5, 3)},
        ["x"],
        None,
    ),
    "x - mu read again": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    xc = x - mu
    var = np.var(x, axis=0)
    xhat = xc / np.sqrt(var + 1e-5)
    return np.sum(xhat * w) + np.sum(xc * w)
""",
        {"x": (5, 3), "w": (5, 3)},
        ["x"],
        None,
    ),
    "the scale of another array": (
        """
def f(x: Float[np.ndarray, "N D"], y: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0)
    xhat = (x - mu) / np.sqrt(np.var(y, axis=0) + 1e-5)
    return np.sum(xhat * y)
""",
        {"x": (5, 3), "y": (5, 3)},
        ["x", "y"],
        None,
    ),
    "the scale larger than x - mu, its shape not proven": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "N D"]):
    mu = np.mean(x, axis=0, keepdims=True)
    xc = x - mu
    s = np.sqrt(np.expand_dims(xc, 0) ** 2 + 1.0)
    return np.sum(xc / s * w)
""",
        {"x": (5, 3), "w": (5, 3)},
        ["w"],
        None,
    ),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_division_in_place_gives_the_same_dtype_and_numbers(name, monkeypatch):
    """Bit for bit where the step is a product (c * r); within a few units
    in the last place where a division became a product by the reciprocal."""
    from codegen import pipeline

    body, shapes, wrt, line = IN_PLACE[name]
    source, forward, mod, code = _build(body, wrt)
    fwd = _forward_code(code)
    if line is None:
        assert "/= " not in fwd and "*= " not in fwd
    else:
        assert line in fwd
    monkeypatch.setattr(pipeline, "divide_in_place", lambda b: b)
    *_, plain, plain_code = _build(body, wrt)
    monkeypatch.undo()
    assert "/= " not in _forward_code(plain_code) and "*= " not in _forward_code(
        plain_code
    )
    for dtype, wide in (
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float32, np.float64),
    ):
        point = _point(shapes, dtype)
        for p in point:  # the other arrays in the wider dtype
            if p != "x":
                point[p] = point[p].astype(wide)
        got, got_cache = mod.f_forward(**_args(forward, point))
        want, want_cache = plain.f_forward(**_args(forward, point))
        for g, r in zip((got, *got_cache), (want, *want_cache), strict=True):
            if not isinstance(g, (np.ndarray, np.generic)):  # shapes, counts
                assert g == r
                continue
            assert g.dtype == r.dtype
            if line is None or "_inv" not in line:
                assert np.array_equal(g, r)
            else:  # c * (1 / s) against c / s: two roundings in x's dtype,
                # summed over x's elements in the loss
                eps = np.finfo(point["x"].dtype).eps
                atol = 4 * eps * point["x"].size * max(1.0, np.abs(r).max())
                assert np.allclose(g, r, rtol=4 * eps, atol=atol)
    point = _point(shapes)
    grads = _grads(mod, point, forward)
    for p, g, r in zip(wrt, grads, _autograd(source, point, wrt), strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p
