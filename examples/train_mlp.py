"""Train a two-layer MLP on scikit-learn's 8x8 digits with the generated
kernels: affine - ReLU - affine - softmax loss, each layer the pair
`out, cache = f_forward(...)` / `f_backward(dout, cache)` from generated/.

    pip install '.[examples]'
    python examples/train_mlp.py                      # SGD with momentum
    python examples/train_mlp.py --optimizer adam --lr 1e-3

Before training it checks every kernel's gradient numerically and stops with
exit code 1 if one is wrong. A script, not a forward: codegen does not
differentiate it.
"""

from __future__ import annotations

import sys

import _training as T
import numpy as np

from generated.affine_grad import affine_backward, affine_forward
from generated.relu_grad import relu_backward, relu_forward
from generated.softmax_loss_grad import softmax_loss_backward, softmax_loss_forward

D, H, C = 64, 128, 10  # 8x8 pixels, hidden units, classes


def init(rng: np.random.Generator) -> T.Params:
    """He initialisation for the ReLU layer, zero biases."""
    return {
        "W1": rng.standard_normal((D, H)) * np.sqrt(2 / D),
        "b1": np.zeros(H),
        "W2": rng.standard_normal((H, C)) * np.sqrt(1 / H),
        "b2": np.zeros(C),
    }


def scores(p: T.Params, x: np.ndarray) -> np.ndarray:
    h, _ = relu_forward(affine_forward(x, p["W1"], p["b1"])[0])
    return affine_forward(h, p["W2"], p["b2"])[0]


def loss_and_grads(p: T.Params, x: np.ndarray, y: np.ndarray, reg: float):
    """Softmax loss plus reg * (sum W1^2 + sum W2^2), and its gradients."""
    a1, cache1 = affine_forward(x, p["W1"], p["b1"])
    h1, cache2 = relu_forward(a1)
    s, cache3 = affine_forward(h1, p["W2"], p["b2"])
    loss, cache4 = softmax_loss_forward(s, y)
    loss += reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))

    ds = softmax_loss_backward(1.0, cache4)
    dh1, dW2, db2 = affine_backward(ds, cache3)
    da1 = relu_backward(dh1, cache2)
    _, dW1, db1 = affine_backward(da1, cache1)
    grads = {"W1": dW1 + 2 * reg * p["W1"], "b1": db1, "W2": dW2 + 2 * reg * p["W2"], "b2": db2}
    return loss, grads


def data_loss(s: np.ndarray, y: np.ndarray) -> float:
    return float(softmax_loss_forward(s, y)[0])


def kernels(rng: np.random.Generator) -> list[T.Kernel]:
    """Every layer pair the model uses, at a small random point (ReLU inputs
    kept away from its kink at 0)."""
    x = rng.standard_normal((4, 1, 8, 8))
    relu_x = rng.choice([-1, 1], (4, 6)) * rng.uniform(0.1, 1.0, (4, 6))
    return [
        T.Kernel("affine", affine_forward, affine_backward,
                 {"x": x, "w": rng.standard_normal((D, 5)), "b": rng.standard_normal(5)},
                 ("x", "w", "b")),
        T.Kernel("relu", relu_forward, relu_backward, {"x": relu_x}, ("x",)),
        T.Kernel("softmax_loss", softmax_loss_forward, softmax_loss_backward,
                 {"x": 3 * rng.standard_normal((5, C)), "y": rng.integers(0, C, 5)}, ("x",)),
    ]


MODEL = T.Model(
    name="mlp",
    title=f"MLP {D}-{H}-{C} on 8x8 digits",
    init=init,
    loss_and_grads=lambda *a: loss_and_grads(*a),
    scores=lambda *a: scores(*a),
    data_loss=lambda *a: data_loss(*a),
    kernels=lambda rng: kernels(rng),
    defaults={"lr": 0.05, "batch_size": 32, "epochs": 30, "reg": 1e-4},
)

if __name__ == "__main__":
    sys.exit(T.main(MODEL, sys.argv[1:]))
