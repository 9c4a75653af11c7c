"""``x.astype(t)`` (gradient through float casts, none through integer or
boolean ones, decided at run time for ``t = x.dtype``) and ``range(N)`` in an
index (cs231n's ``scores[range(N), y]``), against autograd and central
differences."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.checks.verify import check_gradients
from conftest import build

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


@pytest.mark.parametrize(
    "cast, passes",
    [
        ("np.float64", True),
        ("float", True),
        ("w.dtype", True),
        ("np.int64", False),
        ("bool", False),
        ("y.dtype", False),  # y: int labels
    ],
)
def test_astype_passes_the_gradient_through_float_casts_only(cast, passes):
    source = (
        "import numpy as np\n\ndef f(x, w, y: int):\n"
        f"    z = (x * 3.0).astype({cast})\n"
        "    return np.sum(z * w) + np.sum(x * x)\n"
    )
    forward, generated, _ = build(source, "f")
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((3, 4)) * 2, rng.standard_normal((3, 4))
    y = np.array([0, 2, 1])
    value, (gx, gw) = generated.f_value_and_grad(x, w, y)
    assert np.isclose(value, forward.f(x, w, y))
    want_gx = 2 * x + (3.0 * w if passes else 0.0)
    assert np.allclose(gx, want_gx)
    assert np.allclose(
        gw,
        (x * 3.0).astype(
            eval(cast.replace("w.dtype", "float").replace("y.dtype", "int"), {"np": np})
        ),
    )


def test_range_in_an_index_against_autograd():
    source = (
        "import numpy as np\n\ndef svm(x, W, y: int):\n"
        "    N = x.shape[0]\n"
        "    scores = x @ W\n"
        "    correct = scores[range(N), y]\n"
        "    margins = np.maximum(0, scores - correct[:, None] + 1.0)\n"
        "    return np.sum(margins) / N\n"
    )
    forward, generated, _ = build(source, "svm")
    rng = np.random.default_rng(4)
    x, W = rng.standard_normal((5, 3)), rng.standard_normal((3, 4))
    y = np.array([0, 3, 3, 1, 0])

    def ref(x, W):
        scores = anp.dot(x, W)
        correct = scores[np.arange(5), y]
        return anp.sum(anp.maximum(0, scores - correct[:, None] + 1.0)) / 5

    value, (gx, gW) = generated.svm_value_and_grad(x, W, y)
    assert np.isclose(value, ref(x, W))
    want = autograd.grad(ref, (0, 1))(x, W)
    assert np.allclose(gx, want[0]) and np.allclose(gW, want[1])
    report = check_gradients(
        forward.svm,
        (generated.svm_forward, generated.svm_backward),
        ["x", "W", "y"],
        {"x": x, "W": W, "y": y},
        ["x", "W"],
    )
    assert report.ok, report.summary()
