"""codegen.core.forward_in_place: the result's last operation in its dying
operand's array, exact for every dtype the caller passes.

The in-place module must give the very bits and dtype of the module without
the pass (float64, float32, a wider or narrower bias), and gradients that
match HIPS autograd and central differences; where a condition is not
proven the step stays out of place. ``x.astype(t, copy=False)`` may be x
itself: the parser refuses an in-place update of it while x is held.
"""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest
from test_norm_lean import HEAD, _autograd, _build, _central, _point

from codegen import pipeline
from codegen.checks.verify import module_from_source
from codegen.errors import CodegenError

LAYER = """
def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], beta: Float[np.ndarray, "D"]):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    out = gamma * xhat + beta
    return out
"""

#: bodies where the pass must not fire
REFUSED = {
    "the product is read again": """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    t = x * 2.0
    out = t + b
    return out, t
""",
    "the operand is a parameter": """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    out = x + b
    return out
""",
    "the sum is larger than the product": """
def f(x: Float[np.ndarray, "D"], b: Float[np.ndarray, "N D"]):
    out = x * 2.0 + b
    return out
""",
    "the product is cached for the backward": """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "N D"]):
    t = x * 2.0
    out = t * b
    return out
""",
    "not a result": """
def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    t = x * 2.0 + b
    return np.tanh(t)
""",
}


def _forward(code: str) -> str:
    body = code.split("def f_forward")[1].split("def f_backward")[0]
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))


def _plain(monkeypatch, body: str, wrt: list[str]):
    monkeypatch.setattr(pipeline, "update_in_place", lambda b: b)
    try:
        return _build(body, wrt)
    finally:
        monkeypatch.undo()


def _vjp(mod, forward, point: dict, seed_dtype) -> tuple:
    names = list(inspect.signature(forward.f).parameters)
    out, cache = mod.f_forward(**{p: point[p] for p in names if p in point})
    outs = out if isinstance(out, tuple) else (out,)
    seeds = [np.ones_like(o, dtype=seed_dtype) for o in outs]
    grads = mod.f_backward(*seeds, cache)
    return (*outs, *(grads if isinstance(grads, tuple) else (grads,)))


@pytest.mark.parametrize(
    "dtypes",
    [
        ("float64", "float64", "float64"),
        ("float32", "float32", "float32"),
        ("float32", "float32", "float64"),  # a wider bias: the cast copies
        ("float64", "float32", "float32"),
        ("float32", "float64", "float32"),
    ],
)
def test_the_output_in_place_gives_the_same_bits_and_dtypes(dtypes, monkeypatch):
    wrt = ["x", "gamma", "beta"]
    source, forward, mod, code = _build(LAYER, wrt)
    assert "out_cast += beta" in _forward(code)
    *_, plain, plain_code = _plain(monkeypatch, LAYER, wrt)
    assert "+= beta" not in _forward(plain_code)
    shapes = {"x": (4, 5), "gamma": (5,), "beta": (5,)}
    point = _point(shapes)
    for name, dtype in zip(("x", "gamma", "beta"), dtypes, strict=True):
        point[name] = point[name].astype(dtype)
    for got, want in zip(
        _vjp(mod, forward, point, np.float64),
        _vjp(plain, forward, point, np.float64),
        strict=True,
    ):
        assert got.dtype == want.dtype and np.array_equal(got, want), dtypes
    out, _ = mod.f_forward(**point)
    assert out.dtype == np.result_type(*(point[n] for n in ("x", "gamma", "beta")))


def test_the_output_in_place_matches_autograd_and_central_differences():
    wrt = ["x", "gamma", "beta"]
    _, _, mod, _ = _build(LAYER, wrt)
    # the vector-Jacobian product with w is the gradient of sum(out * w)
    loss = LAYER.replace("beta: Float", 'w: Float[np.ndarray, "N D"], beta: Float')
    loss = loss.replace("    return out", "    return np.sum(out * w)")
    loss_source = HEAD + textwrap.dedent(loss)
    point = _point({"x": (3, 4), "gamma": (4,), "beta": (4,), "w": (3, 4)})
    _, cache = mod.f_forward(point["x"], point["gamma"], point["beta"])
    grads = mod.f_backward(point["w"], cache)
    f = _exec(loss)
    for p, g, r in zip(wrt, grads, _autograd(loss_source, point, wrt), strict=True):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(f, point, p), rtol=1e-5, atol=1e-7), p


@pytest.mark.parametrize("name", REFUSED)
def test_the_output_stays_out_of_place_where_a_condition_is_not_proven(name):
    body = REFUSED[name]
    params = list(inspect.signature(_exec(body)).parameters)
    source, forward, mod, code = _build(body, params)
    assert "_cast" not in _forward(code) and "+= " not in _forward(code)


def _exec(body: str):
    ns: dict = {}
    exec(HEAD + textwrap.dedent(body), ns)
    return ns["f"]


def test_astype_without_copy_is_an_alias_for_in_place_updates():
    held = HEAD + textwrap.dedent("""
        def f(x: Float[np.ndarray, "N"], w: Float[np.ndarray, "N"]):
            t = x * 2.0
            u = t.astype(np.result_type(t, w), copy=False)
            u += w
            return np.sum(u * t)
        """)
    with pytest.raises(CodegenError, match="also held elsewhere"):
        pipeline.generate(held, "<test>", "f")
    # released first (as the generated code does), or copied: accepted, right
    for variant in (
        held.replace("    u += w", "    del t\n    u += w").replace("u * t)", "u * x)"),
        held.replace("copy=False", "copy=True"),
    ):
        code = pipeline.generate(variant, "<test>", "f")
        mod = module_from_source(code, "astype_alias")
        forward = module_from_source(variant, "astype_alias_forward")
        point = _point({"x": (4,), "w": (4,)})
        _, grads = mod.f_value_and_grad(**point)
        for p, g in zip(("x", "w"), grads, strict=True):
            assert np.allclose(g, _central(forward.f, point, p), rtol=1e-6, atol=1e-8)
