"""3x3 convolution (16x3x32x32 input, 16 filters, stride 1, pad 1), ReLU,
2x2 max-pool, sum of squares, float64.

Every system computes the gradients of x, w and b (a conv layer's backward).
The careful hand-written code: im2col through a strided view, one matrix
product each way, col2im by nine shifted adds, ReLU in place, the max-pool as
the elementwise maximum of the four window corners and its backward routing
the gradient to the corners that hold the maximum. The earlier reference
(second row) pools by a reshape and ``max(axis=(2, 4))`` and routes through a
full ``windows == pooled`` mask times the ReLU mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmarks.systems import Reference, Workload

PARAMS = ("x", "w", "b")


def make_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, C, H, F = (2, 2, 4, 3) if tiny else (16, 3, 32, 16)
    x = rng.standard_normal((N, C, H, H))
    w = rng.standard_normal((F, C, 3, 3)) * np.sqrt(2.0 / (C * 9))
    b = rng.standard_normal(F) * 0.1
    return x, w, b


def reshape_max_forward(x: Any, w: Any, b: Any) -> Any:
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


def reshape_max_backward(grad_loss: float, cache: Any) -> Any:
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


def hand_forward(x: Any, w: Any, b: Any) -> Any:
    N, C, H, W = x.shape
    F = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = sliding_window_view(xp, (3, 3), axis=(2, 3))
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(N * H * W, C * 9)
    out = cols @ w.reshape(F, C * 9).T  # (N*H*W, F), i.e. NHWC
    out += b
    relu = np.maximum(out, 0, out=out)
    r = relu.reshape(N, H // 2, 2, W // 2, 2, F)
    pooled = np.maximum(r[:, :, 0, :, 0], r[:, :, 0, :, 1])  # the four window corners
    np.maximum(pooled, r[:, :, 1, :, 0], out=pooled)
    np.maximum(pooled, r[:, :, 1, :, 1], out=pooled)
    loss = np.vdot(pooled, pooled)
    return loss, (x.shape, w, cols, r, pooled)


def hand_backward(grad_loss: float, cache: Any) -> Any:
    (N, C, H, W), w, cols, r, pooled = cache
    F = w.shape[0]
    dpooled = (2 * grad_loss) * pooled
    dr = np.empty(r.shape)
    for i in (0, 1):  # route to the corners holding the maximum
        for j in (0, 1):
            np.multiply(r[:, :, i, :, j] == pooled, dpooled, out=dr[:, :, i, :, j])
    # no ReLU mask needed: a corner equal to a positive maximum had out > 0,
    # and where the maximum is 0 its gradient 2 * pooled is 0
    dout = dr.reshape(N * H * W, F)
    db = dout.sum(axis=0)
    dw = (dout.T @ cols).reshape(w.shape)
    dcols = (dout @ w.reshape(F, C * 9)).reshape(N, H, W, C, 3, 3)
    dxp = np.zeros((N, C, H + 2, W + 2))
    for i in range(3):
        for j in range(3):
            dxp[:, :, i : i + H, j : j + W] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, 1:-1, 1:-1], dw, db


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
    hand_forward=hand_forward,
    hand_backward=hand_backward,
    hand_note="careful: im2col GEMM, ReLU in place, pool by the max of the 4 window corners, "
    "backward routed to the corners",
    others=(Reference("earlier reference: reshape-max pool", forward=reshape_max_forward,
                      backward=reshape_max_backward,
                      note="pool by reshape and max(axis=(2, 4)); backward through a full "
                      "windows == pooled mask and the ReLU mask"),),
    torch_loss=torch_loss,
    port="benchmarks/ports/conv_relu_pool.py",
    shapes="x (16, 3, 32, 32), w (16, 3, 3, 3), b (16,), float64; grads of x, w, b",
    notes=("PyTorch uses conv2d and max_pool2d (oneDNN kernels).",),
)
