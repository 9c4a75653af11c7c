"""The practitioner layers: batch norm (train mode), layer norm, an LSTM step,
temporal affine, causal attention and softmax cross-entropy, float64.

Each layer is timed as it is used in a network: its forward, then its
backward of a fixed random upstream gradient (one per output); softmax
cross-entropy is a loss and is seeded with 1. Each careful hand-written
reference is written the way a careful person writes it in NumPy (the
simplified closed-form backward, in-place updates, one GEMM per product);
what it is is said in its row's note.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.systems import Reference, Workload

EPS = 1e-5


# ----- batch normalisation, training mode (cs231n's batchnorm_forward) -----


def batchnorm_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, D = (5, 4) if tiny else (512, 1024)
    x = 3 * rng.standard_normal((N, D)) + 1
    return x, 1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D)


def batchnorm_forward(x: Any, gamma: Any, beta: Any) -> Any:
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.einsum("ij,ij->j", xc, xc) / x.shape[0]
    istd = 1 / np.sqrt(var + EPS)
    xhat = xc
    xhat *= istd
    out = xhat * gamma
    out += beta
    return out, (xhat, gamma, istd)


def batchnorm_backward(dout: Any, cache: Any) -> Any:
    """The closed form: dx = gamma istd / N (N dout - sum dout - xhat sum(dout xhat))."""
    xhat, gamma, istd = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("ij,ij->j", dout, xhat)
    dx = xhat * dgamma
    np.subtract(N * dout, dx, out=dx)
    dx -= dbeta
    dx *= gamma * istd / N
    return dx, dgamma, dbeta


def batchnorm_staged_forward(x: Any, gamma: Any, beta: Any) -> Any:
    N = x.shape[0]
    mu = np.sum(x, axis=0) / N
    xmu = x - mu
    sq = xmu**2
    var = np.sum(sq, axis=0) / N
    sqrtvar = np.sqrt(var + EPS)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    out = gamma * xhat + beta
    return out, (xhat, gamma, xmu, ivar, sqrtvar, var)


def batchnorm_staged_backward(dout: Any, cache: Any) -> Any:
    """The computational graph walked back node by node (the lecture's staged version)."""
    xhat, gamma, xmu, ivar, sqrtvar, var = cache
    N = dout.shape[0]
    dbeta = np.sum(dout, axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    divar = np.sum(dxhat * xmu, axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -1 / sqrtvar**2 * divar
    dvar = 0.5 / np.sqrt(var + EPS) * dsqrtvar
    dsq = np.ones_like(dout) / N * dvar
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -np.sum(dx1, axis=0)
    dx2 = np.ones_like(dout) / N * dmu
    return dx1 + dx2, dgamma, dbeta


BATCHNORM = Workload(
    name="batchnorm-512x1024",
    title="Batch normalisation (training mode), N=512 D=1024, float64",
    example="benchmarks/forwards/batchnorm.py",
    func="batchnorm",
    params=("x", "gamma", "beta"),
    wrt=("x", "gamma", "beta"),
    make_args=batchnorm_args,
    hand_forward=batchnorm_forward,
    hand_backward=batchnorm_backward,
    hand_note="careful: closed-form backward, dx = gamma istd / N (N dout - dbeta - "
    "xhat dgamma), in place; einsum column sums",
    others=(Reference("staged backward", forward=batchnorm_staged_forward,
                      backward=batchnorm_staged_backward,
                      note="the computational graph walked back node by node"),),
    layer=True,
    shapes="x (512, 1024), gamma, beta (1024,), float64; upstream random; grads of x, gamma, beta",
)


# ----- layer normalisation (examples/layer_norm.py) -----


def layernorm_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, D = (5, 4) if tiny else (512, 1024)
    x = 3 * rng.standard_normal((N, D)) + 1
    return x, 1 + 0.1 * rng.standard_normal(D), 0.1 * rng.standard_normal(D)


def layernorm_forward(x: Any, gamma: Any, beta: Any) -> Any:
    mu = x.mean(axis=1, keepdims=True)
    xc = x - mu
    var = np.einsum("ij,ij->i", xc, xc)[:, None] / x.shape[1]
    istd = 1 / np.sqrt(var + EPS)
    xhat = xc
    xhat *= istd
    out = xhat * gamma
    out += beta
    return out, (xhat, gamma, istd)


def layernorm_backward(dout: Any, cache: Any) -> Any:
    """dx = istd (dxhat - mean(dxhat) - xhat mean(dxhat xhat)), per row."""
    xhat, gamma, istd = cache
    D = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = np.einsum("ij,ij->j", dout, xhat)
    dxhat = dout * gamma
    proj = np.einsum("ij,ij->i", dxhat, xhat)[:, None] / D
    dx = xhat * proj
    np.subtract(dxhat, dx, out=dx)
    dx -= dxhat.mean(axis=1, keepdims=True)
    dx *= istd
    return dx, dgamma, dbeta


LAYERNORM = Workload(
    name="layernorm-512x1024",
    title="Layer normalisation, N=512 D=1024, float64",
    example="examples/layer_norm.py",
    func="layer_norm",
    params=("x", "gamma", "beta"),
    wrt=("x", "gamma", "beta"),
    make_args=layernorm_args,
    hand_forward=layernorm_forward,
    hand_backward=layernorm_backward,
    hand_note="careful: closed-form backward per row, in place; einsum row sums",
    layer=True,
    shapes="x (512, 1024), gamma, beta (1024,), float64; upstream random; grads of x, gamma, beta",
)


# ----- one LSTM step (examples/lstm_step.py, cs231n's lstm_step_forward) -----


def lstm_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, D, H = (3, 4, 5) if tiny else (64, 512, 512)
    x = rng.standard_normal((N, D))
    prev_h = rng.standard_normal((N, H))
    prev_c = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, 4 * H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, 4 * H)) / np.sqrt(H)
    b = 0.1 * rng.standard_normal(4 * H)
    return x, prev_h, prev_c, Wx, Wh, b


def lstm_forward(x: Any, prev_h: Any, prev_c: Any, Wx: Any, Wh: Any, b: Any) -> Any:
    H = prev_h.shape[1]
    a = x @ Wx
    a += prev_h @ Wh
    a += b
    ifo = 1 / (1 + np.exp(-a[:, : 3 * H]))  # the three sigmoid gates in one pass
    i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
    g = np.tanh(a[:, 3 * H :])
    next_c = f * prev_c
    next_c += i * g
    tc = np.tanh(next_c)
    next_h = o * tc
    return (next_h, next_c), (x, prev_h, prev_c, Wx, Wh, ifo, g, tc)


def lstm_backward(dnext_h: Any, dnext_c: Any, cache: Any) -> Any:
    x, prev_h, prev_c, Wx, Wh, ifo, g, tc = cache
    N, H = dnext_h.shape
    i, f, o = ifo[:, :H], ifo[:, H : 2 * H], ifo[:, 2 * H :]
    dc = o * (1 - tc * tc)
    dc *= dnext_h
    dc += dnext_c
    da = np.empty((N, 4 * H))
    np.multiply(dc, g, out=da[:, :H])  # di
    np.multiply(dc, prev_c, out=da[:, H : 2 * H])  # df
    np.multiply(dnext_h, tc, out=da[:, 2 * H : 3 * H])  # do
    da[:, : 3 * H] *= ifo * (1 - ifo)  # through the three sigmoids at once
    np.multiply(dc, i, out=da[:, 3 * H :])  # dg
    da[:, 3 * H :] *= 1 - g * g
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dprev_c = dc * f
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


LSTM = Workload(
    name="lstm-step-64x512x512",
    title="LSTM step, N=64 D=512 H=512, float64",
    example="examples/lstm_step.py",
    func="lstm_step",
    params=("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    wrt=("x", "prev_h", "prev_c", "Wx", "Wh", "b"),
    make_args=lstm_args,
    hand_forward=lstm_forward,
    hand_backward=lstm_backward,
    hand_note="careful: one sigmoid over the three gates, the gate gradients written into "
    "one (N, 4H) buffer, one GEMM per product",
    outputs=2,
    layer=True,
    shapes="x (64, 512), h, c (64, 512), Wx (512, 2048), Wh (512, 2048), float64; "
    "upstream random for next_h and next_c; every gradient",
)


# ----- temporal affine (cs231n's temporal_affine_forward) -----


def temporal_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, T, D, M = (2, 3, 4, 5) if tiny else (32, 64, 256, 512)
    x = rng.standard_normal((N, T, D))
    w = rng.standard_normal((D, M)) / np.sqrt(D)
    return x, w, 0.1 * rng.standard_normal(M)


def temporal_forward(x: Any, w: Any, b: Any) -> Any:
    N, T, D = x.shape
    out = x.reshape(N * T, D) @ w
    out += b
    return out.reshape(N, T, -1), (x, w)


def temporal_backward(dout: Any, cache: Any) -> Any:
    x, w = cache
    N, T, D = x.shape
    d2 = dout.reshape(N * T, -1)
    dx = (d2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ d2
    db = d2.sum(axis=0)
    return dx, dw, db


TEMPORAL = Workload(
    name="temporal-affine-32x64x256x512",
    title="Temporal affine (N,T,D) @ (D,M) + b, N=32 T=64 D=256 M=512, float64",
    example="benchmarks/forwards/temporal_affine.py",
    func="temporal_affine",
    params=("x", "w", "b"),
    wrt=("x", "w", "b"),
    make_args=temporal_args,
    hand_forward=temporal_forward,
    hand_backward=temporal_backward,
    hand_note="careful: reshaped to (N*T, D) first, one GEMM each way",
    layer=True,
    shapes="x (32, 64, 256), w (256, 512), b (512,), float64; upstream random; grads of x, w, b",
)


# ----- one causal attention head -----


def attention_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    T, d = (5, 3) if tiny else (512, 64)
    Q, K, V = (rng.standard_normal((T, d)) for _ in range(3))
    mask = np.triu(np.full((T, T), -1e9), k=1)  # no attending to later positions
    return Q, K, V, mask


def attention_forward(Q: Any, K: Any, V: Any, mask: Any) -> Any:
    scale = 1 / np.sqrt(Q.shape[1])
    A = Q @ K.T
    A *= scale
    A += mask
    A -= A.max(axis=1, keepdims=True)
    np.exp(A, out=A)
    A /= A.sum(axis=1, keepdims=True)
    return A @ V, (K, Q, V, A, scale)


def attention_backward(dout: Any, cache: Any) -> Any:
    K, Q, V, A, scale = cache
    dV = A.T @ dout
    dS = dout @ V.T
    dS -= np.einsum("ij,ij->i", dS, A)[:, None]  # softmax backward, row by row
    dS *= A
    dS *= scale
    return dS @ K, dS.T @ Q, dV


ATTENTION = Workload(
    name="attention-causal-512x64",
    title="Causal attention head softmax(Q K^T / sqrt(d) + mask) V, T=512 d=64, float64",
    example="benchmarks/forwards/masked_attention.py",
    func="masked_attention",
    params=("Q", "K", "V", "mask"),
    wrt=("Q", "K", "V"),
    make_args=attention_args,
    hand_forward=attention_forward,
    hand_backward=attention_backward,
    hand_note="careful: the score matrix updated in place through the softmax; softmax "
    "backward by one einsum row sum; the max shift carries no gradient",
    layer=True,
    shapes="Q, K, V (512, 64), additive causal mask (512, 512), float64; upstream random; "
    "grads of Q, K, V",
)


# ----- softmax cross-entropy (examples/softmax_loss.py) -----


def softmax_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, C = (6, 4) if tiny else (512, 1000)
    return 3 * rng.standard_normal((N, C)), rng.integers(0, C, N)


def softmax_forward(x: Any, y: Any) -> Any:
    N = x.shape[0]
    rows = np.arange(N)
    shifted = x - x.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.log(s).sum() - shifted[rows, y].sum()) / N
    return loss, (e, s, y, rows)


def softmax_backward(grad_loss: float, cache: Any) -> Any:
    e, s, y, rows = cache
    dx = e / s
    dx[rows, y] -= 1
    dx *= grad_loss / len(rows)
    return dx


SOFTMAX = Workload(
    name="softmax-ce-512x1000",
    title="Softmax cross-entropy, N=512 C=1000, float64",
    example="examples/softmax_loss.py",
    func="softmax_loss",
    params=("x", "y"),
    wrt=("x",),
    make_args=softmax_args,
    hand_forward=softmax_forward,
    hand_backward=softmax_backward,
    hand_note="careful: log-probabilities only at the labels; dx = softmax - onehot, "
    "the max shift carries no gradient",
    shapes="x (512, 1000), y (512,), float64; grad of x",
)
