"""cs231n's affine_forward as students write it (``D = np.prod(x.shape[1:])``,
a size with no gradient; ``x.reshape(N, D).dot(w)``), against autograd."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import build

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

SOURCE = """
import numpy as np


def affine_forward(x, w, b):
    out = None
    N = x.shape[0]
    D = np.prod(x.shape[1:])
    x2 = x.reshape(N, D)
    out = x2.dot(w) + b
    return out
"""


@pytest.mark.parametrize("shape", [(2, 3, 4), (4, 6), (2, 2, 3, 2)])
def test_affine_forward_as_written(shape):
    _, generated, code = build(SOURCE, "affine_forward")
    rng = np.random.default_rng(0)
    D = int(np.prod(shape[1:]))
    x, w, b = (
        rng.standard_normal(shape),
        rng.standard_normal((D, 5)),
        rng.standard_normal(5),
    )
    out, cache = generated.affine_forward_forward(x, w, b)
    assert np.allclose(out, x.reshape(shape[0], D) @ w + b)
    dout = rng.standard_normal(out.shape)
    grads = generated.affine_forward_backward(dout, cache)

    def loss(x, w, b):
        return anp.sum((anp.dot(anp.reshape(x, (shape[0], D)), w) + b) * dout)

    for got, want in zip(grads, autograd.grad(loss, (0, 1, 2))(x, w, b), strict=True):
        assert got.shape == want.shape and np.allclose(got, want)
