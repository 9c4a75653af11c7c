"""The primitives and declarations of issue 14's second breadth batch
(codegen/core/prims/breadth_more.py; np.cross with its axes, ddof of var
and std, np.dot and np.inner of any rank) against central differences,
each case annotated and plain (ranks unknown), and against HIPS autograd
where it has the op and agrees on the convention."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd, _point, _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

# name: (body, {param: shape}[, point fix-up]); the body's last line assigns
# `out`. A shape () is a 0-d array, as autograd's R() is.


def _away(point: dict) -> None:
    """Divisors away from zero."""
    w = point["w"]
    point["w"] = w + np.where(w < 0, -0.5, 0.5)


CASES: dict[str, tuple] = {
    # ----- np.cross: every axis combination, negative axes, broadcasting -----
    "cross": ("out = np.cross(x, w)", {"x": (4, 3), "w": (3,)}),
    "cross_axisa": ("out = np.cross(x, w, axisa=0)", {"x": (3, 4), "w": (4, 3)}),
    "cross_axes": (
        "out = np.cross(x, w, axisa=0, axisb=1, axisc=0)",
        {"x": (3, 3), "w": (3, 3)},
    ),
    "cross_axisc": (
        "out = np.cross(x, w, axisa=-2, axisb=-1, axisc=1)",
        {"x": (2, 3, 4), "w": (4, 3)},
    ),
    "cross_axis": ("out = np.cross(x, w, axis=0)", {"x": (3, 4), "w": (3, 1)}),
    "cross_axis_negative": (
        "out = np.cross(x, w, axisa=1, axis=-2)",
        {"x": (2, 3, 4), "w": (3, 4)},
    ),
    "cross_positional": ("out = np.cross(x, w, 0, 1, 1)", {"x": (3, 2), "w": (2, 3)}),
    "cross_same": ("out = np.cross(x, x[::-1], axisa=0, axisc=0)", {"x": (3, 3)}),
    # 2-vectors: padded by a zero (NumPy 2 deprecates them but computes them)
    "cross_two_three": ("out = np.cross(x, w)", {"x": (4, 2), "w": (4, 3)}),
    "cross_three_two": ("out = np.cross(w, x, axisb=0)", {"x": (2, 4), "w": (4, 3)}),
    "cross_two_two": ("out = np.cross(x, w, axisa=0)", {"x": (2, 2), "w": (2, 2)}),
    "cross_two_two_flat": ("out = np.cross(x, w)", {"x": (2,), "w": (3, 2)}),
    # ----- ddof of var and std -----
    "var_ddof": ("out = np.var(x, ddof=1)", {"x": (3, 4)}),
    "var_ddof_axis": (
        "out = np.var(x, axis=-1, ddof=2, keepdims=True) * x",
        {"x": (3, 4)},
    ),
    "var_ddof_positional": ("out = np.var(x, 0, None, None, 1)", {"x": (3, 4)}),
    "var_ddof_method": ("out = x.var(1, ddof=1)", {"x": (3, 4)}),
    "var_ddof_name": ("d = 2\n    out = np.var(x, ddof=d)", {"x": (2, 3)}),
    "std_ddof": ("out = np.std(a, axis=(0, 2), ddof=1)", {"a": (2, 3, 4)}),
    "std_ddof_keepdims": (
        "out = np.std(x, axis=0, ddof=1, keepdims=True) * x",
        {"x": (3, 4)},
    ),
    "std_ddof_method": ("out = x.std(ddof=1)", {"x": (3, 4)}),
    "std_ddof_vector": ("out = np.std(v, ddof=2)", {"v": (5,)}),
    # ----- np.dot and np.inner of every rank -----
    "dot_matrix_vector": ("out = np.dot(x, v)", {"x": (3, 4), "v": (4,)}),
    "dot_vector_matrix": ("out = np.dot(v, x)", {"v": (3,), "x": (3, 4)}),
    "dot_vectors": ("out = np.dot(v, u)", {"v": (4,), "u": (4,)}),
    "dot_matrices": ("out = np.dot(x, w)", {"x": (3, 4), "w": (4, 2)}),
    "dot_scalar": ("out = np.dot(x, s)", {"x": (3, 4), "s": ()}),
    "dot_scalar_first": ("out = np.dot(s, v)", {"s": (), "v": (4,)}),
    "dot_scalars": ("out = np.dot(s, t)", {"s": (), "t": ()}),
    "dot_literal": ("out = np.dot(2.5, x) + np.dot(x, 0.5)", {"x": (3, 4)}),
    "dot_nd": ("out = np.dot(a, c)", {"a": (2, 3, 4), "c": (3, 4, 2)}),
    "dot_nd_vector": ("out = np.dot(a, v)", {"a": (2, 3, 4), "v": (4,)}),
    "dot_vector_nd": ("out = np.dot(v, c)", {"v": (4,), "c": (3, 4, 2)}),
    "dot_matrix_nd": ("out = np.dot(x, c)", {"x": (2, 4), "c": (3, 4, 2)}),
    "dot_method_nd": ("out = a.dot(w)", {"a": (2, 3, 4), "w": (4, 2)}),
    "dot_same": ("out = np.dot(x, x.T) + x.dot(x[0])", {"x": (3, 3)}),
    "inner_vectors": ("out = np.inner(v, u)", {"v": (4,), "u": (4,)}),
    "inner_matrix_vector": ("out = np.inner(x, v)", {"x": (2, 3), "v": (3,)}),
    "inner_vector_matrix": ("out = np.inner(v, x)", {"v": (3,), "x": (4, 3)}),
    "inner_matrices": ("out = np.inner(x, w)", {"x": (2, 3), "w": (4, 3)}),
    "inner_nd": ("out = np.inner(a, w)", {"a": (2, 3, 4), "w": (5, 4)}),
    "inner_nd_nd": ("out = np.inner(a, c)", {"a": (2, 3, 4), "c": (2, 4)}),
    "inner_scalar": ("out = np.inner(s, x)", {"s": (), "x": (4, 3)}),
    "inner_scalar_last": ("out = np.inner(x, s)", {"x": (4, 3), "s": ()}),
    # ----- breadth_more.py -----
    "fmax": ("out = np.fmax(x, b)", {"x": (3, 4), "b": (4,)}),
    "fmax_broadcast": ("out = np.fmax(x, c)", {"x": (3, 1), "c": (1, 4)}),
    "fmax_same": ("out = np.fmax(x, x[::-1])", {"x": (3, 4)}),
    "fmin": ("out = np.fmin(x, b)", {"x": (3, 4), "b": (4,)}),
    "fmin_constant": ("out = np.fmin(x, 0.3) + np.fmin(-0.2, x)", {"x": (3, 4)}),
    "rollaxis": ("out = np.rollaxis(a, 2)", {"a": (2, 3, 4)}),
    "rollaxis_start": ("out = np.rollaxis(a, 0, 2) * 2", {"a": (2, 3, 4)}),
    "rollaxis_end": ("out = np.rollaxis(a, 0, 3)", {"a": (2, 3, 4)}),
    "rollaxis_same": (
        "out = np.rollaxis(a, 1, 1) + np.rollaxis(a, 1, 2)",
        {"a": (2, 3, 4)},
    ),
    "rollaxis_negative": ("out = np.rollaxis(a, -1, -3)", {"a": (2, 3, 4)}),
    "rollaxis_mixed": ("out = np.rollaxis(a, -1, 1)", {"a": (2, 3, 4)}),
    "rollaxis_mixed_start": ("out = np.rollaxis(a, 0, -1)", {"a": (2, 3, 4, 5)}),
    "rollaxis_keywords": ("out = np.rollaxis(a, axis=2, start=1)", {"a": (2, 3, 4)}),
    "rollaxis_name": ("k = 2\n    out = np.rollaxis(a, k, 1)", {"a": (2, 3, 4)}),
    "ceil": ("out = np.ceil(x) * x", {"x": (3, 4)}),
    "fabs": ("out = np.fabs(x) * b", {"x": (3, 4), "b": (4,)}),
    # ----- more piecewise constant functions: no gradient through them -----
    "trunc": ("out = np.trunc(3 * x) * x", {"x": (3, 4)}),
    "rint": ("out = np.rint(3 * x) * x", {"x": (3, 4)}),
    "fix": ("out = np.fix(3 * x) * x", {"x": (3, 4)}),
    # (steps of 1 and 10: the central differences' step crosses none)
    "round": ("out = np.round(3 * x) * x + np.around(x, decimals=-1)", {"x": (3, 4)}),
    "round_method": ("out = (x / 10).round(1) * x", {"x": (3, 4)}),
    # ----- casts to a float type -----
    "float64": ("out = np.float64(x) * x + np.float64(2.0) * x", {"x": (3, 4)}),
    "float32": ("out = np.float32(0.5) * x", {"x": (3, 4)}),
    "float_of_array": (
        "out = float(np.sum(x * x)) * x + float(x[0, 1])",
        {"x": (3, 4)},
    ),
    # ----- np.take: an index along an axis, repeats added -----
    "take_repeats": ("out = np.take(x, [0, 0, 2], axis=1) ** 2", {"x": (2, 3)}),
    "take_negative_axis": (
        "out = np.take(a, [2, 2, 0], axis=-2) ** 2",
        {"a": (2, 3, 2)},
    ),
    "take_flat": ("out = np.take(x, [5, 0, 5]) * 3.0", {"x": (2, 3)}),
    "take_index_matrix": (
        "out = np.take(x, [[0, 1], [1, 1]], axis=0) ** 2",
        {"x": (2, 3)},
    ),
    "take_scalar": ("out = np.take(x, -1, axis=1) * x[:, 0]", {"x": (2, 3)}),
    # ----- arrays filled with one value; the value's gradient -----
    "full": ("out = np.full((3, 4), s) * x", {"x": (3, 4), "s": ()}),
    "full_broadcast": ("out = np.full((3, 4), s) * x", {"x": (3, 4), "s": (4,)}),
    "full_like": (
        "out = np.full_like(x, s) * x + np.full_like(x, 0.5)",
        {"x": (3, 4), "s": ()},
    ),
    # of an integer array the value is cast to integers: no gradient through it
    "full_like_integers": (
        "out = np.full_like(np.arange(4), s) * x + s * x",
        {"x": (3, 4), "s": ()},
    ),
    # ----- more stacking -----
    "diagflat": (
        "out = np.diagflat(x) ** 2 + np.sum(np.diagflat(x, -1))",
        {"x": (2, 2)},
    ),
    "dstack": ("out = np.dstack([x, x * 2.0]) ** 2", {"x": (3, 4)}),
    "concatenate_flat": (
        "out = np.concatenate((x, w), axis=None) ** 2",
        {"x": (3, 4), "w": (5,)},
    ),
    # ----- masks, counts and positions: no gradient through them -----
    "masks_and_counts": (
        "m = np.logical_and(np.greater(x, -0.5), np.less_equal(x, 1.0))\n"
        "    m = np.logical_or(m, np.logical_not(np.isclose(x, 0.0, atol=0.2)))\n"
        "    c = np.count_nonzero(m, axis=1) + np.any(x > 0, axis=1) + np.all(x > -5)\n"
        "    out = np.where(m, x, 0.0).sum(axis=1) / c + np.sum(x[np.nonzero(x > 0)] ** 2)",
        {"x": (3, 4)},
    ),
    "positions": (
        "i = np.flatnonzero(x > 0)\n"
        "    j = np.argpartition(x, 1, axis=1)[:, :2]\n"
        "    k = np.searchsorted(np.array([-1.0, 0.0, 1.0]), x)\n"
        "    out = np.sum(x.ravel()[i] ** 2) + np.sum(np.take_along_axis(x, j, axis=1)) + x * k",
        {"x": (3, 4)},
    ),
    # ----- np.linalg functions with their NumPy signatures -----
    "norm_fro_positional": ("out = np.linalg.norm(x, 'fro')", {"x": (3, 4)}),
    "norm_axis_positional": (
        "out = np.linalg.norm(x, None, 1, True) * x",
        {"x": (3, 4)},
    ),
    "norm_inf_positional": ("out = np.linalg.norm(v, np.inf)", {"v": (5,)}),
    "norm_minus_one_positional": ("out = np.linalg.norm(v, -1)", {"v": (5,)}),
    # every mode and length pair: tests/test_convolve.py
    "convolve_same": ("out = np.convolve(v, w, 'same') * v", {"v": (5,), "w": (3,)}),
    "correlate_full": ("out = np.correlate(w, v, mode='full')", {"v": (5,), "w": (3,)}),
    "asarray": ("out = np.asarray(x) * x", {"x": (2, 3)}),
    "item_value": ("out = np.sum(x * w).item() * x", {"x": (2, 3), "w": (3,)}),
    # ----- index builders: tuples of index arrays, unpacked or indexing -----
    "triu_indices_pairs": (
        "d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)\n"
        "    out = np.sqrt(d[np.triu_indices(4, 1)] + 1.0)",
        {"x": (4, 2)},
    ),
    "tril_indices_unpacked": (
        "i, j = np.tril_indices(3, k=-1, m=4)\n    out = x[i, j] * x[j, i]",
        {"x": (4, 4)},
    ),
    "diag_indices_in_place": (
        "y = x @ x.T\n    y[np.diag_indices(3)] += 1.0\n    out = np.linalg.det(y)",
        {"x": (3, 3)},
    ),
    "diag_indices_ndim": (
        "out = x[np.diag_indices(2, 3)] * x[np.diag_indices(2, ndim=3)]",
        {"x": (2, 2, 2)},
    ),
    "ix_repeats": ("out = x[np.ix_([0, 2], [1, 1, 3])] ** 2", {"x": (3, 4)}),
    "ix_set": (
        "y = np.zeros((3, 4))\n    y[np.ix_([0, 2], [1, 3])] = w\n    out = y * x",
        {"x": (3, 4), "w": (2, 2)},
    ),
    "indices_grid": (
        "g = np.indices(x.shape)\n    out = x * g[0] + x * g[1]",
        {"x": (3, 4)},
    ),
    "meshgrid": (
        "a, b = np.meshgrid(v, w)\n    out = a * b + np.sin(a)",
        {"v": (4,), "w": (3,)},
    ),
    "meshgrid_ij_three": (
        "g = np.meshgrid(v, w, x, indexing='ij')\n    out = g[0] * g[1] - g[2]",
        {"v": (4,), "w": (3,), "x": (2, 1)},
    ),
    "polyval": ("out = np.polyval(v, x)", {"v": (4,), "x": (2, 3)}),
    "polyval_array_coefficients": (
        "out = np.polyval([x, w * 2.0], x)",
        {"x": (2, 3), "w": (2, 3)},
    ),
    "polyval_coefficient_rows": (
        "out = np.polyval(x, w)",
        {"x": (3, 1, 2), "w": (4, 2)},
    ),
    "polyval_list": (
        "out = np.polyval([v[0], 2.0, v[1] * v[2]], w)",
        {"v": (3,), "w": (4,)},
    ),
    "add_outer": ("out = np.add.outer(v, x)", {"v": (4,), "x": (2, 3)}),
    "subtract_outer": (
        "out = np.subtract.outer(x, v) * x[0, 0]",
        {"v": (4,), "x": (2, 3)},
    ),
    "multiply_outer": ("out = np.multiply.outer(x, x)", {"x": (2, 3)}),
    "divide_outer": ("out = np.divide.outer(v, w)", {"v": (4,), "w": (3,)}, _away),
    "asarray_list": ("out = np.asarray([v[0], v[1] * v[2]]) * v[:2]", {"v": (4,)}),
    "reciprocal": ("out = np.reciprocal(x * x + 0.5)", {"x": (3, 4)}),
    "sinc": ("out = np.sinc(x)", {"x": (3, 4)}),
    "sinc_zero": (
        "out = np.sinc(x) * x",
        {"x": (2, 3)},
        lambda p: p["x"].__setitem__((0, 1), 0.0),
    ),
    # finite entries only here (NaN and inf come from a constant operand in
    # test_nan_to_num_passes_finite_entries_only: any differentiable path to
    # an infinity has an infinite derivative itself)
    "nan_to_num": (
        "out = np.nan_to_num(x, posinf=1.0, neginf=-1.0) * x",
        {"x": (3, 4)},
    ),
    "conj": ("out = np.conj(x) * x", {"x": (3, 4)}),
    "conj_conjugate": ("out = np.conjugate(x) @ w", {"x": (3, 4), "w": (4, 2)}),
    "real_if_close": ("out = np.real_if_close(x) * 2 + x", {"x": (3, 4)}),
    "imag": ("out = np.imag(x) + x", {"x": (3, 4)}),
    "angle": ("out = np.angle(x) * x + np.angle(x, deg=True)", {"x": (3, 4)}),
    # ----- np.pad in the modes that copy entries -----
    "pad_copy_edge": ("out = np.pad(x, 1, mode='edge') * 2", {"x": (3, 4)}),
    "pad_copy_reflect": (
        "out = np.pad(x, ((1, 2), (3, 0)), mode='reflect')",
        {"x": (3, 4)},
    ),
    "pad_copy_reflect_twice": (
        "out = np.pad(x, ((4, 4), (0, 1)), mode='reflect')",
        {"x": (3, 4)},
    ),
    "pad_copy_symmetric": (
        "out = np.pad(a, (2, 1), mode='symmetric')",
        {"a": (2, 3, 4)},
    ),
    "pad_copy_wrap": ("out = np.pad(x, ((0, 0), (5, 6)), mode='wrap')", {"x": (3, 4)}),
    "pad_copy_vector": ("out = np.pad(v, 3, mode='edge') ** 2", {"v": (4,)}),
}

#: Cases HIPS autograd (1.9) cannot check: central differences are the
#: reference there.
NOT_IN_AUTOGRAD = {
    # autograd has no rule for np.convolve, np.correlate, np.asarray of a list
    "convolve_same",
    "correlate_full",
    "asarray",
    "asarray_list",
    "polyval",
    "polyval_list",
    "meshgrid",
    "meshgrid_ij_three",
    # ... nor for np.add.outer and its kin (the ufuncs' methods)
    "add_outer",
    "subtract_outer",
    "multiply_outer",
    "divide_outer",
    # autograd is wrong: its np.pad rule is the interior slice in every mode
    "pad_copy_edge",
    "pad_copy_reflect",
    "pad_copy_reflect_twice",
    "pad_copy_symmetric",
    "pad_copy_wrap",
    "pad_copy_vector",
    # autograd is wrong: a broadcast operand gets the broadcast shape
    "cross",
    "cross_axis",
    "cross_axisc",
    "cross_axis_negative",
    "cross_two_two_flat",
    # autograd is wrong for 2-vectors (shapes, or the z-component's gradient)
    "cross_two_three",
    "cross_three_two",
    "cross_two_two",
    # autograd refuses: dtype and out given by position
    "var_ddof_positional",
    # autograd's arrays have no .dot method
    "dot_method_nd",
    "dot_same",
    # autograd refuses: rollaxis with negative axes, angle's deg, nan_to_num's
    # posinf
    "rollaxis_negative",
    "rollaxis_mixed",
    "rollaxis_mixed_start",
    "angle",
    "nan_to_num",
    # autograd is wrong: nan at sinc(0), whose derivative is 0
    "sinc_zero",
    # autograd has no VJP for np.take; np.float64 of its boxed arrays raises;
    # its norm takes ord and axis by keyword only, and gives nan for ord=inf
    "take_repeats",
    "take_negative_axis",
    "take_flat",
    "take_index_matrix",
    "take_scalar",
    "float64",
    "float_of_array",
    "norm_axis_positional",
    "norm_inf_positional",
    "norm_minus_one_positional",
    # autograd: np.full_like has no gradient for its value, np.full's value
    # gets sum(g) whatever its shape; np.concatenate(axis=None) raises; no VJP
    # for np.diagflat or np.take_along_axis
    "full_like",
    "full_broadcast",
    "concatenate_flat",
    "diagflat",
    "positions",
    # no VJP of polyval in autograd
    "polyval_array_coefficients",
    "polyval_coefficient_rows",
    # autograd's arrays have no .item(), nor item assignment
    "item_value",
    "diag_indices_in_place",
    "ix_set",
}

#: Cases refused (located) when the rank is not annotated.
#: (ord=1, 2, inf and -inf are right for both: tests/test_prims_linalg_decomp.py)
REFUSED_PLAIN: set[str] = {"norm_minus_one_positional"}  # a vector or a matrix?


def _case(case: str) -> tuple[str, dict, object]:
    body, params, *fix = CASES[case]
    return body, params, fix[0] if fix else None


def _points(case: str, rng) -> dict:
    _, params, fix = _case(case)
    point = _point(params, rng)
    if fix is not None:
        fix(point)
    return point


@pytest.fixture(autouse=True)
def _quiet_two_vectors():
    with warnings.catch_warnings():  # NumPy 2 deprecates np.cross of 2-vectors
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_breadth_more_rule_matches_central_differences(case, annotate):
    body, params, _ = _case(case)
    source = _source(body, params, annotate)
    wrt = list(params)
    if not annotate and case in REFUSED_PLAIN:
        with pytest.raises(CodegenError):
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
def test_breadth_more_rule_matches_autograd(case):
    body, params, _ = _case(case)
    source = _source(body, params)
    wrt = list(params)
    point = _points(case, np.random.default_rng(1))
    _agrees_with_autograd(source, wrt, {p: point[p] for p in params}, case)


#: Cases whose backward is differentiated again (the helpers are primitives).
SECOND_ORDER = sorted(
    c
    for c in CASES
    if c.startswith(("cross", "dot", "inner", "fm", "roll", "sinc", "pad_copy"))
)


@pytest.mark.parametrize("case", SECOND_ORDER)
def test_breadth_more_second_order_matches_central_differences(case):
    """The Hessian-vector product of sum(out * w) through the generated
    backward, against central differences of the first gradient."""
    from references import second_order_report

    body, params, _ = _case(case)
    wrt = list(params)
    # a nonlinear read-out, so that the second derivative is not zero
    source = _source(body + "\n    out = np.sin(out)", params, annotate=False)
    rng = np.random.default_rng(3)
    report, second = second_order_report(source, wrt, _points(case, rng), rng, case)
    assert report.ok, report.summary() + "\n" + second


@pytest.mark.parametrize(
    "expr,key",
    [
        ("np.std(x, ddof=y)", "ddof"),
        ("x.var(ddof=y * 0 + 1)", "ddof"),
        ("np.pad(x, 1, constant_values=y)", "constant_values"),
    ],
)
def test_a_differentiated_keyword_operand_is_refused(expr, key):
    """Keywords have no adjoint: a differentiated value there would get a
    zero gradient (d var / d ddof is not zero), so it is refused, located."""
    src = f"import numpy as np\n\n\ndef f(x, y):\n    return np.sum({expr} ** 2)\n"
    with pytest.raises(CodegenError) as info:
        build(src, "f", ["x", "y"])
    assert str(info.value).startswith("<test>:5:"), str(info.value)
    assert f"the '{key}' argument depends on a differentiated value" in str(info.value)
    _, generated, _ = build(src, "f", ["x"])  # a constant there is fine
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    assert np.isfinite(generated.f_value_and_grad(x, 2.0)[0])


def test_nan_to_num_passes_finite_entries_only():
    """sum(sin(nan_to_num(x + c)) * w) with c = [0, nan, inf, -inf], as in
    autograd's test: the gradient is cos(x + c) w at the finite entry and 0
    where x + c is replaced by a constant."""
    src = (
        "import numpy as np\n\n\ndef f(x, c, w):\n"
        "    return np.sum(np.sin(np.nan_to_num(x + c, nan=0.5, posinf=2.0)) * w)\n"
    )
    forward, generated, _ = build(src, "f", ["x"])
    x = np.array([0.3, -1.2, 0.7, 1.9])
    c = np.array([0.0, np.nan, np.inf, -np.inf])
    w = np.array([1.5, -2.0, 0.5, 3.0])
    value, grad = generated.f_value_and_grad(x, c, w)
    assert np.isclose(value, forward.f(x, c, w))
    by_hand = np.array([np.cos(0.3) * 1.5, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(grad, by_hand, rtol=1e-12)


@pytest.mark.parametrize("op", ["fmax", "fmin"])
def test_fmax_and_fmin_route_past_nan_and_give_ties_to_x(op):
    """The gradient goes to the operand returned: past a NaN to the other
    one, to x on a tie (as np.maximum and np.minimum), to x where both are
    NaN (documented: the value is NaN there)."""
    src = f"import numpy as np\n\n\ndef f(x, y, w):\n    return np.sum(np.{op}(x, y) * w)\n"
    _, generated, _ = build(src, "f", ["x", "y"])
    x = np.array([1.0, np.nan, 2.0, np.nan, 0.5])
    y = np.array([1.0, 3.0, np.nan, np.nan, -0.5])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    _, (gx, gy) = generated.f_value_and_grad(x, y, w)
    winner_x = 5.0 if op == "fmax" else 0.0  # 0.5 vs -0.5: the larger or smaller
    np.testing.assert_array_equal(gx, [1.0, 0.0, 3.0, 4.0, winner_x])
    np.testing.assert_array_equal(gy, [0.0, 2.0, 0.0, 0.0, 5.0 - winner_x])


@pytest.mark.parametrize(
    "expr",
    ["sum([x, y])", "sum([x, y, x * y]) * sum((x,), 2.0)", "sum([y], start=x) * x"],
)
def test_builtin_sum_of_a_list_is_a_chain_of_additions(expr):
    src = f"import numpy as np\n\n\ndef f(x, y):\n    return np.sum(np.sin({expr}))\n"
    forward, generated, code = build(src, "f", ["x", "y"])
    rng = np.random.default_rng(4)
    point = {"x": rng.standard_normal((3, 4)), "y": rng.standard_normal((3, 4))}
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, ["x", "y"], point, ["x", "y"])
    assert report.ok, report.summary() + "\n" + code


def test_builtin_sum_of_an_array_is_refused():
    """sum(x) of an array adds its rows (Python iterates the first axis):
    not taken for np.sum, refused with a location."""
    src = "import numpy as np\n\n\ndef f(x):\n    return np.sum(sum(x))\n"
    with pytest.raises(CodegenError) as info:
        build(src, "f", ["x"])
    assert str(info.value).startswith("<test>:5:23: error: builtin sum takes a list")


TAKE_INDICES = {
    "integers": np.array([2, 2, 0]),
    "negative": np.array([-1, -1, 0, 1]),
    # np.take reads booleans as the positions 0 and 1, where x[mask] masks
    "booleans": np.array([True, False, True]),
    "matrix": np.array([[1, 1], [0, 2]]),
}


@pytest.mark.parametrize("axis", ["1", "-1", "0", "None"])
@pytest.mark.parametrize("which", sorted(TAKE_INDICES))
def test_take_with_indices_known_only_at_run_time(which, axis):
    source = (
        "import numpy as np\n\n\n"
        f"def f(x, i):\n    return np.take(x, i, axis={axis}) ** 2 * 0.5 + x[0, 0]\n"
    )
    forward, generated, code = build(source, "f", ["x"])
    rng = np.random.default_rng(1)
    point = {"x": rng.standard_normal((3, 3)), "i": TAKE_INDICES[which]}
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, ["x", "i"], point, ["x"], which)
    assert report.ok, report.summary() + "\n" + code
    out, _ = generated.f_forward(**point)
    np.testing.assert_array_equal(out, forward.f(**point))


@pytest.mark.parametrize(
    "call",
    [
        "np.meshgrid(x, x, sparse=True)",
        "np.meshgrid(x, indexing='xy')",
        "np.meshgrid(*t)",
    ],
)
def test_meshgrid_forms_not_supported_are_located(call):
    src = f"import numpy as np\n\n\ndef f(x):\n    t = (x, x)\n    g = {call}\n    return g[0]\n"
    with pytest.raises(CodegenError) as info:
        build(src, "f", ["x"])
    assert str(info.value).startswith("<test>:6:")
