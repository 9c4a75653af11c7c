"""Forwards that return their inputs or intermediates beside a result, and
caches that hold views of what they return: `f_backward` with one upstream
gradient per output against HIPS autograd's vector-Jacobian product (the
same source run with autograd.numpy), and the cache unchanged by a caller's
in-place update of an output. These are the layers where codegen's lean
passes (the closed-form normalisation, the variance from centred values,
in-place arithmetic) write into arrays, found by probing."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from conftest import build

HEADER = (
    "from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\n"
    "import numpy as np\n\nif TYPE_CHECKING:\n    from jaxtyping import Float\n\n\n"
)
NORM = (
    "    mu = np.mean(x, axis=1, keepdims=True)\n"
    "    var = np.var(x, axis=1, keepdims=True)\n"
    "    y = (x - mu) / np.sqrt(var + 1e-5)\n"
)
BATCH = (
    "    mu = np.mean(x, axis=0)\n    var = np.var(x, axis=0)\n"
    "    y = (x - mu) / np.sqrt(var + 1e-5)\n"
)
SOFTMAX = (
    "    e = np.exp(x - np.max(x, axis=1, keepdims=True))\n"
    "    p = e / np.sum(e, axis=1, keepdims=True)\n"
)
X = 'x: Float[np.ndarray, "N D"]'
CASES = {
    "norm_and_its_input": (f"def f({X}):\n{NORM}    return y, x\n", ["x"]),
    "input_then_norm": (f"def f({X}):\n{NORM}    return x, y\n", ["x"]),
    "scaled_norm_and_input": (
        f'def f({X}, g: Float[np.ndarray, "D"]):\n{NORM}    return y * g, x\n',
        ["x", "g"],
    ),
    "batch_norm_and_input": (f"def f({X}):\n{BATCH}    return y, x\n", ["x"]),
    "residual": (
        f'def f({X}, g: Float[np.ndarray, "D"]):\n    x = x * g\n{NORM}    return y, x\n',
        ["x", "g"],
    ),
    "softmax_then_its_norm": (
        f"def f({X}):\n{SOFTMAX}    x = p\n{NORM}    return p, y\n",
        ["x"],
    ),
    "two_norms_of_one_input": (
        f"def f({X}):\n{NORM}"
        "    mu2 = np.mean(x, axis=1, keepdims=True)\n"
        "    var2 = np.var(x, axis=1, keepdims=True)\n"
        "    b = (x - mu2) / np.sqrt(var2 + 1e-5)\n    return y * b\n",
        ["x"],
    ),
}


def _vjp(source: str, point: dict, wrt: list[str], seeds: list) -> list:
    ns: dict = {}
    exec(
        source.replace("import numpy as np", "import autograd.numpy as np"), ns
    )  # noqa: S102

    def loss(*args):
        outs = ns["f"](*args)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return sum(anp.sum(s * o) for s, o in zip(seeds, outs))

    names = list(point)
    return [autograd.grad(loss, names.index(p))(*point.values()) for p in wrt]


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_beside_a_lean_pass_get_their_gradients(case):
    body, wrt = CASES[case]
    source = HEADER + body
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(5)
    point = {"x": rng.standard_normal((4, 5))}
    if "g" in wrt:
        point["g"] = rng.standard_normal(5)
    want = forward.f(**point)
    outs = want if isinstance(want, tuple) else (want,)
    got, cache = generated.f_forward(**point)
    got = got if isinstance(got, tuple) else (got,)
    for a, b in zip(got, outs):
        assert np.allclose(a, b, atol=1e-10), code
    seeds = [rng.standard_normal(np.shape(o)) for o in outs]
    grads = generated.f_backward(*seeds, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for name, grad, ref in zip(wrt, grads, _vjp(source, point, wrt, seeds)):
        assert np.allclose(grad, ref, atol=1e-8), (name, code)


@pytest.mark.parametrize(
    "body",
    [
        "h = np.maximum(0, x)\n    out = h.T @ w\n    return out, h",
        "h = np.maximum(0, x)\n    out = np.max(h.T, axis=0) * w[:, 0]\n    return out, h",
        "h = np.tanh(x)\n    out = np.sum(h[1:] ** 3) * w\n    return out, h",
        "h = np.exp(x)\n    out = h.reshape(3, 2) @ w[:2]\n    return out, h",
    ],
)
def test_a_returned_array_whose_view_the_cache_holds_is_a_copy(body):
    source = f"import numpy as np\n\n\ndef f(x, w):\n    {body}\n"
    _, generated, code = build(source, "f", ["x", "w"])
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    (out, h), cache = generated.f_forward(x, w)
    seeds = (np.ones_like(out), np.zeros_like(h))
    before = generated.f_backward(*seeds, cache)
    h *= 0.5  # the caller's own array now
    after = generated.f_backward(*seeds, cache)
    for a, b in zip(before, after):
        assert np.array_equal(a, b), code


def test_an_in_place_true_division_of_integer_arrays_is_float():
    source = HEADER + (
        f'def f(w: Float[np.ndarray, "N D"], v: Float[np.ndarray, "N D"]):\n'
        "    a = w * v\n    return a / v\n"
    )
    forward, generated, code = build(source, "f", ["w", "v"])
    w = np.arange(1, 7).reshape(2, 3)
    out, _ = generated.f_forward(w, w + 1)
    assert out.dtype == forward.f(w, w + 1).dtype and np.allclose(out, w), code


@pytest.mark.parametrize(
    "body,point,want",
    [
        ("del x\n    x = y * 3.0\n    return x", (0.7, 1.3), (0.0, 3.0)),
        (
            "b = x * y\n    del x\n    x = b - y\n    return y * b",
            (0.7, 1.3),
            (1.69, 1.82),
        ),
        (
            "b = x * y\n    del x\n    x = g(b)\n    return y * b + x",
            (0.7, 1.3),
            (4.29, 3.22),
        ),
    ],
)
def test_a_deleted_parameter_bound_again_is_a_new_value(body, point, want):
    source = f"def g(a):\n    return a * 2.0\n\n\ndef f(x, y):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x", "y"])
    value, grads = generated.f_value_and_grad(*point)
    assert np.isclose(value, forward.f(*point)), code
    assert np.allclose(grads, want), code  # by hand: d/dx, d/dy of the body
