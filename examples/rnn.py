"""A vanilla RNN over T = 4 time steps, written with a Python loop the way
cs231n's rnn_forward calls rnn_step_forward: codegen unrolls the loop (its
count is a module constant), and each block of the flat backward names the
time step it belongs to (``# h = np.tanh(...) # t = 2``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

T = 4


def rnn(
    x: Float[np.ndarray, "N T D"],
    h0: Float[np.ndarray, "N H"],
    Wx: Float[np.ndarray, "D H"],
    Wh: Float[np.ndarray, "H H"],
    b: Float[np.ndarray, "H"],
):
    h = h0
    for t in range(T):
        h = np.tanh(x[:, t, :] @ Wx + h @ Wh + b)
    return h
