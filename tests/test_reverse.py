"""Reverse pass: accumulation at branches, pruning, wrt, ordering."""

from __future__ import annotations

import pytest

from codegen.core.ir import Assign, Const, Function, Loc, Param, Var
from codegen.core.reverse import reverse
from conftest import build

LOC = Loc(1, 0, 1, 1)


def test_square_accumulates_both_contributions():
    _, g, code = build("def f(x):\n    y = x * x\n    return y\n")
    assert "grad_x = grad_y * x\n    grad_x += grad_y * x" in code
    assert g.f_value_and_grad(3.0) == (9.0, 6.0)


def test_double_accumulates():
    _, g, _ = build("def f(x):\n    y = x + x\n    return y\n")
    assert g.f_value_and_grad(3.0) == (6.0, 2.0)


def test_fan_out_through_two_branches():
    _, g, code = build(
        "def f(x):\n    a = 2 * x\n    b = 3 * x\n    y = a + b\n    return y\n"
    )
    assert g.f_value_and_grad(1.0) == (5.0, 5.0)
    backward = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    assert backward.count("grad_x +=") == 1


def test_rebinding_keeps_readable_names():
    _, g, code = build("def f(x):\n    x = x * 2\n    x += 1\n    return x\n")
    assert g.f_value_and_grad(1.0) == (3.0, 2.0)
    assert "x_1 = x * 2" in code and "x_2 = x_1 + 1" in code


def test_unused_parameter_gets_an_explicit_zero():
    _, g, code = build("def f(x, unused):\n    y = 2 * x\n    return y\n")
    assert g.f_value_and_grad(1.0, 5.0) == (2.0, (2.0, 0.0))
    assert "# unused does not affect y" in code


def test_statements_that_do_not_reach_the_result_are_pruned():
    _, _, code = build(
        "import math\n\ndef f(x, y):\n    dead = math.exp(x)\n    z = x * y\n    return z\n"
    )
    assert "dead" not in code.split("def f_forward")[1]


def test_wrt_selects_and_orders_gradients():
    _, g, code = build("def f(x, y):\n    z = x * y\n    return z\n", wrt=["y"])
    assert g.f_value_and_grad(2.0, 3.0) == (6.0, 2.0)
    assert "grad_x" not in code


def test_only_values_that_depend_on_wrt_get_gradients():
    _, _, code = build(
        "def f(x, y):\n    a = y * y\n    z = x * a\n    return z\n", wrt=["x"]
    )
    assert "grad_a" not in code and "grad_y" not in code


def test_parameters_come_before_intermediates_as_in_the_lecture():
    fn = Function(
        "f",
        (Param("s2"), Param("w2")),
        (Assign("s3", "add", (Var("s2"), Var("w2")), (), LOC, "s3 = s2 + w2"),),
        "s3",
    )
    bwd = reverse(fn)
    assert [s.grad for s in bwd.blocks[0].steps] == ["grad_s2", "grad_w2"]
    fn2 = Function(
        "f",
        (Param("w2"),),
        (
            Assign("s2", "mul", (Var("w2"), Const("2")), (), LOC, "s2 = w2 * 2"),
            Assign("s3", "add", (Var("s2"), Var("w2")), (), LOC, "s3 = s2 + w2"),
        ),
        "s3",
    )
    assert [s.grad for s in reverse(fn2).blocks[0].steps] == ["grad_w2", "grad_s2"]


def test_bad_wrt_is_an_error():
    from codegen.errors import CodegenError

    fn = Function("f", (Param("x"),), (), "x")
    with pytest.raises(CodegenError, match="'y' is not a parameter"):
        reverse(fn, ["y"])


def test_user_names_that_look_generated_do_not_clash():
    src = (
        "def f(x, grad_x, cache):\n"
        "    grad_y = x * grad_x\n"
        "    out = grad_y * cache\n"
        "    y = out + x\n"
        "    return y\n"
    )
    fwd, g, _ = build(src)
    value, grads = g.f_value_and_grad(2.0, 3.0, 5.0)
    assert value == fwd.f(2.0, 3.0, 5.0)
    assert grads == (3.0 * 5.0 + 1.0, 2.0 * 5.0, 6.0)
    out, cache = g.f_forward(2.0, 3.0, 5.0)
    assert g.f_backward(1.0, cache) == grads
