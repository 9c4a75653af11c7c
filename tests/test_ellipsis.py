"""Ellipsis in indices (``x[..., 0]``, ``x[..., [1, 1]]``, ``e[..., 1] = v``):
first order against autograd and central differences, second order (the
backward parsed again) against central differences of the first gradient."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from codegen.checks.verify import check_gradients, module_from_source
from codegen.errors import CodegenError
from conftest import ROOT, build

sys.path.insert(0, str(ROOT / "tests"))
from programs.second import hvp_source  # noqa: E402

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

SOURCE = """
import numpy as np


def f(x, v):
    a = x[..., 0]
    b = x[-1, ...]
    c = x[..., [1, 1, 0]]
    d = x[:, ..., None, 1:]
    e = x.copy()
    e[..., 1] = v
    return np.sum(np.sin(a) * a) + np.sum(b) + np.sum(c**3) + np.sum(d) * np.sum(x[0, ..., :1]) + np.sum(e * e)
"""


def _reference(x, v):
    a = x[..., 0]
    b = x[-1, ...]
    c = x[..., [1, 1, 0]]
    d = x[:, ..., None, 1:]
    mask = np.zeros(x.shape)
    mask[..., 1] = 1.0
    e = x * (1 - mask) + anp.expand_dims(v, -1) * mask
    return (
        anp.sum(anp.sin(a) * a)
        + anp.sum(b)
        + anp.sum(c**3)
        + anp.sum(d) * np.sum(x[0, ..., :1])
        + anp.sum(e * e)
    )


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 4), (2, 2, 3, 5)])
def test_ellipsis_indices_against_autograd(shape):
    forward, generated, _ = build(SOURCE, "f")
    rng = np.random.default_rng(len(shape))
    x = rng.standard_normal(shape)
    v = rng.standard_normal(shape[:-1])
    value, (gx, gv) = generated.f_value_and_grad(x, v)
    assert np.isclose(value, forward.f(x, v))
    want = autograd.grad(_reference, (0, 1))(x, v)
    assert np.allclose(gx, want[0]) and np.allclose(gv, want[1])
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "v"],
        {"x": x, "v": v},
        ["x", "v"],
    )
    assert report.ok, report.summary()


def test_second_order_through_ellipsis_indices():
    src = "import numpy as np\n\ndef f(x):\n    return np.sum(np.sin(x[..., 1:]) * x[..., :1]) + np.sum(x[..., [0, 0]] ** 3)\n"
    _, _, first = build(src, "f")
    hvp_src = hvp_source(first, "f", ["x"], ["x"])
    second = module_from_source(build(hvp_src, "hvp", ["x"])[2], "hvp_grad")
    forward = module_from_source(hvp_src, "hvp_forward")
    rng = np.random.default_rng(0)
    point = {"x": rng.standard_normal((3, 4)), "v_x": rng.standard_normal((3, 4))}
    report = check_gradients(
        forward.hvp,
        (second.hvp_forward, second.hvp_backward),
        ["x", "v_x"],
        point,
        ["x"],
    )
    assert report.ok, report.summary()


def test_two_ellipses_are_refused_located():
    with pytest.raises(CodegenError, match="single ellipsis") as err:
        build("def f(x):\n    return x[..., 0, ...]\n", "f")
    assert ":2:" in str(err.value)
