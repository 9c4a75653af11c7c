"""cs231n's temporal affine layer: the same affine map applied at every time
step, out[n, t] = x[n, t] @ w + b, written as one batched matrix product."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def temporal_affine(
    x: Float[np.ndarray, "N T D"],
    w: Float[np.ndarray, "D M"],
    b: Float[np.ndarray, "M"],
):
    out = x @ w + b
    return out
