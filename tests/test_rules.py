"""A numeric gradient test for every scalar primitive (the declaration tables are
tests/test_primitives.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import codegen.front.builder as builder_mod
import codegen.front.spellings as spellings
from codegen.core.rules import NONDIFF, RULES
from codegen.checks.verify import check_gradients
from conftest import build


def test_every_op_parse_can_emit_is_in_the_table():
    emitted = set(spellings.BINARY_OPS.values()) | set(spellings.AUGMENTED_OPS.values())
    emitted |= set(spellings.COMPARE_OPS.values()) | set(builder_mod.CALLS.values())
    emitted |= {"neg", "copy", "const", "item", "sigmoid"}
    assert emitted <= set(RULES)


# One-op scalar forwards, written the way a user would, with the input domain.
SCALAR_CASES = {
    "add": ("x + y", "real"),
    "sub": ("x - y", "real"),
    "mul": ("x * y", "real"),
    "div": ("x / y", "nonzero"),
    "pow": ("x ** y", "positive"),
    "pow_const": ("x ** 3", "real"),
    "pow_square": ("x ** 2", "real"),
    "neg": ("-x + 0 * y", "real"),
    "copy": ("x", "real"),
    "abs": ("abs(x) * y", "nonzero"),
    "pyabs": ("abs(x - y) * y", "apart"),
    "fabs": ("math.fabs(x) * y", "nonzero"),
    "max": ("max(x, y)", "apart"),
    "min": ("min(x, y)", "apart"),
    "exp": ("math.exp(x)", "real"),
    "log": ("math.log(x)", "positive"),
    "sqrt": ("math.sqrt(x)", "positive"),
    "sin": ("math.sin(x)", "real"),
    "cos": ("math.cos(x)", "real"),
    "tan": ("math.tan(x)", "unit"),
    "tanh": ("math.tanh(x)", "real"),
    "sigmoid": ("sigmoid(x)", "real"),
}


def test_every_scalar_rule_has_a_scalar_case():
    from test_prims_breadth import SCALAR_CASES as BREADTH_SCALAR_CASES

    covered = {case.split("_")[0] for case in SCALAR_CASES} | set(BREADTH_SCALAR_CASES)
    math_forward = {op: r.forward_for("math") for op, r in RULES.items()}
    scalar = {
        op
        for op, r in RULES.items()
        if r.diff
        and not r.helper
        and "np." not in math_forward[op]
        and "@" not in math_forward[op]
        # a method-only op (x.astype) never applies to a Python float
        and (r.calls or r.operator or not r.methods)
    }
    assert scalar <= covered | {
        "log1p",
        "square",
        "clip",
        "getitem",
        "gather",
        "setitem",
        "unbroadcast",
    }


@pytest.fixture(scope="module")
def scalar_modules():
    mods = {}
    for case, (expr, _) in SCALAR_CASES.items():
        src = (
            "import math\n\n"
            "def sigmoid(a):\n    return 1 / (1 + math.exp(-a))\n\n"
            f"def f(x, y):\n    out = {expr}\n    return out\n"
        )
        mods[case] = build(src, "f", ["x", "y"] if "y" in expr else ["x"])
    return mods


_REAL = st.floats(-3, 3)
_AWAY_FROM_ZERO = st.one_of(st.floats(-3, -0.05), st.floats(0.05, 3))
_POSITIVE = st.floats(0.05, 3)
DOMAINS = {
    "real": (_REAL, _REAL),
    "nonzero": (_AWAY_FROM_ZERO, _AWAY_FROM_ZERO),
    "positive": (_POSITIVE, st.floats(0.1, 3)),
    "apart": (_REAL, _REAL),  # kinks excluded with assume below
    "unit": (st.floats(-1.2, 1.2), _REAL),
}


@pytest.mark.parametrize("case", sorted(SCALAR_CASES))
@settings(deadline=None, max_examples=25)
@given(data=st.data())
def test_scalar_rule_matches_central_differences(scalar_modules, case, data):
    expr, domain = SCALAR_CASES[case]
    xs, ys = DOMAINS[domain]
    x, y = data.draw(xs, label="x"), data.draw(ys, label="y")
    if domain == "apart":
        assume(abs(x - y) > 1e-3)
    forward, generated, _ = scalar_modules[case]
    wrt = ["x", "y"] if "y" in expr else ["x"]
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, ["x", "y"], {"x": x, "y": y}, wrt, case)
    assert report.ok, report.summary()


def test_sigmoid_helper_gets_the_lectures_closed_form(scalar_modules):
    _, _, code = scalar_modules["sigmoid"]
    assert "grad_out * (1 - out) * out" in code
    assert "math.exp(-x)" in code


def test_max_routes_the_gradient_and_ties_go_to_the_first_argument(scalar_modules):
    _, generated, _ = scalar_modules["max"]
    assert generated.f_value_and_grad(3.0, 1.0)[1] == (1.0, 0.0)
    assert generated.f_value_and_grad(1.0, 3.0)[1] == (0.0, 1.0)
    assert generated.f_value_and_grad(2.0, 2.0)[1] == (1.0, 0.0)


@pytest.mark.parametrize("op", ["max", "min"])
def test_builtin_max_and_min_follow_python_at_nan(scalar_modules, op):
    """Python's max(x, y) is x unless y is larger: max(1.0, nan) is 1.0, whose
    gradient is x's; max(nan, 1.0) is nan (x again)."""
    _, generated, _ = scalar_modules[op]
    nan = float("nan")
    value, grads = generated.f_value_and_grad(1.0, nan)
    assert value == 1.0 and grads == (1.0, 0.0)
    value, grads = generated.f_value_and_grad(nan, 1.0)
    assert math.isnan(value) and grads == (1.0, 0.0)


def test_abs_has_zero_gradient_at_zero(scalar_modules):
    _, generated, _ = scalar_modules["abs"]
    assert generated.f_value_and_grad(0.0, 2.0)[1] == (0.0, 0.0)
    assert math.isclose(generated.f_value_and_grad(-1.5, 2.0)[1][0], -2.0)


def test_generated_scalar_code_uses_python_floats(scalar_modules):
    _, generated, code = scalar_modules["exp"]
    value, grad = generated.f_value_and_grad(0.5, 0.0)
    assert type(value) is float and type(grad) is float
    assert "numpy" not in code
    assert np.isclose(grad, math.exp(0.5))
