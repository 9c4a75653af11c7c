"""The lean value-and-grad of NumPy-spelled scalar code
(codegen/core/scalar_lean.py): float literals only beside floats, the seed
and copies folded, squares as products; values against HIPS autograd and
NumPy's own path, and the lectures' form kept where the user wrote math."""

from __future__ import annotations

import types
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import codegen
from codegen.core import expr as E
from codegen.core.scalar_lean import _lean, float_names

HEADER = "import numpy as np\n\n\n"


def _module(src: str) -> tuple[types.ModuleType, str]:
    code = codegen.generate(src, "t.py", "f")
    mod = types.ModuleType("generated")
    exec(compile(code, "<generated>", "exec"), mod.__dict__)
    return mod, code


def _twin_text(code: str) -> str:
    return code.split("def _f_value_and_grad_floats")[1]


def _inline_text(code: str) -> str:
    """The math steps of a value-and-grad whose parameters are all annotated
    float: its ``try`` block (NumPy's steps follow the ``except``)."""
    vag = code.split("def f_value_and_grad")[1]
    return vag.split("    try:", 1)[1].split("    except (ArithmeticError", 1)[0]


def test_int_literals_stay_ints_beside_ints() -> None:
    """k has an int default: k + 1 is an int sum and stays one; 1 + exp is
    a float sum and gets 1.0."""
    src = HEADER + "def f(x, k=2):\n    return (1 + np.exp(x)) * (k + 1) + x**k\n"
    mod, code = _module(src)
    twin = _twin_text(code)
    assert "1.0 + " in twin and "k + 1\n" in twin and "k + 1.0" not in twin
    agf = lambda x: (1 + anp.exp(x)) * (2 + 1) + x**2  # noqa: E731
    for x in (0.3, -1.7):
        out, g = mod.f_value_and_grad(x)
        assert out == pytest.approx(agf(x), rel=1e-14)
        assert g == pytest.approx(autograd.grad(agf)(x), rel=1e-13)


def test_squares_in_adjoints_are_products() -> None:
    """d tanh(u)/du = 1 - tanh(u)**2: ``ans * ans`` on floats, where pow costs
    more and raises OverflowError."""
    src = HEADER + "def f(x, y):\n    return np.tanh(x * y)\n"
    mod, code = _module(src)
    twin = _twin_text(code)
    assert "out * out" in twin and "**" not in twin
    agf = lambda x, y: anp.tanh(x * y)  # noqa: E731
    out, (gx, gy) = mod.f_value_and_grad(0.3, -1.2)
    assert out == pytest.approx(agf(0.3, -1.2), rel=1e-15)
    assert gx == pytest.approx(autograd.grad(agf, 0)(0.3, -1.2), rel=1e-14)
    assert gy == pytest.approx(autograd.grad(agf, 1)(0.3, -1.2), rel=1e-14)


def test_the_quotient_gradient_squares_nothing() -> None:
    """d(x / y)/dy = -x / y**2 = -(1 / y)(x / y): at x = 1e300, y = 1e155 it
    is -1e-10, where y**2 (or y * y) overflows and gave -0.0."""
    src = HEADER + "def f(x, y):\n    return np.exp(x) / y\n"
    mod, code = _module(src)
    assert "y * y" not in code and "y**2" not in code
    x = float(np.log(1e300))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out, (gx, gy) = mod.f_value_and_grad(x, 1e155)
        np_out, (np_gx, np_gy) = mod.f_value_and_grad(np.float64(x), np.float64(1e155))
    assert type(gy) is float
    assert gy == pytest.approx(-np.exp(x) / 1e155 / 1e155, rel=1e-14)
    assert float(np_gy) == pytest.approx(gy, rel=1e-15)
    assert out == pytest.approx(float(np_out), rel=1e-15)
    assert gx == pytest.approx(float(np_gx), rel=1e-15)


