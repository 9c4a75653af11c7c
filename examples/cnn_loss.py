"""A small CNN under the softmax loss: conv (3x3 filters, stride 1, pad 1)
- ReLU - 2x2 max-pool - affine - softmax, with L2 regularisation
reg * (R(W1) + R(W2)). W2 has D = F * (H / 2) * (W / 2) rows; H and W must
be even. The generated cnn_loss_value_and_grad is a training step's kernel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def cnn_loss(
    X: Float[np.ndarray, "N C H W"],
    y: Int[np.ndarray, "N"],
    W1: Float[np.ndarray, "F C 3 3"],
    b1: Float[np.ndarray, "F"],
    W2: Float[np.ndarray, "D K"],
    b2: Float[np.ndarray, "K"],
    reg: float,
):
    N, _, H, W = X.shape
    F = W1.shape[0]
    xp = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(xp, (3, 3), axis=(2, 3))
    conv = np.einsum("nchwij,fcij->nfhw", windows, W1) + b1[None, :, None, None]
    relu = np.maximum(conv, 0)
    pooled = relu.reshape(N, F, H // 2, 2, W // 2, 2).max(axis=(3, 5))
    scores = pooled.reshape(N, -1) @ W2 + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.sum(log_probs[np.arange(N), y]) / N
    loss = data_loss + reg * np.sum(W1 * W1) + reg * np.sum(W2 * W2)
    return loss
