"""Functions with several outputs (``return next_h, next_c``): the forward
returns them as a tuple, the backward takes one upstream gradient per output,
the way cs231n calls lstm_step_backward(dnext_h, dnext_c, cache)."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.checks.verify import check_gradients, load_module
from codegen.errors import CodegenError
from conftest import ROOT, build

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")


def _lstm_inputs(rng):
    N, D, H = 3, 4, 5
    return (
        rng.standard_normal((N, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((N, H)),
        rng.standard_normal((D, 4 * H)) * 0.5,
        rng.standard_normal((H, 4 * H)) * 0.5,
        rng.standard_normal(4 * H),
    )


def test_lstm_step_backward_takes_one_gradient_per_output():
    gen = load_module(ROOT / "generated" / "lstm_step_grad.py")
    user = load_module(ROOT / "examples" / "lstm_step.py")
    rng = np.random.default_rng(0)
    args = _lstm_inputs(rng)
    (next_h, next_c), cache = gen.lstm_step_forward(*args)
    ref_h, ref_c = user.lstm_step(*args)
    assert np.allclose(next_h, ref_h) and np.allclose(next_c, ref_c)
    dnext_h, dnext_c = rng.standard_normal(next_h.shape), rng.standard_normal(
        next_c.shape
    )
    grads = gen.lstm_step_backward(dnext_h, dnext_c, cache)

    def loss(x, prev_h, prev_c, Wx, Wh, b):  # the same step, in autograd.numpy
        H = prev_h.shape[1]
        a = anp.dot(x, Wx) + anp.dot(prev_h, Wh) + b
        sig = lambda z: 1 / (1 + anp.exp(-z))  # noqa: E731
        i, f, o = sig(a[:, :H]), sig(a[:, H : 2 * H]), sig(a[:, 2 * H : 3 * H])
        g = anp.tanh(a[:, 3 * H :])
        c = f * prev_c + i * g
        h = o * anp.tanh(c)
        return anp.sum(h * dnext_h) + anp.sum(c * dnext_c)

    expected = autograd.grad(loss, argnum=list(range(6)))(*args)
    for got, want in zip(grads, expected, strict=True):
        assert np.allclose(got, want, atol=1e-10)


def test_several_outputs_against_central_differences():
    src = (
        "import numpy as np\n\ndef f(x, y):\n"
        "    s = x * y\n    t = np.sin(s) + x\n    return t, s\n"
    )
    forward, generated, code = build(src, "f")
    assert "def f_backward(grad_t, grad_s, cache):" in code
    rng = np.random.default_rng(1)
    point = {"x": rng.standard_normal(4), "y": rng.standard_normal(4)}
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "y"],
        point,
        ["x", "y"],
    )
    assert report.ok, report.summary()
    (t, s), grads = generated.f_value_and_grad(point["x"], point["y"])
    expected = autograd.grad(
        lambda x, y: anp.sum(anp.sin(x * y) + x) + anp.sum(x * y), argnum=[0, 1]
    )(point["x"], point["y"])
    for got, want in zip(grads, expected, strict=True):
        assert np.allclose(got, want)


def test_the_upstream_gradient_of_an_output_is_never_modified():
    src = "import numpy as np\n\ndef f(x):\n    c = np.exp(x)\n    h = c * 2.0\n    return h, c\n"
    _, generated, _ = build(src, "f")
    x = np.array([0.5, 1.0])
    (h, c), cache = generated.f_forward(x)
    dh, dc = np.ones(2), np.ones(2)
    g = generated.f_backward(dh, dc, cache)
    assert np.array_equal(dc, np.ones(2)) and np.allclose(g, 3 * np.exp(x))


def test_an_output_returned_twice_is_a_located_error():
    with pytest.raises(CodegenError, match="returned twice"):
        build("def f(x):\n    return x, x\n", "f")


@pytest.mark.parametrize(
    "ret",
    [
        "return a, (a + 1.0, y)",
        "return a, [a, y]",
        "t = (a + 1.0, y)\n    return x, t",
        "return a, np.split(y, 3)",
    ],
)
def test_a_tuple_inside_the_returned_tuple_is_a_located_error(ret):
    # its gradient (a tuple the caller passes) was dropped: a wrong gradient
    src = f"import numpy as np\n\n\ndef f(x, y):\n    a = x * y\n    {ret}\n"
    with pytest.raises(CodegenError, match="a tuple inside the returned tuple") as info:
        build(src, "f")
    assert str(info.value).startswith("<test>:")


def test_a_constant_output_carries_no_gradient():
    _, generated, _ = build("def f(x):\n    y = x * 3.0\n    return y, 1.0\n", "f")
    (y, one), cache = generated.f_forward(2.0)
    assert (y, one) == (6.0, 1.0)
    assert generated.f_backward(1.0, 5.0, cache) == 3.0


@pytest.mark.parametrize(
    "source,point",
    [
        (
            "import numpy as np\n\n\ndef f(x):\n    v = np.sum(x ** 2)\n    return (v,)\n",
            np.array([0.5, -1.0, 2.0]),
        ),
        ("import numpy as np\n\n\ndef f(x):\n    return (np.exp(x) * 2.0,)\n", 0.5),
        ("import math\n\n\ndef f(x):\n    return (x * x,)\n", 3.0),
    ],
    ids=["named", "numpy-on-a-float", "math"],
)
def test_a_tuple_of_one_is_returned_as_one(source, point):
    forward, generated, code = build(source, "f")
    want = forward.f(point)
    out, cache = generated.f_forward(point)
    assert isinstance(out, tuple) and len(out) == 1 and np.allclose(out[0], want[0])
    value, grad = generated.f_value_and_grad(point)
    assert isinstance(value, tuple) and np.allclose(value[0], want[0]), code
    h = 1e-6
    numeric = (np.sum(forward.f(point + h)[0]) - np.sum(forward.f(point - h)[0])) / (
        2 * h
    )
    if np.ndim(point) == 0:
        assert np.isclose(grad, numeric, atol=1e-6), code
    assert np.allclose(generated.f_backward(np.ones_like(out[0]), cache), grad), code