def test_the_seed_and_copies_fold_into_the_lean_value_and_grad() -> None:
    src = (
        HEADER
        + "def f(a, b):\n    s = a * b\n    u = s + b\n    return np.tanh(u) * 3\n"
    )
    mod, code = _module(src)
    twin = _twin_text(code)
    assert "grad_out = 1.0" not in twin and "grad_s = grad_u" not in twin
    assert "grad_u * b" in twin
    agf = lambda a, b: anp.tanh(a * b + b) * 3  # noqa: E731
    out, (ga, gb) = mod.f_value_and_grad(0.4, -0.1)
    assert ga == pytest.approx(autograd.grad(agf, 0)(0.4, -0.1), rel=1e-13)
    assert gb == pytest.approx(autograd.grad(agf, 1)(0.4, -0.1), rel=1e-13)
    # the layer pair keeps every line
    back = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    assert "grad_s = " in back


def test_several_outputs_on_floats_match_autograd() -> None:
    src = (
        HEADER
        + "def f(x, y):\n    a = np.exp(x) * y\n    b = a * a + y\n    return a, b\n"
    )
    mod, code = _module(src)
    assert "_f_value_and_grad_floats" in code
    (a, b), (gx, gy) = mod.f_value_and_grad(0.3, 1.5)
    total = lambda x, y: anp.exp(x) * y + (anp.exp(x) * y) ** 2 + y  # noqa: E731
    assert gx == pytest.approx(autograd.grad(total, 0)(0.3, 1.5), rel=1e-13)
    assert gy == pytest.approx(autograd.grad(total, 1)(0.3, 1.5), rel=1e-13)


def test_math_code_keeps_the_lectures_form() -> None:
    src = "import math\n\n\ndef f(x, y):\n    s = x + y\n    return 1 / (1 + math.exp(-s))\n"
    _, code = _module(src)
    vag = code.split("def f_value_and_grad")[1]
    assert "grad_out = 1.0" in vag and "1 / (1 + math.exp(-s))" in vag


def test_lean_rewrites_only_what_is_certainly_a_float() -> None:
    floats = {"f"}
    lean = lambda text: _lean(E.template(text), floats)  # noqa: E731
    assert lean("1 - f") == E.template("1.0 - f")
    assert lean("1 - n") == E.template("1 - n")  # n: unknown, maybe an int
    assert lean("f * 1") == E.Name("f") and lean("n * 1") == E.template("n * 1")
    assert lean("0.5 * 2 * f") == E.Name("f")
    assert lean("f ** 2") == E.template("f * f")
    assert lean("2 ** 60 + f") == E.template("2 ** 60 + f")  # not a product of literals
    assert lean("(2 ** 60) * 1") == E.template("(2 ** 60) * 1")


def test_float_names_follow_math_and_arithmetic() -> None:
    from codegen.front.parse import parse
    from codegen.core.reverse import reverse
    from dataclasses import replace

    fn = parse(
        HEADER
        + "def f(x, n: int):\n    a = x * n\n    b = n + 1\n    return np.exp(b) + a\n",
        "t.py",
        "f",
    )
    bwd = reverse(replace(fn, array=False), ["x"])
    assert {"a", "x"} <= float_names(bwd, ["x"])
    assert "b" not in float_names(bwd, ["x"])
    assert "x" not in float_names(bwd, [])


def test_negations_come_off_exactly() -> None:
    floats = {"d", "e", "x"}
    lean = lambda text: _lean(E.template(text), floats)  # noqa: E731
    assert lean("-(-1.0 / d * e)") == E.template("1.0 / d * e")
    assert lean("-(-x)") == E.Name("x")
    assert lean("-(x * e)") == E.template("-(x * e)")
    for d, e in ((3.0, -0.7), (1e-300, 1e300), (-2.5, 0.0)):
        assert -(-1.0 / d * e) == 1.0 / d * e


