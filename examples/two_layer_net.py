"""The lectures' two-layer net f = W2 max(0, W1 x + b1) + b2 (rows of X are the
inputs) with the softmax loss and L2 regularisation lambda R(W1) + lambda R(W2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def two_layer_net(
    X: Float[np.ndarray, "N D"],
    y: Int[np.ndarray, "N"],
    W1: Float[np.ndarray, "D H"],
    b1: Float[np.ndarray, "H"],
    W2: Float[np.ndarray, "H C"],
    b2: Float[np.ndarray, "C"],
    reg: float,
):
    N = X.shape[0]
    h = np.maximum(0, X @ W1 + b1)
    scores = h @ W2 + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.sum(log_probs[np.arange(N), y]) / N
    loss = data_loss + reg * np.sum(W1 * W1) + reg * np.sum(W2 * W2)
    return loss
