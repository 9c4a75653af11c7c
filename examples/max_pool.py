"""The lectures' 2x2 max-pooling with stride 2 (non-overlapping windows):
each output is the largest entry of its window. The backward routes the
gradient to that entry; when several entries of a window tie for the
maximum, they share it equally. H and W must be even."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def max_pool(x: Float[np.ndarray, "N C H W"]):
    N, C, H, W = x.shape
    out = x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))
    return out
