"""Train a small convolutional net on scikit-learn's 8x8 digits with the
generated kernels: conv 3x3 (pad 1) - ReLU - 2x2 max pool - affine - softmax
loss, each layer the pair `out, cache = f_forward(...)` /
`f_backward(dout, cache)` from generated/.

    pip install '.[examples]'
    python examples/train_cnn.py                      # SGD with momentum
    python examples/train_cnn.py --optimizer adam --lr 1e-3

Before training it checks every kernel's gradient numerically and stops with
exit code 1 if one is wrong. A script, not a forward: codegen does not
differentiate it.
"""

from __future__ import annotations

import sys

import _training as T
import numpy as np

from generated.affine_grad import affine_backward, affine_forward
from generated.conv_grad import conv_backward, conv_forward
from generated.max_pool_grad import max_pool_backward, max_pool_forward
from generated.relu_grad import relu_backward, relu_forward
from generated.softmax_loss_grad import softmax_loss_backward, softmax_loss_forward

F, K, C = 16, 3, 10  # filters, filter size, classes
STRIDE, PAD = 1, 1  # 8x8 stays 8x8; the 2x2 pool makes it 4x4
D = F * 4 * 4  # inputs of the affine layer


def init(rng: np.random.Generator) -> T.Params:
    """He initialisation for the layers ReLU follows, zero biases."""
    return {
        "W1": rng.standard_normal((F, 1, K, K)) * np.sqrt(2 / (K * K)),
        "b1": np.zeros(F),
        "W2": rng.standard_normal((D, C)) * np.sqrt(1 / D),
        "b2": np.zeros(C),
    }


def scores(p: T.Params, x: np.ndarray) -> np.ndarray:
    a, _ = conv_forward(x, p["W1"], p["b1"], STRIDE, PAD)
    h, _ = max_pool_forward(relu_forward(a)[0])
    return affine_forward(h, p["W2"], p["b2"])[0]


def loss_and_grads(p: T.Params, x: np.ndarray, y: np.ndarray, reg: float):
    """Softmax loss plus reg * (sum W1^2 + sum W2^2), and its gradients."""
    a1, cache1 = conv_forward(x, p["W1"], p["b1"], STRIDE, PAD)
    h1, cache2 = relu_forward(a1)
    p1, cache3 = max_pool_forward(h1)
    s, cache4 = affine_forward(p1, p["W2"], p["b2"])
    loss, cache5 = softmax_loss_forward(s, y)
    loss += reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))

    ds = softmax_loss_backward(1.0, cache5)
    dp1, dW2, db2 = affine_backward(ds, cache4)
    dh1 = max_pool_backward(dp1, cache3)
    da1 = relu_backward(dh1, cache2)
    _, dW1, db1 = conv_backward(da1, cache1)
    grads = {"W1": dW1 + 2 * reg * p["W1"], "b1": db1, "W2": dW2 + 2 * reg * p["W2"], "b2": db2}
    return loss, grads


def data_loss(s: np.ndarray, y: np.ndarray) -> float:
    return float(softmax_loss_forward(s, y)[0])


def kernels(rng: np.random.Generator) -> list[T.Kernel]:
    """Every layer pair the model uses, at a small random point (ReLU inputs
    kept away from its kink at 0)."""
    relu_x = rng.choice([-1, 1], (2, 3, 4, 4)) * rng.uniform(0.1, 1.0, (2, 3, 4, 4))
    return [
        T.Kernel("conv", conv_forward, conv_backward,
                 {"x": rng.standard_normal((2, 1, 8, 8)), "w": rng.standard_normal((3, 1, K, K)),
                  "b": rng.standard_normal(3), "stride": STRIDE, "pad": PAD},
                 ("x", "w", "b")),
        T.Kernel("relu", relu_forward, relu_backward, {"x": relu_x}, ("x",)),
        T.Kernel("max_pool", max_pool_forward, max_pool_backward,
                 {"x": rng.standard_normal((2, 3, 8, 8))}, ("x",)),
        T.Kernel("affine", affine_forward, affine_backward,
                 {"x": rng.standard_normal((4, 3, 4, 4)), "w": rng.standard_normal((48, 5)),
                  "b": rng.standard_normal(5)},
                 ("x", "w", "b")),
        T.Kernel("softmax_loss", softmax_loss_forward, softmax_loss_backward,
                 {"x": 3 * rng.standard_normal((5, C)), "y": rng.integers(0, C, 5)}, ("x",)),
    ]


MODEL = T.Model(
    name="cnn",
    title=f"CNN conv{K}x{K}x{F}-ReLU-pool-affine on 8x8 digits",
    init=init,
    loss_and_grads=lambda *a: loss_and_grads(*a),
    scores=lambda *a: scores(*a),
    data_loss=lambda *a: data_loss(*a),
    kernels=lambda rng: kernels(rng),
    defaults={"lr": 0.05, "batch_size": 32, "epochs": 30, "reg": 1e-4},
)

if __name__ == "__main__":
    sys.exit(T.main(MODEL, sys.argv[1:]))
