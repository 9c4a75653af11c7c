"""The float twin (codegen/core/twin.py): a NumPy-spelled scalar function's
value-and-grad runs `math` code on Python floats, and NumPy's code otherwise.
Both paths are compared with HIPS autograd and central differences, and on the
inputs where `math` raises, with NumPy's own result."""

from __future__ import annotations

import types
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import codegen
from codegen.core.twin import float_twin
from codegen.front.parse import parse

HEADER = "import numpy as np\n\n\n"


def _module(src: str, name: str = "f") -> types.ModuleType:
    mod = types.ModuleType("generated")
    exec(
        compile(codegen.generate(HEADER + src, "t.py", name), "<generated>", "exec"),
        mod.__dict__,
    )
    return mod


def _user(src: str, lib: object) -> types.FunctionType:
    env = {"np": lib}
    exec(compile(src, "<user>", "exec"), env)
    return env["f"]


def _central(f, args: list[float], i: int, h: float = 1e-6) -> float:
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


CASES = {
    "neuron": (
        "def f(w0, x0, w1, x1, w2):\n    dot = w0 * x0 + w1 * x1 + w2\n"
        "    return 1 / (1 + np.exp(-dot))\n",
        [2.0, -1.0, -3.0, -2.0, -3.0],
    ),
    "transcendental": (
        "def f(x, y):\n    a = np.log(x * x + 1) * np.sqrt(y) - np.tanh(x / y)\n"
        "    b = np.arctan2(y, x) + np.hypot(x, y) ** 3 + np.sin(a) * np.cosh(x)\n"
        "    return np.exp(-b) + np.log1p(y) / np.abs(x - 2 * y)\n",
        [0.7, 1.9],
    ),
    "integer power parameter": (
        "def f(x, n: int):\n    return np.exp(x) ** n - x**-2\n",
        [0.3, 3],
    ),
    "hyperparameter": (
        "def f(x, eps=1e-3):\n    return np.sqrt(x * x + eps) + np.expm1(x) / 4\n",
        [-0.8],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_twin_matches_autograd_and_numpy(case: str) -> None:
    src, args = CASES[case]
    mod = _module(src)
    assert hasattr(mod, "_f_value_and_grad_floats"), "no float twin generated"
    user = _user(src, np)
    ints = [type(a) is int for a in args]
    wrt = [i for i, is_int in enumerate(ints) if not is_int]
    out, grads = mod.f_value_and_grad(*args)  # Python floats: the math twin
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert type(out) is float
    assert out == pytest.approx(user(*args), rel=1e-14)
    # the NumPy path on the same numbers (np.float64 is not a Python float)
    np_args = [a if type(a) is int else np.float64(a) for a in args]
    np_out, np_grads = mod.f_value_and_grad(*np_args)
    np_grads = np_grads if isinstance(np_grads, tuple) else (np_grads,)
    assert float(np_out) == pytest.approx(out, rel=1e-14)
    agf = _user(src, anp)
    for k, i in enumerate(wrt):
        ref = autograd.grad(agf, i)(
            *[float(a) if j == i else a for j, a in enumerate(args)]
        )
        assert grads[k] == pytest.approx(ref, rel=1e-12, abs=1e-14)
        assert float(np_grads[k]) == pytest.approx(ref, rel=1e-12, abs=1e-14)
        assert grads[k] == pytest.approx(_central(user, args, i), rel=1e-6, abs=1e-8)


def test_twin_falls_back_to_numpy_where_math_raises() -> None:
    """math.exp(1000.0) overflows and x / math.sin(0.0) divides by zero: the
    NumPy code runs instead and returns what the forward returns, inf or nan;
    where the forward itself raises (Python's 1 / 0.0), so does the module."""
    src = "def f(x, y):\n    return np.exp(x) + x / np.sin(y)\n"
    mod = _module(src)
    user = _user(src, np)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for args in ([1000.0, 1.0], [0.5, 0.0], [0.0, -0.0], [710.0, 0.0]):
            out, (gx, gy) = mod.f_value_and_grad(*args)
            assert np.array_equal(out, user(*args), equal_nan=True), args
            x, y = np.float64(args[0]), np.float64(args[1])
            close = dict(rtol=1e-13, equal_nan=True)
            np.testing.assert_allclose(gx, np.exp(x) + 1 / np.sin(y), **close)
            np.testing.assert_allclose(gy, -x * np.cos(y) / np.sin(y) ** 2, **close)
    mod = _module("def f(x, y):\n    return np.exp(x) + 1 / y\n")
    with pytest.raises(ZeroDivisionError):
        mod.f_value_and_grad(0.5, 0.0)  # as the forward does on Python floats


def test_twin_is_not_used_for_arrays_and_numpy_scalars() -> None:
    src = CASES["neuron"][0]
    mod = _module(src)
    x = np.array([0.5, -1.0])
    out, grads = mod.f_value_and_grad(x, 2.0, 1.0, 3.0, 0.5)
    assert np.shape(out) == (2,) and np.shape(grads[0]) == (2,)
    s = 1 / (1 + np.exp(-(x * 2.0 + 3.0 + 0.5)))
    assert np.allclose(grads[0], 2.0 * s * (1 - s))


NO_TWIN = {
    "maximum (NaN kept by NumPy, dropped by max)": "def f(x):\n    return np.maximum(x, 0.0) * 2\n",
    "fractional power (complex in Python, NaN in NumPy)": "def f(x):\n    return np.exp(x) ** 0.5\n",
    "power by a float parameter": "def f(x, p):\n    return np.exp(x) ** p\n",
    "array annotation": "def f(x: np.ndarray):\n    return np.exp(x) * 2\n",
    "a reduction": "def f(x):\n    return np.sum(np.exp(x))\n",
    "a string default": "def f(x, mode='a'):\n    return np.exp(x)\n",
}


@pytest.mark.parametrize("case", sorted(NO_TWIN))
def test_no_twin_where_math_could_differ(case: str) -> None:
    src = HEADER + NO_TWIN[case]
    assert float_twin(parse(src, "t.py", "f")) is None
    assert "_value_and_grad_floats" not in codegen.generate(src, "t.py", "f")


def test_math_modules_and_check_finite_have_no_twin() -> None:
    src = "import math\n\n\ndef f(x):\n    return math.exp(x) * 2\n"
    assert "_value_and_grad_floats" not in codegen.generate(src, "t.py", "f")
    src = HEADER + CASES["neuron"][0]
    assert "_floats" not in codegen.generate(src, "t.py", "f", check_finite=True)


def test_verify_checks_the_value_and_grad_it_would_run() -> None:
    """`codegen verify` compares value_and_grad (on floats: the twin) with the
    checked forward and backward; a twin that drifts is reported."""
    from codegen.checks.verify import flat_agrees

    mod = _module(CASES["neuron"][0])
    pair = (mod.f_forward, mod.f_backward)
    args = CASES["neuron"][1]
    assert flat_agrees(mod.f_value_and_grad, pair, args, 5)

    twin = mod._f_value_and_grad_floats

    def drifted(*a):
        out, grads = twin(*a)
        return out, (*grads[:4], grads[4] * (1 + 1e-6))

    mod._f_value_and_grad_floats = drifted
    assert not flat_agrees(mod.f_value_and_grad, pair, args, 5)


def test_a_value_and_grad_with_a_twin_is_valid_input_again():
    # second order: the dispatch to the float twin is skipped when the
    # generated value-and-grad is read again (the NumPy steps compute the
    # same values); the Hessian-vector product matches central differences
    # of the first gradient
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from programs.second import hvp_source

    src, point = CASES["neuron"]
    first = codegen.generate(HEADER + src, "t.py", "f")
    assert "_f_value_and_grad_floats(" in first
    names = ["w0", "x0", "w1", "x1", "w2"]
    hvp_src = hvp_source(first, "f", names, names)
    hv = types.ModuleType("hv")
    exec(compile(hvp_src, "<hvp>", "exec"), hv.__dict__)
    second = types.ModuleType("second")
    exec(
        compile(codegen.generate(hvp_src, "hvp.py", "hvp", names), "<2>", "exec"),
        second.__dict__,
    )
    v = [0.3, -0.7, 1.1, 0.2, -0.4]
    _, grads = second.hvp_value_and_grad(*point, *v)
    for i, g in enumerate(grads):
        expected = _central(lambda *a: hv.hvp(*a, *v), list(point), i)
        assert abs(g - expected) < 1e-6 * max(1.0, abs(expected)), names[i]


DISPATCH = (
    "def g(x, y):\n"
    "    if type(x) is float and type(y) is float:\n"
    "        try:\n"
    "            return _g_value_and_grad_floats(x, y)\n"
    "        except (ArithmeticError, ValueError):\n"
    "            pass  # NumPy's result\n"
    "    return np.sin(x) * y\n"
)


def test_the_float_dispatch_is_skipped_when_read_again():
    mod = _module(DISPATCH, "g")
    value, (gx, gy) = mod.g_value_and_grad(np.float64(0.5), np.float64(2.0))
    assert value == np.sin(0.5) * 2.0
    assert abs(gx - 2.0 * np.cos(0.5)) < 1e-15 and abs(gy - np.sin(0.5)) < 1e-15


@pytest.mark.parametrize(
    "change",
    [
        ("type(y) is float:", "y > 0:"),  # another test
        ("pass  # NumPy's result", "x = 1.0"),  # another handler
        ("return _g_value_and_grad_floats(x, y)", "return x"),  # another return
    ],
)
def test_other_if_statements_are_still_refused(change):
    with pytest.raises(codegen.CodegenError, match="'if' whose condition is known only at run time"):
        codegen.generate(HEADER + DISPATCH.replace(*change), "t.py", "g")
