"""The sigmoid written out in one statement is one step (codegen/core/sigmoid.py):
the same values, its gradient (1 - s) s, finite where exp(-x) overflows."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import build
from references import autograd_grads, hessian_vector_products

NP = "import numpy as np\n\n\n"
INLINE = (
    NP + "def f(w, x):\n    z = x @ w\n    return np.sum(1 / (1 + np.exp(-z)) * z)\n"
)


def test_written_out_sigmoid_is_one_step_with_the_lectures_gradient():
    _, _, code = build(INLINE, "f", ["w", "x"])
    assert "grad_z = " in code and "(1 - out_sigmoid) * out_sigmoid" in code
    assert "out_sigmoid = 1 / (1 + np.exp(-z))" in code
    assert "out_exp" not in code and "out_neg" not in code


def test_values_and_gradients_match_autograd_and_central_differences():
    forward, generated, _ = build(INLINE, "f", ["w", "x"])
    rng = np.random.default_rng(3)
    point = {"w": rng.standard_normal(4), "x": rng.standard_normal((3, 4))}
    out, grads = generated.f_value_and_grad(**point)
    assert out == pytest.approx(forward.f(**point), rel=1e-15)
    for g, ref in zip(grads, autograd_grads(INLINE, point, ["w", "x"]), strict=True):
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["array", "float", "annotated"])
def test_the_gradient_is_finite_where_exp_overflows(kind):
    """At x = -1000 exp(1000) is inf: the forward's value is 0 (NumPy warns),
    the sigmoid is flat, and the written-out chain would give 0 * inf = NaN.
    On floats, math.exp raises there, and the value-and-grad takes NumPy's
    steps (also with every parameter annotated float)."""
    sig = "x: float" if kind == "annotated" else "x"
    src = NP + f"def f({sig}):\n    return 1 / (1 + np.exp(-x)) + 2.0 * x\n"
    forward, generated, _ = build(src, "f", ["x"])
    x = np.array([-1000.0, 0.5, 800.0]) if kind == "array" else -1000.0
    with warnings.catch_warnings(), np.errstate(over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = forward.f(x)
        out, grad = generated.f_value_and_grad(x)  # math raises: NumPy's steps
    np.testing.assert_array_equal(out, expected)
    s = 1 / (1 + np.exp(-np.clip(x, -700, 700)))
    np.testing.assert_allclose(grad, s * (1 - s) + 2.0, rtol=1e-15)


def test_names_the_user_gave_keep_their_steps():
    src = NP + "def f(z):\n    e = np.exp(-z)\n    s = 1 / (1 + e)\n    return s\n"
    _, _, code = build(src, "f", ["z"])
    assert "grad_e = " in code


def test_a_math_module_gets_the_lectures_line():
    src = "import math\n\n\ndef f(s):\n    L = 1 / (1 + math.exp(-s))\n    return L\n"
    _, generated, code = build(src, "f", ["s"])
    assert "grad_s = grad_L * (1 - L) * L" in code
    L, g = generated.f_value_and_grad(0.3)
    assert g == pytest.approx(L * (1 - L), rel=1e-15)


def test_second_order_through_the_fused_sigmoid():
    _, _, first = build(INLINE, "f", ["w", "x"])
    rng = np.random.default_rng(5)
    point = {"w": rng.standard_normal(4), "x": rng.standard_normal((3, 4))}
    for p, hv, ref in hessian_vector_products(INLINE, first, ["w", "x"], point, "sig"):
        np.testing.assert_allclose(hv, ref, rtol=1e-6, atol=1e-8, err_msg=p)


@pytest.mark.parametrize(
    "body",
    [
        "return 1 / (1 + np.exp(-x)) * y",
        "return np.log(x) * y",
        "return np.sqrt(x) + 1 / x * y",
        "return np.exp(x) * y",
    ],
)
def test_annotated_float_code_gives_numpys_result_where_math_raises(body):
    """Parameters annotated float get the math steps first; where math
    raises (overflow, log or sqrt of a negative number, a division by zero
    after a NumPy call) the result is NumPy's, as the forward's own."""
    src = NP + f"def f(x: float, y: float):\n    {body}\n"
    forward, generated, code = build(src, "f", ["x", "y"])
    assert "math." in code and "except (ArithmeticError, ValueError)" in code
    for x in (-1000.0, -1.0, 0.0, 800.0, 0.7):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                expected = forward.f(x, 1.5)
            except ZeroDivisionError:
                continue
            out, (gx, gy) = generated.f_value_and_grad(x, 1.5)
        np.testing.assert_array_equal(out, expected)
        h = 1e-6 * max(1.0, abs(x))
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            fds = (
                (forward.f(x + h, 1.5) - forward.f(x - h, 1.5)) / (2 * h),
                (forward.f(x, 1.5 + 1e-6) - forward.f(x, 1.5 - 1e-6)) / 2e-6,
            )
        for g, fd in zip((gx, gy), fds, strict=True):
            if np.isfinite(fd):
                assert g == pytest.approx(fd, rel=1e-5, abs=1e-8)


@pytest.mark.parametrize(
    "lib, point",
    [("math", {"x": 0.7}), ("np", {"x": -1.3}), ("np", {"x": np.linspace(-2, 2, 5)})],
)
def test_a_sigmoid_of_a_sigmoid_in_one_statement(lib, point):
    """The outer sigmoid reads the inner one under the name fusing gave it
    (it read the stale name: NameError in the forward, 0.0 from the
    backward where the derivative is 0.06)."""
    head = "import math\n\n\n" if lib == "math" else NP
    body = f"1 / (1 + {lib}.exp(-(1 / (1 + {lib}.exp(-x)))))"
    reduce = "np.sum" if lib == "np" else ""
    src = head + f"def f(x):\n    return {reduce}({body}) * 2.0\n"
    forward, generated, _ = build(src, "f", ["x"])
    out, grad = generated.f_value_and_grad(**point)
    np.testing.assert_allclose(out, forward.f(**point), rtol=1e-15)
    s = 1 / (1 + np.exp(-point["x"]))
    t = 1 / (1 + np.exp(-s))
    np.testing.assert_allclose(grad, 2.0 * t * (1 - t) * s * (1 - s), rtol=1e-13)
    if lib == "np":
        (ref,) = autograd_grads(src, point, ["x"])
        np.testing.assert_allclose(grad, ref, rtol=1e-13)


@pytest.mark.parametrize("exp", ["np.exp", "math.exp"])
def test_the_fused_step_never_takes_a_users_name(exp):
    # the fused sigmoid of `p` would be `p_sigmoid`, a name the user binds
    source = (
        "import math\nimport numpy as np\n\n\ndef f(x, y):\n"
        "    p_sigmoid = y * 2\n"
        f"    p = 1 / (1 + {exp}(-x)) * p_sigmoid\n"
        f"    out_sigmoid = y * 3\n"
        f"    return p + 1 / (1 + {exp}(-y)) * out_sigmoid\n"
    )
    forward, generated, code = build(source, "f", ["x", "y"])
    points = [(0.7, -1.3)]
    if exp == "np.exp":
        points.append((np.array([0.2, -0.4]), np.array([1.1, 0.3])))
    for x, y in points:
        out, (gx, gy) = generated.f_value_and_grad(x, y)
        assert np.allclose(out, forward.f(x, y)), code
        h = 1e-6
        num_x = (forward.f(x + h, y) - forward.f(x - h, y)) / (2 * h)
        num_y = (forward.f(x, y + h) - forward.f(x, y - h)) / (2 * h)
        assert np.allclose(gx, num_x, atol=1e-6) and np.allclose(gy, num_y, atol=1e-6)
