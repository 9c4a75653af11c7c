"""Batch normalisation in training mode (cs231n's batchnorm_forward): each
feature normalised by the batch mean and variance, then scaled and shifted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def batchnorm(
    x: Float[np.ndarray, "N D"],
    gamma: Float[np.ndarray, "D"],
    beta: Float[np.ndarray, "D"],
):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    out = gamma * xhat + beta
    return out
