"""One causal attention head: softmax(Q K^T / sqrt(d) + mask) V, where the
additive mask is 0 where a query may attend and -1e9 where it may not (the
future), the softmax taken stably over each row."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def masked_attention(
    Q: Float[np.ndarray, "T d"],
    K: Float[np.ndarray, "T d"],
    V: Float[np.ndarray, "T d"],
    mask: Float[np.ndarray, "T T"],
):
    d = Q.shape[1]
    scores = Q @ K.T / np.sqrt(d) + mask
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    e = np.exp(shifted)
    A = e / np.sum(e, axis=1, keepdims=True)
    out = A @ V
    return out
