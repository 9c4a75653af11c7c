"""Two-layer MLP: affine - ReLU - affine - softmax cross-entropy, plus L2.

Three workloads: (N=64, D=3072, H=512, C=10) in float64 and
(N=256, D=784, H=1024, C=10) in float32 and float64. Every system computes the
gradients of W1, b1, W2 and b2 (a training step's; not X, y or reg).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.systems import Reference, Workload

PARAMS = ("X", "y", "W1", "b1", "W2", "b2", "reg")
WRT = ("W1", "b1", "W2", "b2")
TINY = (4, 7, 5, 3)


def args_maker(n: int, d: int, h: int, c: int, dtype: type) -> Any:
    def make_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
        N, D, H, C = TINY if tiny else (n, d, h, c)
        X = rng.standard_normal((N, D))
        y = rng.integers(0, C, N)
        W1 = rng.standard_normal((D, H)) * np.sqrt(2.0 / D)
        b1 = rng.standard_normal(H) * 0.1
        W2 = rng.standard_normal((H, C)) * np.sqrt(1.0 / H)
        b2 = rng.standard_normal(C) * 0.1
        cast = [a.astype(dtype) for a in (X, W1, b1, W2, b2)]
        return cast[0], y, cast[1], cast[2], cast[3], cast[4], 0.05

    return make_args


def plain_forward(X: Any, y: Any, W1: Any, b1: Any, W2: Any, b2: Any, reg: float) -> Any:
    N = X.shape[0]
    pre = X @ W1 + b1
    h = np.maximum(0, pre)
    scores = h @ W2 + b2
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    sum_exp = exp.sum(axis=1, keepdims=True)
    log_probs = shifted - np.log(sum_exp)
    loss = -log_probs[np.arange(N), y].sum() / N + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return loss, (X, y, W1, W2, reg, pre, h, exp, sum_exp)


def plain_backward(grad_loss: float, cache: Any) -> Any:
    X, y, W1, W2, reg, pre, h, exp, sum_exp = cache
    N = X.shape[0]
    dscores = exp / sum_exp  # the softmax probabilities
    dscores[np.arange(N), y] -= 1
    dscores *= grad_loss / N
    dW2 = h.T @ dscores + (2 * reg * grad_loss) * W2
    db2 = dscores.sum(axis=0)
    dh = dscores @ W2.T
    dh *= pre > 0
    dW1 = X.T @ dh + (2 * reg * grad_loss) * W1
    db1 = dh.sum(axis=0)
    return dW1, db1, dW2, db2


def hand_forward(X: Any, y: Any, W1: Any, b1: Any, W2: Any, b2: Any, reg: float) -> Any:
    """Careful: the L2 term by np.vdot, ReLU in place, the log-probabilities
    only at the correct classes."""
    N = X.shape[0]
    pre = X @ W1
    pre += b1
    h = np.maximum(pre, 0)
    scores = h @ W2
    scores += b2
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    sum_exp = exp.sum(axis=1, keepdims=True)
    rows = np.arange(N)
    data = (np.log(sum_exp).sum() - scores[rows, y].sum()) / N
    loss = data + reg * (np.vdot(W1, W1) + np.vdot(W2, W2))
    return loss, (X, y, W1, W2, reg, h, exp, sum_exp, rows)


def hand_backward(grad_loss: float, cache: Any) -> Any:
    X, y, W1, W2, reg, h, exp, sum_exp, rows = cache
    N = X.shape[0]
    dscores = exp / sum_exp  # the softmax probabilities
    dscores[rows, y] -= 1
    dscores *= grad_loss / N
    decay = 2 * reg * grad_loss
    dW2 = h.T @ dscores
    dW2 += decay * W2
    db2 = dscores.sum(axis=0)
    dh = dscores @ W2.T
    dh *= h > 0
    dW1 = X.T @ dh
    dW1 += decay * W1
    db1 = dh.sum(axis=0)
    return dW1, db1, dW2, db2


def torch_loss(torch: Any, X: Any, y: Any, W1: Any, b1: Any, W2: Any, b2: Any, reg: float) -> Any:
    h = torch.relu(X @ W1 + b1)
    scores = h @ W2 + b2
    data = torch.nn.functional.cross_entropy(scores, y)
    return data + reg * ((W1 * W1).sum() + (W2 * W2).sum())


def _workload(n: int, d: int, h: int, c: int, dtype: type) -> Workload:
    bits = np.dtype(dtype).itemsize * 8
    f32 = dtype == np.float32
    return Workload(
        name=f"mlp-{n}x{d}x{h}-f{bits}",
        title=f"Two-layer MLP, N={n} D={d} H={h} C={c}, float{bits}",
        example="examples/two_layer_net.py",
        func="two_layer_net",
        params=PARAMS,
        wrt=WRT,
        make_args=args_maker(n, d, h, c, dtype),
        hand_forward=hand_forward,
        hand_backward=hand_backward,
        hand_note="careful: L2 by np.vdot, gradients accumulated in place, "
        "log-probabilities only at the labels",
        others=(Reference("earlier reference", forward=plain_forward, backward=plain_backward,
                          note="np.sum(W * W), full log-probability matrix, "
                          "out-of-place L2 gradient"),),
        torch_loss=torch_loss,
        port="benchmarks/ports/two_layer_net.py",
        shapes=f"X ({n}, {d}), W1 ({d}, {h}), W2 ({h}, {c}), float{bits}; grads of W1, b1, W2, b2",
        rtol=1e-4 if f32 else 1e-7,
        atol_rel=1e-5 if f32 else 1e-9,
        notes=("PyTorch uses torch.nn.functional.cross_entropy (the same math, fused).",),
    )


MLP_A = _workload(64, 3072, 512, 10, np.float64)
MLP_B64 = _workload(256, 784, 1024, 10, np.float64)
MLP_B32 = _workload(256, 784, 1024, 10, np.float32)
