"""One step of an LSTM, written the way cs231n's lstm_step_forward is: the
four gates sliced out of one affine map, and two outputs, the next hidden and
cell states. Its backward is called as lstm_step_backward(dnext_h, dnext_c,
cache)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step(
    x: Float[np.ndarray, "N D"],
    prev_h: Float[np.ndarray, "N H"],
    prev_c: Float[np.ndarray, "N H"],
    Wx: Float[np.ndarray, "D G"],
    Wh: Float[np.ndarray, "H G"],
    b: Float[np.ndarray, "G"],
):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H : 2 * H])
    o = sigmoid(a[:, 2 * H : 3 * H])
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c
