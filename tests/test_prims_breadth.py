"""The primitives of issue 14 (codegen/core/prims/breadth.py, linalg_more.py)
against central differences, each case annotated and plain, and against
HIPS autograd where it has the op; the scalar (math) twins likewise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd, _point, _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

# name: (body, {param: shape}[, point fix-up]); the body's last line assigns
# `out`. Kinks (mod, hypot at 0) are kept away from by the inputs' ranges.
CASES: dict[str, tuple] = {
    "mod": ("out = np.mod(x, b * b + 2)", {"x": (3, 4), "b": (4,)}),
    "mod_remainder": ("out = np.remainder(3 * x, 0.7) * x", {"x": (3, 4)}),
    "prod": ("out = np.prod(x, axis=1)", {"x": (3, 4)}),
    "prod_all": ("out = x.prod()", {"x": (2, 3)}),
    "prod_keepdims": ("out = np.prod(x, axis=0, keepdims=True) * x", {"x": (3, 4)}),
    # one zero in row 0, two in row 1: the product of the others, not z / x
    "prod_zeros": (
        "out = np.prod(x, axis=1)",
        {"x": (3, 4)},
        lambda p: p["x"].__setitem__((0, 1), 0.0)
        or p["x"].__setitem__((1, slice(0, 2)), 0.0),
    ),
    "prod_zeros_all": (
        "out = np.prod(x)",
        {"x": (2, 3)},
        lambda p: p["x"].__setitem__((1, 2), 0.0),
    ),
    "swapaxes": ("out = np.swapaxes(a, 0, 2) * 2", {"a": (2, 3, 4)}),
    "swapaxes_method": ("out = a.swapaxes(1, -1)", {"a": (2, 3, 4)}),
    "moveaxis": ("out = np.moveaxis(a, 0, -1) * 2", {"a": (2, 3, 4)}),
    "matrix_transpose": ("out = a.mT @ a", {"a": (2, 3, 4)}),
    "flip": ("out = np.flip(x, 1) * x", {"x": (3, 4)}),
    "flip_all": ("out = np.flip(x) * x", {"x": (3, 4)}),
    "fliplr": ("out = np.fliplr(x) * x", {"x": (3, 4)}),
    "flipud": ("out = np.flipud(x) * x", {"x": (3, 4)}),
    "rot90": ("out = np.rot90(x) @ x", {"x": (3, 3)}),
    "rot90_k": ("out = np.rot90(a, 3, axes=(1, 2))", {"a": (2, 3, 4)}),
    "roll": ("out = np.roll(x, 2, axis=1) * x", {"x": (3, 4)}),
    "roll_flat": ("out = np.roll(x, -5) * x", {"x": (3, 4)}),
    "roll_tuple": ("out = np.roll(x, (1, 2), axis=(0, 1)) * x", {"x": (3, 4)}),
    "ravel": ("out = np.ravel(x) * v", {"x": (3, 4), "v": (12,)}),
    "ravel_method": ("out = x.ravel()[2:]", {"x": (3, 4)}),
    "flatten": ("out = x.flatten() * v", {"x": (3, 4), "v": (12,)}),
    "atleast_1d": ("out = np.atleast_1d(x) * x", {"x": (3,)}),
    "atleast_2d": ("out = np.atleast_2d(v) * x", {"v": (4,), "x": (3, 4)}),
    "atleast_3d": ("out = np.atleast_3d(x) * 2", {"x": (3, 4)}),
    "real": ("out = np.real(x) * x.real", {"x": (3, 4)}),
    "repeat": ("out = np.repeat(x, 2, axis=1) * w", {"x": (3, 4), "w": (3, 8)}),
    "repeat_first_axis": ("out = np.repeat(x, 3, axis=0)", {"x": (2, 4)}),
    "repeat_negative_axis": ("out = np.repeat(a, 2, axis=-2)", {"a": (2, 3, 4)}),
    "repeat_flat": ("out = np.repeat(x, 2) * v", {"x": (2, 3), "v": (12,)}),
    "repeat_counts": ("out = np.repeat(x, [1, 0, 3], axis=0)", {"x": (3, 4)}),
    "repeat_method": ("out = x.repeat(2, axis=0)", {"x": (3, 4)}),
    "tile": ("out = np.tile(x, 2) * w", {"x": (3, 4), "w": (3, 8)}),
    "tile_tuple": ("out = np.tile(x, (2, 1, 3))", {"x": (3, 4)}),
    "tile_vector": ("out = np.tile(v, (3, 2))", {"v": (4,)}),
    "tile_counts": ("r = (2, 1)\n    out = np.tile(x, r)", {"x": (3, 4)}),
    "tril": ("out = np.tril(x) * x", {"x": (4, 4)}),
    "tril_k": ("out = np.tril(x, -1) + np.tril(x, k=1)", {"x": (3, 4)}),
    "tril_vector": ("out = np.tril(v)", {"v": (4,)}),
    "triu": ("out = np.triu(a, 1)", {"a": (2, 3, 4)}),
    "diag": ("out = np.diag(v) @ x", {"v": (3,), "x": (3, 4)}),
    "diag_k": ("out = np.diag(v, -1)", {"v": (3,)}),
    "diag_matrix": ("out = np.diag(x, 1) * 2", {"x": (3, 4)}),
    "diagonal": ("out = np.diagonal(a, 1, 1, 2)", {"a": (2, 3, 4)}),
    "diagonal_method": ("out = x.diagonal() * 2", {"x": (3, 4)}),
    "trace": ("out = np.trace(x @ x.T) + np.trace(x, 1)", {"x": (3, 4)}),
    "trace_batched": ("out = np.trace(a, axis1=1, axis2=2) * 2", {"a": (2, 3, 3)}),
    "trace_method": ("out = x.trace(-1)", {"x": (3, 4)}),
    "sinh": ("out = np.sinh(x)", {"x": (3, 4)}),
    "cosh": ("out = np.cosh(x)", {"x": (3, 4)}),
    "arcsinh": ("out = np.arcsinh(3 * x)", {"x": (3, 4)}),
    "arccosh": ("out = np.arccosh(x * x + 1.2)", {"x": (3, 4)}),
    "arctanh": ("out = np.arctanh(0.9 * np.tanh(x))", {"x": (3, 4)}),
    "arcsin": ("out = np.arcsin(0.9 * np.tanh(x))", {"x": (3, 4)}),
    "arccos": ("out = np.arccos(0.9 * np.tanh(x))", {"x": (3, 4)}),
    "arctan": ("out = np.arctan(3 * x)", {"x": (3, 4)}),
    "arctan2": ("out = np.arctan2(x, b)", {"x": (3, 4), "b": (4,)}),
    "hypot": ("out = np.hypot(x, b)", {"x": (3, 4), "b": (4,)}),
    "log2": ("out = np.log2(x * x + 0.5)", {"x": (3, 4)}),
    "log10": ("out = np.log10(x * x + 0.5)", {"x": (3, 4)}),
    "exp2": ("out = np.exp2(x)", {"x": (3, 4)}),
    "expm1": ("out = np.expm1(x)", {"x": (3, 4)}),
    "cbrt": ("out = np.cbrt(x)", {"x": (3, 4)}),
    "deg2rad": ("out = np.sin(np.deg2rad(50 * x)) + np.radians(x)", {"x": (3, 4)}),
    "rad2deg": ("out = np.rad2deg(x) + np.degrees(x * x)", {"x": (3, 4)}),
    "logaddexp": ("out = np.logaddexp(x, b)", {"x": (3, 4), "b": (4,)}),
    "logaddexp2": ("out = np.logaddexp2(x, 3 * b)", {"x": (3, 4), "b": (3, 1)}),
    "cross": ("out = np.cross(x, w)", {"x": (4, 3), "w": (3,)}),
    "kron": ("out = np.kron(x, w)", {"x": (2, 3), "w": (3, 2)}),
    "kron_vector": ("out = np.kron(v, u)", {"v": (3,), "u": (2,)}),
    "kron_mixed": ("out = np.kron(v, w)", {"v": (3,), "w": (3, 2)}),
    "inv": ("out = np.linalg.inv(x @ x.T + np.eye(3))", {"x": (3, 4)}),
    "inv_batched": ("out = np.linalg.inv(a + 3)", {"a": (2, 2, 2)}),
    "solve": (
        "out = np.linalg.solve(x @ x.T + np.eye(3), v)",
        {"x": (3, 4), "v": (3,)},
    ),
    "solve_matrix": (
        "out = np.linalg.solve(x @ x.T + np.eye(3), w)",
        {"x": (3, 4), "w": (3, 2)},
    ),
    "det": ("out = np.linalg.det(x @ x.T)", {"x": (3, 4)}),
    "det_direct": ("out = np.linalg.det(c)", {"c": (3, 3)}),
    "det_batched": ("out = np.linalg.det(a)", {"a": (2, 3, 3)}),
    # through a symmetric x, and straight on x (NumPy reads its lower triangle)
    "cholesky": ("out = np.linalg.cholesky(x @ x.T + np.eye(3))", {"x": (3, 4)}),
    "cholesky_direct": (
        "out = np.linalg.cholesky(c)",
        {"c": (3, 3)},
        lambda p: p.__setitem__(
            "c", p["c"] @ p["c"].T + 3 * np.eye(3) + np.triu(p["c"], 1)
        ),
    ),
    "norm": ("out = np.linalg.norm(x)", {"x": (3, 4)}),
    "norm_axis": ("out = np.linalg.norm(x, axis=1)", {"x": (3, 4)}),
    "norm_keepdims": (
        "out = x / np.linalg.norm(x, axis=0, keepdims=True)",
        {"x": (3, 4)},
    ),
    "norm_vector_ord": ("out = np.linalg.norm(v, ord=2)", {"v": (4,)}),
    "norm_fro": ("out = np.linalg.norm(a, ord='fro', axis=(1, 2))", {"a": (2, 3, 4)}),
}

#: Cases HIPS autograd (1.9) cannot check: central differences are the
#: reference there. Where autograd is wrong, the case passes central differences.
NOT_IN_AUTOGRAD = {
    # autograd is wrong: z / x at zeros (inf, nan)
    "prod_zeros",
    "prod_zeros_all",
    # autograd is wrong: a broadcast operand gets the broadcast shape
    "cross",
    "tril_vector",
    # autograd symmetrizes: right for symmetric perturbations only
    "cholesky_direct",
    # autograd refuses: no VJP, or the arguments are not supported
    "cbrt",
    "matrix_transpose",
    "diag_matrix",
    "diagonal",
    "diagonal_method",
    "flip",
    "flip_all",
    "real",
    "repeat_counts",
    "repeat_negative_axis",
    "roll_tuple",
    "rot90_k",
    "tile",
    "trace_batched",
}

#: Cases refused (located at nothing wrong) when the rank is not annotated
#: (ord=2 is right for both since linalg_more's matrix rule takes it).
REFUSED_PLAIN: set[str] = set()


def _case(case: str) -> tuple[str, dict, object]:
    body, params, *fix = CASES[case]
    return body, params, fix[0] if fix else None


def _points(case: str, rng) -> dict:
    _, params, fix = _case(case)
    point = _point(params, rng)
    if fix is not None:
        fix(point)
    return point


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_breadth_rule_matches_central_differences(case, annotate):
    body, params, _ = _case(case)
    source = _source(body, params, annotate)
    wrt = list(params)
    if not annotate and case in REFUSED_PLAIN:
        with pytest.raises(CodegenError, match="has no adjoint here"):
            build(source, "f", wrt)
        return
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(0)
    for trial in range(2):
        point = _points(case, rng)
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(params), point, wrt, case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


@pytest.mark.parametrize("case", sorted(set(CASES) - NOT_IN_AUTOGRAD))
def test_breadth_rule_matches_autograd(case):
    body, params, _ = _case(case)
    source = _source(body, params, annotate=case in REFUSED_PLAIN)
    wrt = list(params)
    point = _points(case, np.random.default_rng(1))
    _agrees_with_autograd(source, wrt, {p: point[p] for p in params}, case)


# The math twins: (scalar expression, domain), as tests/test_rules.py's.
SCALAR_CASES = {
    "sinh": ("math.sinh(x)", (-3, 3)),
    "cosh": ("math.cosh(x)", (-3, 3)),
    "arcsinh": ("math.asinh(x)", (-3, 3)),
    "arccosh": ("math.acosh(x)", (1.05, 4)),
    "arctanh": ("math.atanh(x)", (-0.95, 0.95)),
    "arcsin": ("math.asin(x)", (-0.95, 0.95)),
    "arccos": ("math.acos(x)", (-0.95, 0.95)),
    "arctan": ("math.atan(x)", (-3, 3)),
    "arctan2": ("math.atan2(x, y)", (0.2, 3)),
    "hypot": ("math.hypot(x, y)", (-3, 3)),
    "log2": ("math.log2(x)", (0.05, 3)),
    "log10": ("math.log10(x)", (0.05, 3)),
    "expm1": ("math.expm1(x)", (-3, 3)),
    "cbrt": ("math.cbrt(x)", (-3, 3)),
    "fmod": ("math.fmod(x, 2.5) + math.fmod(9.0, x + 4.5)", (0.2, 1.5)),
    "copysign": ("math.copysign(x, -1.5) * x", (0.5, 3)),
    "ldexp": ("math.ldexp(x, 3) + math.ldexp(x, -1)", (-3, 3)),
    "deg2rad": ("math.radians(x)", (-3, 3)),
    "rad2deg": ("math.degrees(x)", (-3, 3)),
    "math_pow": ("math.pow(x, y) + math.pow(x, 2.5) + math.pow(2.0, y)", (0.2, 3)),
    "float": ("float(x * y) * x", (-3, 3)),
    # tests/test_scalar_builtins.py has more of these, in NumPy modules too
    "fsum": ("math.fsum([x, y, x * y, 0.25])", (-3, 3)),
    "hypot_n": ("math.hypot(x, y, x - 2.0) + math.hypot(y)", (0.2, 3)),
    "log_base": ("math.log(x, y + 1.0) + math.log(3.0, y + 1.0)", (0.2, 3)),
    "erf": ("math.erf(x)", (-3, 3)),
    "exp2": ("math.exp2(x)", (-3, 3)),
    "erfc": ("math.erfc(x)", (-3, 3)),
    # x / 3.1 never reaches a half-integer on [-1.5, 1.5]: no jump
    "remainder_ieee": (
        "math.remainder(x, 3.1) + math.remainder(5.0, y + 0.8)",
        (-1.5, 1.5),
    ),
}


@pytest.mark.parametrize("case", sorted(SCALAR_CASES))
def test_breadth_math_twin_matches_central_differences(case):
    expr, (lo, hi) = SCALAR_CASES[case]
    src = f"import math\n\ndef f(x, y):\n    out = {expr} + 0 * y\n    return out\n"
    forward, generated, code = build(src, "f", ["x", "y"])
    assert "numpy" not in code
    rng = np.random.default_rng(0)
    for trial in range(5):
        x, y = rng.uniform(lo, hi, size=2)
        pair = (generated.f_forward, generated.f_backward)
        point = {"x": float(x), "y": float(y)}
        report = check_gradients(
            forward.f, pair, ["x", "y"], point, ["x", "y"], case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code
    assert math.isfinite(generated.f_value_and_grad(float(x), float(y))[0])


def test_prod_gradient_at_zeros_is_the_product_of_the_others():
    body, _, _ = _case("prod_zeros")
    _, generated, _ = build(_source(body, {"x": (2, 3)}), "f", ["x"])
    x = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0]])
    _, cache = generated.f_forward(x)
    grad = generated.f_backward(np.ones(2), cache)
    assert np.array_equal(grad, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]])


def test_norm_with_ord_0_counts_entries_and_has_no_gradient():
    # the count of nonzero entries is a step function: zero wherever it has
    # a derivative (central differences agree at a point with no zero entry)
    src = _source("out = np.linalg.norm(x, ord=0, axis=1) * x[:, 0]", {"x": (3, 4)})
    forward, generated, _ = build(src, "f", ["x"])
    x = np.random.default_rng(0).standard_normal((3, 4))
    value, grad = generated.f_value_and_grad(x)
    np.testing.assert_array_equal(value, forward.f(x))
    want = np.zeros((3, 4))
    want[:, 0] = 4.0  # d/dx[:, 0] of 4 * x[:, 0]
    np.testing.assert_array_equal(grad, want)


def test_the_percent_operator_is_np_mod():
    """`%` and `%=` spell np.mod (issue 14: 9 of autograd's tests use them)."""
    import numpy as np

    from codegen.checks.verify import check_gradients
    from conftest import build

    src = "import numpy as np\n\ndef f(x, y):\n    z = x % y\n    z %= 1.5\n    return np.sum(z * x)\n"
    forward, generated, _ = build(src, "f")
    point = {"x": np.array([2.3, -1.7, 4.1]), "y": np.array([1.1, 0.9, 1.3])}
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "y"],
        point,
        ["x", "y"],
    )
    assert report.ok, report.summary()


def test_repeat_zero_times_has_zero_gradient():
    """Found by the autograd conformance run: repeats=0 gives an empty array."""
    import numpy as np

    from conftest import build

    src = "import numpy as np\n\ndef f(x):\n    return np.sum(np.repeat(x, 0, axis=1)) + np.sum(x * x)\n"
    _, generated, _ = build(src, "f")
    x = np.arange(6.0).reshape(2, 3)
    _, g = generated.f_value_and_grad(x)
    assert np.allclose(g, 2 * x)


def test_an_adjoint_refusing_a_use_is_located():
    """A declaration that refuses a case (norm with ord=-1, a vector or a
    matrix norm for an array of unknown rank) is located."""
    import pytest

    from codegen.errors import CodegenError
    from conftest import build

    src = "import numpy as np\n\ndef f(x):\n    return np.linalg.norm(x, ord=-1)\n"
    with pytest.raises(CodegenError) as info:
        build(src, "f")
    assert str(info.value).startswith("<test>:4:12: error: np.linalg.norm with ord=-1")
