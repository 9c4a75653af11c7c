"""The convolutional layer with stride 2 and no padding, written with
np.tensordot instead of np.einsum: H' = (H - HH) / 2 + 1, which must be an
integer (a 7x7 input takes 3x3 filters at stride 2; a 6x6 input doesn't)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def conv_stride2(
    x: Float[np.ndarray, "N C H W"],
    w: Float[np.ndarray, "F C HH WW"],
    b: Float[np.ndarray, "F"],
    stride: int = 2,
):
    HH = w.shape[2]
    WW = w.shape[3]
    view = np.lib.stride_tricks.sliding_window_view(x, (HH, WW), axis=(2, 3))
    windows = view[:, :, ::stride, ::stride]  # every stride-th window
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))  # (N, H', W', F)
    out = out.transpose(0, 3, 1, 2) + b[None, :, None, None]
    return out
