"""Logistic regression with the binary cross-entropy; probabilities are clipped
to [eps, 1 - eps] before the log, as numerically careful code does."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

EPS = 1e-12


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def logistic_regression(
    w: Float[np.ndarray, "D"],
    b: float,
    X: Float[np.ndarray, "N D"],
    y: Float[np.ndarray, "N"],
):
    p = np.clip(sigmoid(X @ w + b), EPS, 1 - EPS)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss
