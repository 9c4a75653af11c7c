"""The affine (fully connected) layer of cs231n: out = x w + b, with each input
x[i] of shape (d_1, ..., d_k) flattened to a row of D = d_1 * ... * d_k."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def affine(
    x: Float[np.ndarray, "N ..."],
    w: Float[np.ndarray, "D M"],
    b: Float[np.ndarray, "M"],
):
    N = x.shape[0]
    out = x.reshape(N, -1) @ w + b
    return out
