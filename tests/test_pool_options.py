"""Pooled reductions as NumPy computes them (from the convolution probe):
``initial=`` and ``dtype=`` are kept (the small-window form is used only
without them), a pooled sum of small integers widens as np.sum does, a
float16 mean pool sums in float32 as np.mean does, and windows of windows
(``axis=(0, 0)``) get their gradient. Values against NumPy, gradients
against central differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

SWV = "from numpy.lib.stride_tricks import sliding_window_view\n"


@pytest.mark.parametrize(
    "body",
    [
        "return x.reshape(2, 2, 2, 2).max(axis=(1, 3), initial=0.0)",
        "return sliding_window_view(x, (2, 2)).max(axis=(-2, -1), initial=0.0)",
        "return np.max(x.reshape(2, 2, 2, 2), axis=(1, 3), keepdims=True, initial=-5.0)",
    ],
)
def test_a_pooled_max_keeps_its_initial(body):
    source = f"import numpy as np\n{SWV}\n\ndef f(x):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x"])
    x = -np.arange(1.0, 17.0).reshape(4, 4)
    x[0, 0] = 3.0
    value, grad = generated.f_value_and_grad(x)
    assert np.array_equal(value, forward.f(x)), code
    ref = central(lambda x: np.sum(forward.f(x)), {"x": x}, "x")
    assert np.allclose(grad, ref, atol=1e-6), code


@pytest.mark.parametrize(
    "body,x",
    [
        (
            "x.reshape(1, 1, 2, 2, 2, 2).sum(axis=(3, 5))",
            np.full((1, 1, 4, 4), 200, np.uint8),
        ),
        (
            "sliding_window_view(x, (2, 2)).sum(axis=(-2, -1))",
            np.full((3, 3), 100, np.int8),
        ),
        (
            "x.reshape(1, 1, 2, 2, 2, 2).sum(axis=(3, 5), dtype=np.int64)",
            np.full((1, 1, 4, 4), 200, np.uint8),
        ),
        (
            "x.reshape(1, 1, 2, 2, 2, 2).mean(axis=(3, 5), dtype=np.float32)",
            np.full((1, 1, 4, 4), 0.5),
        ),
        (
            "x.reshape(2, 2, 2, 2).mean(axis=(1, 3))",
            np.full((4, 4), 60000.0, np.float16),
        ),
    ],
)
def test_a_pooled_sum_or_mean_has_numpys_value_and_dtype(body, x):
    source = f"import numpy as np\n{SWV}\n\ndef f(x, w):\n    return {body} * w\n"
    forward, generated, code = build(source, "f", ["w"])
    out, _ = generated.f_forward(x, 1.0)
    want = forward.f(x, 1.0)
    assert out.dtype == want.dtype and np.array_equal(out, want), code


def test_windows_of_windows_along_one_axis():
    source = (
        f"import numpy as np\n{SWV}\n\ndef f(x):\n"
        "    return sliding_window_view(x, (2, 2), axis=(0, 0)) ** 2\n"
    )
    forward, generated, code = build(source, "f", ["x"])
    x = np.random.default_rng(3).standard_normal(5)
    value, grad = generated.f_value_and_grad(x)
    assert np.allclose(value, forward.f(x)), code
    ref = central(lambda x: np.sum(forward.f(x)), {"x": x}, "x")
    assert np.allclose(grad, ref, atol=1e-6), code
