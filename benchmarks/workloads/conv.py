"""3x3 convolution (16x3x32x32 input, 16 filters, stride 1, pad 1), ReLU,
2x2 max-pool, sum of squares, float64.

Every system computes the gradients of x, w and b (a conv layer's backward).
The hand-written code is the usual fast NumPy: im2col through a strided
view, one matrix product each way, col2im by nine shifted adds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.systems import Workload

PARAMS = ("x", "w", "b")


def make_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, C, H, F = (2, 2, 4, 3) if tiny else (16, 3, 32, 16)
    x = rng.standard_normal((N, C, H, H))
    w = rng.standard_normal((F, C, 3, 3)) * np.sqrt(2.0 / (C * 9))
    b = rng.standard_normal(F) * 0.1
    return x, w, b


def hand_forward(x: Any, w: Any, b: Any) -> Any:
    N, C, H, W = x.shape
    F = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    # (N, C, H, W, 3, 3) view -> rows (n, h, w), columns (c, i, j)
    cols = sliding_window_view(xp, (3, 3), axis=(2, 3))
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(N * H * W, C * 9)
    out = cols @ w.reshape(F, C * 9).T + b  # (N*H*W, F), i.e. NHWC
    relu = np.maximum(out, 0)
    windows = relu.reshape(N, H // 2, 2, W // 2, 2, F)
    pooled = windows.max(axis=(2, 4))
    loss = np.sum(pooled * pooled)
    return loss, (x.shape, w, cols, out, windows, pooled)


def hand_backward(grad_loss: float, cache: Any) -> Any:
    (N, C, H, W), w, cols, out, windows, pooled = cache
    F = w.shape[0]
    dpooled = (2 * grad_loss) * pooled
    # route to the window's maximum (ties only where the max is 0: dpooled is 0)
    mask = windows == pooled[:, :, None, :, None, :]
    dout = (mask * dpooled[:, :, None, :, None, :]).reshape(N * H * W, F)
    dout *= out > 0
    db = dout.sum(axis=0)
    dw = (dout.T @ cols).reshape(w.shape)
    dcols = (dout @ w.reshape(F, C * 9)).reshape(N, H, W, C, 3, 3)
    dxp = np.zeros((N, C, H + 2, W + 2))
    for i in range(3):
        for j in range(3):
            dxp[:, :, i : i + H, j : j + W] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1], dw, db


def hand_value_and_grad(x: Any, w: Any, b: Any) -> Any:
    loss, cache = hand_forward(x, w, b)
    return loss, hand_backward(1.0, cache)


def torch_loss(torch: Any, x: Any, w: Any, b: Any) -> Any:
    F = torch.nn.functional
    pooled = F.max_pool2d(torch.relu(F.conv2d(x, w, b, padding=1)), 2)
    return (pooled * pooled).sum()


WORKLOAD = Workload(
    name="conv-16x3x32x32",
    title="Conv 3x3 - ReLU - 2x2 max-pool - sum of squares, 16x3x32x32, 16 filters, float64",
    example="examples/conv_relu_pool.py",
    func="conv_relu_pool",
    params=PARAMS,
    wrt=PARAMS,
    make_args=make_args,
    hand_value_and_grad=hand_value_and_grad,
    hand_forward=hand_forward,
    hand_backward=hand_backward,
    torch_loss=torch_loss,
    port="benchmarks/ports/conv_relu_pool.py",
    shapes="x (16, 3, 32, 32), w (16, 3, 3, 3), b (16,), float64; grads of x, w, b",
    notes=("PyTorch uses conv2d and max_pool2d (oneDNN kernels).",),
)
