"""2x2 average pooling with stride 2: each output is the mean of its window,
so each input of the window gets a quarter of the output's gradient. H and W
must be even."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def avg_pool(x: Float[np.ndarray, "N C H W"]):
    N, C, H, W = x.shape
    out = x.reshape(N, C, H // 2, 2, W // 2, 2).mean(axis=(3, 5))
    return out
