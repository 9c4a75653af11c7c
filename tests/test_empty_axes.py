"""Edges the autograd-suite probe found: reductions, repeats and differences
over empty axes (an empty batch) give gradients shaped as x, never an error;
NumPy 2's named outputs (``np.linalg.svd(x).S``); and a gradient that passes
g through a float cast is the caller's own array, not the upstream one.
Checked against central differences, or, for empty arrays, against the
shape and the zeros there are."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import build
from references import central


@pytest.mark.parametrize(
    "call,shape",
    [
        ("np.mean(x, axis=1)", (0, 3)),
        ("np.var(x, axis=1)", (0, 3)),
        ("np.std(x, axis=1, ddof=1)", (0, 3)),
        ("np.mean(x, axis=0)", (0, 3)),
        ("np.repeat(x, 2, axis=0)", (3, 0)),
        ("np.repeat(x, 2, axis=-1)", (0, 3)),
        ("np.repeat(x, 2)", (0, 3)),
        ("np.diff(x, axis=0)", (0, 3)),
        ("np.diff(x, n=3, axis=1)", (2, 2)),
        ("np.diff(x, n=2)", (2, 2)),
    ],
)
def test_an_empty_result_gives_a_gradient_shaped_as_x(call, shape):
    source = f"import numpy as np\n\n\ndef f(x):\n    return {call}\n"
    forward, generated, code = build(source, "f", ["x"])
    x = np.ones(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = forward.f(x)
        value, grad = generated.f_value_and_grad(x)
        out, cache = generated.f_forward(x)
        back = generated.f_backward(np.ones(np.shape(want)), cache)
    assert np.shape(value) == np.shape(want), code
    for g in (grad, back):
        assert np.shape(g) == shape and not np.any(g), code  # nothing reaches x


@pytest.mark.parametrize(
    "body",
    [
        "a = x @ x.T + np.eye(3)\n    return np.linalg.slogdet(a).logabsdet",
        "r = np.linalg.svd(x)\n    return np.sum(r.S ** 2)",
        "a = x + x.T\n    e = np.linalg.eigh(a)\n    return np.sum(e.eigenvalues * np.arange(3.0))",
        "a = x + x.T\n    return np.sum(np.linalg.eigh(a).eigenvectors[:, -1] ** 4)",
    ],
)
def test_numpy_2_named_outputs(body):
    source = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x"])
    x = np.random.default_rng(0).standard_normal((3, 3))
    value, grad = generated.f_value_and_grad(x)
    assert np.allclose(value, forward.f(x)), code
    ref = central(lambda x: np.sum(forward.f(x)), {"x": x}, "x")
    assert np.allclose(grad, ref, atol=1e-5), code


@pytest.mark.parametrize(
    "cast", ["x.astype(float)", "x.astype(np.float32)", "np.float64(x)"]
)
def test_a_gradient_through_a_float_cast_is_a_new_array(cast):
    source = f"import numpy as np\n\n\ndef f(x):\n    return {cast}\n"
    _, generated, code = build(source, "f", ["x"])
    x = np.ones(3)
    out, cache = generated.f_forward(x)
    dout = np.full(3, 2.0, dtype=np.result_type(out))
    grad = generated.f_backward(dout, cache)
    assert not np.shares_memory(grad, dout) and np.array_equal(grad, dout), code
