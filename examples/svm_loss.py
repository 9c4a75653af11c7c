"""The lectures' multiclass SVM loss with L2 regularisation:
L = 1/N sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg * sum(W * W),
with the scores s = X W (cs231n's vectorized form)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def svm_loss(
    W: Float[np.ndarray, "D C"],
    X: Float[np.ndarray, "N D"],
    y: Int[np.ndarray, "N"],
    reg: float,
):
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y]
    margins = np.maximum(0, scores - correct[:, None] + 1)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N + reg * np.sum(W * W)
    return loss