def test_a_gradient_read_once_is_computed_where_it_is_read() -> None:
    """The sigmoid written out: its chain of one-use gradients becomes one
    line, and fan-out (a value read twice) still accumulates."""
    src = HEADER + (
        "def f(w, x):\n    z = w * x\n    s = 1 / (1 + np.exp(-z))\n"
        "    return s * z + np.exp(s)\n"
    )
    mod, code = _module(src)
    twin = _twin_text(code)
    assert "grad_s_neg" not in twin and "grad_s_exp" not in twin
    agf = lambda w, x: (1 / (1 + anp.exp(-w * x))) * w * x + anp.exp(
        1 / (1 + anp.exp(-w * x))
    )  # noqa: E731
    for w, x in ((0.3, -1.2), (2.0, 0.5)):
        out, (gw, gx) = mod.f_value_and_grad(w, x)
        assert gw == pytest.approx(autograd.grad(agf, 0)(w, x), rel=1e-13)
        assert gx == pytest.approx(autograd.grad(agf, 1)(w, x), rel=1e-13)


def test_a_statement_codegen_flattened_is_computed_as_the_user_wrote_it() -> None:
    """dot = w0 * x0 + w1 * x1 + w2 is one line in the lean value-and-grad
    (its three partial sums were codegen's names, read once); exp's result,
    which the backward reads, keeps its line; the numbers are those of the
    layer pair, bit for bit, and autograd's."""
    src = HEADER + (
        "def f(w0: float, x0: float, w1: float, x1: float, w2: float):\n"
        "    dot = w0 * x0 + w1 * x1 + w2\n"
        "    return 1 / (1 + np.exp(-dot))\n"
    )
    mod, code = _module(src)
    vag = _inline_text(code)
    assert "        dot = w0 * x0 + w1 * x1 + w2\n" in vag and "dot_mul" not in vag
    # the sigmoid written out is one step (codegen/core/sigmoid.py)
    assert "out = 1.0 / (1.0 + math.exp(-dot))" in vag and "out_neg" not in vag
    # the layer pair keeps every step
    assert "dot_mul = w0 * x0" in code.split("def f_value_and_grad")[0]
    agf = lambda w0, x0, w1, x1, w2: 1 / (
        1 + anp.exp(-(w0 * x0 + w1 * x1 + w2))
    )  # noqa: E731
    for args in ((2.0, -1.0, -3.0, -2.0, -3.0), (0.1, 0.7, -0.4, 1.3, 0.05)):
        out, grads = mod.f_value_and_grad(*args)
        ref_out, cache = mod.f_forward(*args)
        assert out == ref_out and grads == mod.f_backward(1.0, cache)
        for i, g in enumerate(grads):
            assert g == pytest.approx(autograd.grad(agf, i)(*args), rel=1e-13)


def test_returned_gradients_read_by_nothing_else_are_computed_in_the_return() -> None:
    """grad_x and grad_y, returned and read by no other line, are computed
    in the return; grad_u, read twice, keeps its line; a value read twice in
    the forward (s) keeps its name."""
    src = HEADER + (
        "def f(x: float, y: float):\n"
        "    s = x * y\n"
        "    u = np.sin(s) + s * s\n"
        "    return u * x\n"
    )
    mod, code = _module(src)
    vag = _inline_text(code)
    assert "grad_y = " not in vag and "        s = x * y\n" in vag
    ret = [ln for ln in vag.splitlines() if ln.strip().startswith("return")][0]
    assert "grad_" in ret and "*" in ret
    agf = lambda x, y: (anp.sin(x * y) + (x * y) ** 2) * x  # noqa: E731
    for x, y in ((0.3, -1.1), (1.7, 0.4)):
        out, grads = mod.f_value_and_grad(x, y)
        ref_out, cache = mod.f_forward(x, y)
        assert out == ref_out and grads == mod.f_backward(1.0, cache)
        assert grads[0] == pytest.approx(autograd.grad(agf, 0)(x, y), rel=1e-13)
        assert grads[1] == pytest.approx(autograd.grad(agf, 1)(x, y), rel=1e-13)
