"""A conv-relu-pool block (3x3 filters, stride 1, pad 1, ReLU, 2x2 max-pool)
under a sum-of-squares loss: the workload of benchmarks/bench_conv.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from jaxtyping import Float


def conv_relu_pool(
    x: Float[np.ndarray, "N C H W"],
    w: Float[np.ndarray, "F C HH WW"],
    b: Float[np.ndarray, "F"],
):
    N, _, H, W = x.shape
    F = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))
    conv = np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
    relu = np.maximum(conv, 0)
    pooled = relu.reshape(N, F, H // 2, 2, W // 2, 2).max(axis=(3, 5))
    loss = np.sum(pooled * pooled)
    return loss
