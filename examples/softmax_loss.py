"""Softmax cross-entropy over class scores, written stably with the max shift:
L = -1/N sum_i log softmax(x_i)[y_i]. Its gradient is (softmax(x) - onehot(y)) / N."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def softmax_loss(x: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    return loss
