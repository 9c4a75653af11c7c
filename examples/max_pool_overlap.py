"""Overlapping max-pooling (AlexNet's 3x3 windows at stride 2) over a sliding
window view: H' = (H - 3) / 2 + 1. Entries shared by two windows collect the
gradient of both; tied maxima of one window share its gradient equally."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from jaxtyping import Float


def max_pool_overlap(x: Float[np.ndarray, "N C H W"], size: int = 3, stride: int = 2):
    windows = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    out = windows.max(axis=(-2, -1))
    return out
