"""The NumPy examples: every gradient against central differences
(rel_error < 1e-7 in float64), and the closed forms the lectures give."""

from __future__ import annotations

import numpy as np
import pytest

from codegen import generate
from codegen.checks.verify import module_from_source, verify_file
from conftest import ROOT, example_shapes

EXAMPLES = [
    "affine",
    "relu",
    "softmax_loss",
    "svm_loss",
    "two_layer_net",
    "logistic_regression",
    "layer_norm",
    "attention",
]


def _generated(name: str, wrt=None):
    path = ROOT / "examples" / f"{name}.py"
    return module_from_source(generate(path.read_text(), str(path), name, wrt), name)


@pytest.mark.parametrize("name", EXAMPLES)
@pytest.mark.parametrize("seed", [0, 1])
def test_example_gradients_match_central_differences(name, seed):
    path = ROOT / "examples" / f"{name}.py"
    report = verify_file(path, name, shapes=example_shapes(name), seed=seed)
    assert report.ok, report.summary()
    worst = max(p.rel_error for p in report.params)
    assert worst < 1e-7, report.summary()


def test_softmax_gradient_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4)) * 3
    y = rng.integers(0, 4, size=5)
    loss, grad = _generated("softmax_loss").softmax_loss_value_and_grad(x, y)
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    onehot = np.eye(4)[y]
    assert np.isclose(loss, -np.mean(np.log(p[np.arange(5), y])))
    assert np.allclose(grad, (p - onehot) / 5, atol=1e-15, rtol=1e-12)


def test_affine_gradients_are_cs231n_formulas_and_keep_input_shape():
    rng = np.random.default_rng(0)
    x, w, b = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((12, 5)),
        rng.standard_normal(5),
    )
    mod = _generated("affine")
    with pytest.raises(
        ValueError, match=r"b has shape \(5,\), .* 'M' \(with D=12, M=4\)"
    ):
        mod.affine_forward(x, w[:, :4], b)  # the annotations: w is (D, M), b (M,)
    out, cache = mod.affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    dx, dw, db = mod.affine_backward(dout, cache)
    assert np.allclose(dx, (dout @ w.T).reshape(x.shape))
    assert np.allclose(dw, x.reshape(2, -1).T @ dout)
    assert np.allclose(db, dout.sum(axis=0))


def test_svm_gradient_matches_the_cs231n_vectorised_formula():
    rng = np.random.default_rng(1)
    N, D, C = 6, 5, 4
    W, X, y, reg = (
        rng.standard_normal((D, C)),
        rng.standard_normal((N, D)),
        rng.integers(0, C, N),
        0.1,
    )
    loss, dW = _generated("svm_loss", ["W"]).svm_loss_value_and_grad(W, X, y, reg)
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(N), y][:, None] + 1)
    margins[np.arange(N), y] = 0
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    assert np.isclose(loss, margins.sum() / N + reg * np.sum(W * W))
    assert np.allclose(dW, X.T @ mask / N + 2 * reg * W)


def test_relu_routes_like_the_max_gate():
    mod = _generated("relu")
    x = np.array([[-1.0, 2.0], [3.0, -4.0]])
    _, cache = mod.relu_forward(x)
    assert np.array_equal(mod.relu_backward(np.ones_like(x), cache), x > 0)


def test_example_kernels_work_for_other_batch_sizes():
    mod = _generated("two_layer_net", ["W1", "b1", "W2", "b2"])
    rng = np.random.default_rng(2)
    for N in (1, 7):
        X, y = rng.standard_normal((N, 6)), rng.integers(0, 3, N)
        W1, b1 = rng.standard_normal((6, 5)), rng.standard_normal(5)
        W2, b2 = rng.standard_normal((5, 3)), rng.standard_normal(3)
        loss, (dW1, db1, dW2, db2) = mod.two_layer_net_value_and_grad(
            X, y, W1, b1, W2, b2, 0.1
        )
        assert dW1.shape == W1.shape and db1.shape == b1.shape and db2.shape == b2.shape
