"""Python's builtins and math's functions of several numbers (pow, round,
int, max/min of a list, math.fsum, math.prod, math.hypot of any count,
math.log to a base, erf, erfc, remainder, exp2, the integer functions): the
generated forward computes the user's float bit for bit, in a math module
and in a NumPy one, and its gradients match central differences of the
user's own function."""

from __future__ import annotations

import math

import pytest

from conftest import build

CASES = [
    # (body computing out, point)
    ("out = pow(x, 3) + pow(y, x)", {"x": 0.7, "y": 1.2}),
    ("out = round(x, 2) * y + round(y) * x", {"x": 0.777, "y": 1.2}),
    ("out = int(x) * x + y", {"x": 2.7, "y": 1.2}),
    ("out = max([x, y, x * y]) + min((x, y))", {"x": 0.7, "y": 1.2}),
    ("out = max([x, x, y]) * 3.0", {"x": 1.7, "y": 1.2}),  # a tie: the first
    ("t = (x, y * y, 0.5)\nout = min(t) - max(t)", {"x": 0.7, "y": 1.2}),
    ("out = math.fsum([x, y, 0.1, x * y, x])", {"x": 0.7, "y": 1.2}),
    ("out = math.prod([x, y, 3.0]) + math.prod([y], start=x)", {"x": 0.7, "y": 1.2}),
    ("out = math.prod([x, 0.0, y])", {"x": 0.7, "y": 1.2}),  # a zero item
    ("out = math.hypot(x, y, 2.0) + math.hypot(y)", {"x": 0.7, "y": -1.2}),
    ("out = math.hypot(x, y * x, y, x - y)", {"x": 0.7, "y": 1.2}),
    ("out = math.log(x, 2.0) + math.log(x, y) + math.log(y)", {"x": 2.7, "y": 1.5}),
    ("out = math.erf(x) * math.erfc(y)", {"x": 0.7, "y": -1.5}),
    ("out = math.erf(x * 30.0)", {"x": 0.9}),  # exp(-x**2) underflows to 0
    ("out = math.remainder(x, y)", {"x": 2.7, "y": 1.2}),
    ("out = math.remainder(x, y) * x", {"x": -5.3, "y": 2.0}),
    ("out = math.exp2(x) + math.tau * y", {"x": 0.7, "y": 1.2}),
    ("out = math.isqrt(n) * x + math.factorial(n) * y", {"x": 0.7, "y": 1.2, "n": 5}),
    ("out = (math.comb(n, 3) + math.perm(n, 2) + math.gcd(n, 4, 6)) * x * y",
     {"x": 0.7, "y": 1.2, "n": 10}),
    ("out = math.lcm(n, 4) * x + y", {"x": 0.7, "y": 1.2, "n": 6}),
]  # fmt: skip


def _source(body: str, params: list[str], numpy: bool) -> str:
    head = "import math\n" + ("import numpy as np\n" if numpy else "")
    lines = "\n".join(f"    {line}" for line in body.split("\n"))
    return f"{head}\n\ndef f({', '.join(params)}):\n{lines}\n    return out\n"


def _central(f, point: dict, name: str, h: float = 1e-6) -> float:
    up = dict(point, **{name: point[name] + h})
    down = dict(point, **{name: point[name] - h})
    return (f(**up) - f(**down)) / (2 * h)


@pytest.mark.parametrize("numpy", [False, True], ids=["math", "numpy"])
@pytest.mark.parametrize(("body", "point"), CASES)
def test_values_are_the_forwards_and_gradients_central_differences(body, point, numpy):
    floats = [k for k, v in point.items() if isinstance(v, float)]
    user, gen, code = build(_source(body, list(point), numpy), "f", floats)
    want = user.f(**point)
    out, cache = gen.f_forward(**point)
    value, grads = gen.f_value_and_grad(**point)
    assert out == want and value == want  # the same float, not a near one
    assert type(out) is type(want) and type(value) is type(want)
    back = gen.f_backward(1.0, cache)
    back = back if isinstance(back, tuple) else (back,)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for name, g, g_vag in zip(floats, back, grads, strict=True):
        ref = _central(user.f, point, name)
        assert g == pytest.approx(ref, rel=1e-6, abs=1e-8), name
        assert g_vag == pytest.approx(ref, rel=1e-6, abs=1e-8), name


def test_math_hypot_at_the_origin_has_the_zero_subgradient():
    _, gen, _ = build(_source("out = math.hypot(x, y, x)", ["x", "y"], False))
    assert gen.f_value_and_grad(0.0, 0.0) == (0.0, (0.0, 0.0))


def test_a_log_to_a_base_of_its_derivatives_by_hand():
    # d/dx log_b(x) = 1 / (x ln b); d/db log_b(x) = -ln x / (b ln(b)**2)
    _, gen, _ = build(_source("out = math.log(x, b)", ["x", "b"], False))
    _, (gx, gb) = gen.f_value_and_grad(5.0, 3.0)
    assert gx == pytest.approx(1 / (5.0 * math.log(3.0)), rel=1e-14)
    assert gb == pytest.approx(-math.log(5.0) / (3.0 * math.log(3.0) ** 2), rel=1e-14)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("out = pow(x, 2, 5)", "too many arguments for 'pow'"),
        ("out = max(x)", "max of one value takes a list or tuple of values"),
        ("out = math.fsum(x)", "math.fsum takes a list or tuple of values"),
        ("out = math.prod(x, 2.0, 3.0)", "math.prod takes one list and a start"),
        ("out = math.hypot()", "'math.hypot' needs an operand"),
    ],
)
def test_unsupported_forms_are_located_refusals(body, message):
    from codegen import generate
    from codegen.errors import CodegenError

    with pytest.raises(CodegenError, match=message) as info:
        generate(_source(body, ["x"], False), "<test>", "f")
    assert str(info.value).startswith("<test>:5:")
