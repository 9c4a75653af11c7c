"""The lectures' convolutional layer (cs231n conv_forward): F filters of size
C x HH x WW slide over the zero-padded input with stride S; each output is
the dot product of a filter with one window, plus the filter's bias. The
output is H' x W' with H' = (H - HH + 2P) / S + 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from jaxtyping import Float


def conv(
    x: Float[np.ndarray, "N C H W"],
    w: Float[np.ndarray, "F C HH WW"],
    b: Float[np.ndarray, "F"],
    stride: int = 1,
    pad: int = 1,
):
    HH = w.shape[2]
    WW = w.shape[3]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, (HH, WW), axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.einsum("nchwij,fcij->nfhw", windows, w) + b[None, :, None, None]
    return out
