"""Layer normalisation over the features of each row, with gain and bias."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def layer_norm(
    x: Float[np.ndarray, "N D"],
    gamma: Float[np.ndarray, "D"],
    beta: Float[np.ndarray, "D"],
):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    out = gamma * xhat + beta
    return out
