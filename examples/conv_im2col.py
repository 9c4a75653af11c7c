"""The convolutional layer as im2col: every window becomes a row of a matrix
(reshape and transpose of the window view), the convolution one matrix
product with the filters as columns, and the rows fold back to N x F x H' x W'."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from jaxtyping import Float


def conv_im2col(
    x: Float[np.ndarray, "N C H W"],
    w: Float[np.ndarray, "F C HH WW"],
    b: Float[np.ndarray, "F"],
    stride: int = 1,
    pad: int = 1,
):
    N, C, H, W = x.shape
    F = w.shape[0]
    HH = w.shape[2]
    WW = w.shape[3]
    H_out = (H - HH + 2 * pad) // stride + 1
    W_out = (W - WW + 2 * pad) // stride + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * H_out * W_out, C * HH * WW)
    rows = cols @ w.reshape(F, -1).T + b  # (N * H' * W', F)
    out = rows.reshape(N, H_out, W_out, F).transpose(0, 3, 1, 2)
    return out
