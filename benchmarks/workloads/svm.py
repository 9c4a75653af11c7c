"""Multiclass SVM loss (cs231n, vectorized): N=500, D=3073, C=10, float64.

Every system computes the gradient of W (not X, y or reg).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks.systems import Reference, Workload

PARAMS = ("W", "X", "y", "reg")


def make_args(rng: np.random.Generator, tiny: bool) -> tuple[Any, ...]:
    N, D, C = (6, 5, 4) if tiny else (500, 3073, 10)
    W = rng.standard_normal((D, C)) * 0.01
    X = rng.standard_normal((N, D))
    y = rng.integers(0, C, N)
    return W, X, y, 0.1


def plain_forward(W: Any, X: Any, y: Any, reg: float) -> Any:
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    return loss, (W, X, y, reg, margins)


def plain_backward(grad_loss: float, cache: Any) -> Any:
    W, X, y, reg, margins = cache
    N = X.shape[0]
    coeff = (margins > 0).astype(X.dtype)
    coeff[np.arange(N), y] = -coeff.sum(axis=1)
    return X.T @ coeff * (grad_loss / N) + (2 * reg * grad_loss) * W


def hand_forward(W: Any, X: Any, y: Any, reg: float) -> Any:
    """Careful: one np.arange, margins in place, the L2 term by np.vdot."""
    N = X.shape[0]
    rows = np.arange(N)
    scores = X @ W
    margins = scores - scores[rows, y][:, np.newaxis]
    margins += 1
    np.maximum(margins, 0, out=margins)
    margins[rows, y] = 0
    loss = margins.sum() / N + reg * np.vdot(W, W)
    return loss, (W, X, y, reg, margins, rows)


def hand_backward(grad_loss: float, cache: Any) -> Any:
    W, X, y, reg, margins, rows = cache
    N = X.shape[0]
    coeff = (margins > 0).astype(X.dtype)
    coeff[rows, y] = -coeff.sum(axis=1)
    dW = X.T @ coeff
    dW *= grad_loss / N
    dW += (2 * reg * grad_loss) * W
    return dW


def torch_loss(torch: Any, W: Any, X: Any, y: Any, reg: float) -> Any:
    N = X.shape[0]
    scores = X @ W
    correct = scores.gather(1, y[:, None])
    margins = torch.clamp(scores - correct + 1, min=0)
    return (margins.sum() - N) / N + reg * (W * W).sum()


WORKLOAD = Workload(
    name="svm-500x3073x10",
    title="SVM loss, N=500 D=3073 C=10, float64",
    example="examples/svm_loss.py",
    func="svm_loss",
    params=PARAMS,
    wrt=("W",),
    make_args=make_args,
    hand_forward=hand_forward,
    hand_backward=hand_backward,
    hand_note="careful: one np.arange, margins in place, L2 by np.vdot, dW scaled in place",
    others=(Reference("earlier reference", forward=plain_forward, backward=plain_backward,
                      note="cs231n's vectorized svm_loss: np.sum(W * W), out-of-place ops"),),
    torch_loss=torch_loss,
    port="benchmarks/ports/svm_loss.py",
    shapes="W (3073, 10), X (500, 3073), float64; grad of W",
)
