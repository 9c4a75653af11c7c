"""3x3 convolution (stride 1, pad 1), ReLU, 2x2 max-pool, sum of squares, in
plain NumPy: what HIPS autograd and JAX differentiate until
examples/conv_relu_pool.py exists (same math). The convolution is nine
shifted tensor products; only ops both libraries differentiate are used."""

import numpy as np


def conv_relu_pool(x, w, b):
    N, _, H, W = x.shape
    F = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), "constant")
    out = b  # (F,), broadcast against (N, H, W, F)
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, i : i + H, j : j + W]
            out = out + np.tensordot(patch, w[:, :, i, j], axes=([1], [1]))
    relu = np.maximum(0, out)  # (N, H, W, F)
    pooled = np.max(relu.reshape(N, H // 2, 2, W // 2, 2, F), axis=(2, 4))
    return np.sum(pooled * pooled)
