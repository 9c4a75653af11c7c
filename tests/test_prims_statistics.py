"""The statistics primitives and spellings (codegen/core/prims/statistics.py,
codegen/front/parse_statistics.py) against central differences of the
user's own forward, each case annotated and plain, and against HIPS autograd
where it has the op; second derivatives through their helpers."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd, _point, _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError


def _nans(p):
    p["x"][0, 1] = np.nan
    p["x"][2, 3] = np.nan


def _zeros(p):  # one zero in a row, two in another: no division by x
    p["x"][0, 1] = 0.0
    p["x"][1, 0] = 0.0
    p["x"][1, 2] = 0.0


# name: (body, {param: shape}[, point fix-up]); the body's last line assigns
# `out`. Sizes odd and even along the reduced axes (the median of an even
# slice is the mean of two entries).
CASES: dict[str, tuple] = {
    # ----- reductions that skip NaN -----
    "nansum": ("out = np.nansum(x, axis=0) * w", {"x": (3, 4), "w": (4,)}, _nans),
    "nansum_all": ("out = np.nansum(x)", {"x": (3, 4)}, _nans),
    "nanmean": ("out = np.nanmean(x, axis=1)", {"x": (3, 4)}, _nans),
    "nanmean_keepdims": (
        "out = np.nanmean(x, axis=0, keepdims=True) * w",
        {"x": (3, 4), "w": (3, 4)},
        _nans,
    ),
    "nanmax": ("out = np.nanmax(x, axis=1)", {"x": (3, 4)}, _nans),
    "nanmin": ("out = np.nanmin(x, axis=(0, 1))", {"x": (3, 4)}, _nans),
    "nanvar": ("out = np.nanvar(x, axis=1, ddof=1)", {"x": (3, 4)}, _nans),
    "nanvar_plain": ("out = np.nanvar(x)", {"x": (3, 4)}),
    "nanstd": ("out = np.nanstd(x, axis=0)", {"x": (3, 4)}, _nans),
    # ----- median and quantiles -----
    "median": ("out = np.median(x, axis=0)", {"x": (4, 5)}),
    "median_odd": ("out = np.median(x, axis=-1, keepdims=True) * x", {"x": (4, 5)}),
    "median_all": ("out = np.median(x)", {"x": (3, 4)}),
    "quantile": ("out = np.quantile(x, 0.3)", {"x": (3, 4)}),
    "quantile_axis": ("out = np.quantile(x, 0.7, axis=1)", {"x": (3, 4)}),
    "quantile_ends": (
        "out = np.quantile(x, 1.0, axis=0) + np.quantile(x, 0, axis=0)",
        {"x": (3, 4)},
    ),
    "percentile": (
        "out = np.percentile(x, 25, axis=0, keepdims=True) * w",
        {"x": (3, 4), "w": (3, 4)},
    ),
    "ptp": ("out = np.ptp(x, axis=0)", {"x": (3, 4)}),
    "ptp_all": ("out = np.ptp(x) * x", {"x": (3, 4)}),
    # ----- average -----
    "average": ("out = np.average(x, axis=0)", {"x": (3, 4)}),
    "average_weights": (
        "out = np.average(x, weights=w * w + 1)",
        {"x": (3, 4), "w": (3, 4)},
    ),
    "average_weights_1d": (
        "out = np.average(x, axis=1, weights=v)",
        {"x": (3, 4), "v": (4,)},
        lambda p: p.__setitem__("v", np.abs(p["v"]) + 0.5),
    ),
    "average_weights_axis0": (
        "out = np.average(a, axis=0, weights=v, keepdims=True) * a",
        {"a": (3, 2, 4), "v": (3,)},
        lambda p: p.__setitem__("v", np.abs(p["v"]) + 0.5),
    ),
    # ----- reductions of the entries a where= mask selects -----
    "masked_sum": (
        "out = np.sum(x, axis=1, where=y > 0, keepdims=True) * x",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "masked_sum_row": (
        "out = x.sum(axis=0, where=np.array([True, False, True, True]))",
        {"x": (3, 4)},
    ),
    "masked_mean": (
        "out = np.mean(x, axis=1, where=y > -0.5)",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "masked_mean_all": ("out = x.mean(where=y > 0)", {"x": (3, 4), "y": (3, 4)}),
    "masked_max": (
        "out = np.max(x, axis=0, where=y > -0.5, initial=-10.0)",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "masked_min": (
        "out = x.min(axis=1, where=y > -0.5, initial=10.0)",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "masked_prod": (
        "out = np.prod(x, axis=1, where=y > 0)",
        {"x": (3, 4), "y": (3, 4)},
    ),
    # ----- Python's max and min of numbers in a NumPy module -----
    "max_of_entries": ("out = max(x[0, 0], x[1, 2], x[2, 1]) * x", {"x": (3, 4)}),
    "min_of_entries": ("out = min(x[0, 0], 0.25) * x", {"x": (3, 4)}),
    # ----- cumprod, trapezoid -----
    "cumprod": ("out = np.cumprod(x, axis=1)", {"x": (3, 4)}),
    "cumprod_zeros": (
        "out = np.cumprod(x, axis=1) * w",
        {"x": (3, 4), "w": (3, 4)},
        _zeros,
    ),
    "cumprod_flat_zeros": ("out = np.cumprod(x)", {"x": (3, 4)}, _zeros),
    "cumprod_method": ("out = x.cumprod(axis=0)", {"x": (3, 4)}, _zeros),
    "trapezoid": ("out = np.trapezoid(x)", {"x": (3, 4)}),
    "trapezoid_dx": (
        "out = np.trapezoid(x, dx=0.3, axis=0) * w",
        {"x": (3, 4), "w": (4,)},
    ),
    # ----- interp: in x (the segment's slope) and in fp -----
    "interp": (
        "out = np.interp(x, np.array([-1.0, -0.2, 0.5, 1.3]), np.array([1.0, 3.0, 2.0, -1.0]))",
        {"x": (3, 4)},
    ),
    "interp_fp": (
        "out = np.interp(x, np.array([-1.0, -0.2, 0.5, 1.3]), w * 2)",
        {"x": (3, 4), "w": (4,)},
    ),
    "interp_left_right": (
        "out = np.interp(2 * x, np.array([-1.0, -0.2, 0.5, 1.3]), w, left=0.5, right=-0.3)",
        {"x": (3, 4), "w": (4,)},
    ),
    # ----- np.linalg.lstsq: the minimum-norm solution, its singular values -----
    "lstsq_tall": (
        "out = np.linalg.lstsq(a, b, rcond=None)[0]",
        {"a": (5, 3), "b": (5,)},
    ),
    "lstsq_wide_columns": (
        "out = np.linalg.lstsq(a, b)[0]",
        {"a": (3, 5), "b": (3, 2)},
    ),
    "lstsq_square": (
        "out = np.linalg.lstsq(a, b, rcond=-1)[0]",
        {"a": (4, 4), "b": (4, 2)},
    ),
    "lstsq_s_unpacked": (
        "x, res, rank, sv = np.linalg.lstsq(a, b, rcond=None)\n"
        "    out = x * np.sum(sv) + rank",
        {"a": (5, 3), "b": (5, 2)},
    ),
    # ----- sorting flattened -----
    "sort_flat": ("out = np.sort(x, axis=None) * np.arange(12.0)", {"x": (3, 4)}),
    "partition_flat": (
        "out = np.partition(x, 5, axis=None) * np.arange(12.0)",
        {"x": (3, 4)},
    ),
    # ----- ufuncs -----
    "heaviside": ("out = np.heaviside(np.round(x), h) * x", {"x": (3, 4), "h": (4,)}),
    "copysign": ("out = np.copysign(x, w)", {"x": (3, 4), "w": (4,)}),
    "fmod": ("out = np.fmod(x, w * w + 2) + np.fmod(x, 0.7)", {"x": (3, 4), "w": (4,)}),
    "ldexp": ("out = np.ldexp(x, np.array([1, -2, 3, 0]))", {"x": (3, 4)}),
    # ----- matrix chains -----
    "multi_dot": ("out = np.linalg.multi_dot([x, w, x.T])", {"x": (3, 4), "w": (4, 4)}),
    "multi_dot_vectors": (
        "out = np.linalg.multi_dot([v, x, w])",
        {"v": (3,), "x": (3, 4), "w": (4,)},
    ),
    "matrix_power": ("out = np.linalg.matrix_power(x, 3)", {"x": (3, 3)}),
    "matrix_power_binary": ("out = np.linalg.matrix_power(x, 6)", {"x": (3, 3)}),
    "matrix_power_one": ("out = np.linalg.matrix_power(x, 1) * x", {"x": (3, 3)}),
    "matrix_power_inverse": (
        "out = np.linalg.matrix_power(x + 4 * np.eye(3), -2)",
        {"x": (3, 3)},
    ),
}

#: Cases autograd is wrong on (its sum, mean and prod rules ignore where=),
#: or has no VJP for (sort and partition: of 1-d arrays only).
NOT_IN_AUTOGRAD = {
    "lstsq_tall",
    "lstsq_wide_columns",
    "lstsq_square",
    "lstsq_s_unpacked",
    "interp",
    "interp_fp",
    "interp_left_right",
    "masked_sum",
    "masked_sum_row",
    "masked_mean",
    "masked_mean_all",
    "masked_prod",
    "sort_flat",
    "partition_flat",
    "average",
    "average_weights",
    "average_weights_1d",
    "average_weights_axis0",
    "nansum",
    "nansum_all",
    "nanmean",
    "nanmean_keepdims",
    "nanmax",
    "nanmin",
    "nanvar",
    "nanvar_plain",
    "nanstd",
    "median",
    "median_odd",
    "median_all",
    "quantile",
    "quantile_axis",
    "quantile_ends",
    "percentile",
    "ptp",
    "ptp_all",
    "cumprod",
    "cumprod_zeros",
    "cumprod_flat_zeros",
    "cumprod_method",
    "trapezoid",
    "trapezoid_dx",
    "heaviside",
    "copysign",
    "fmod",
    "ldexp",
    "matrix_power",
    "matrix_power_binary",
    "matrix_power_one",
    "matrix_power_inverse",
}


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
def _quiet_nan_slices():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_statistics_rule_matches_central_differences(case, annotate):
    body, params, _ = _case(case)
    source = _source(body, params, annotate)
    wrt = list(params)
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(0)
    for trial in range(2):
        point = _points(case, rng)
        expected = forward.f(**{p: np.copy(v) for p, v in point.items()})
        got, _ = generated.f_forward(**point)
        assert np.allclose(got, expected, 1e-12, 1e-12, equal_nan=True), code
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(params), point, wrt, case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


@pytest.mark.parametrize("case", sorted(set(CASES) - NOT_IN_AUTOGRAD))
def test_statistics_rule_matches_autograd(case):
    body, params, _ = _case(case)
    source = _source(body, params)
    point = _points(case, np.random.default_rng(1))
    _agrees_with_autograd(source, list(params), point, case)


#: Cases whose backward is differentiated again (their helpers are primitives).
SECOND_ORDER = sorted(
    c
    for c in CASES
    if c.startswith(("nanmean", "nanstd", "median", "quantile", "average", "trap"))
    or c in ("fmod", "ldexp", "ptp", "sort_flat", "matrix_power_binary", "interp")
)


@pytest.mark.parametrize("case", SECOND_ORDER)
def test_statistics_second_order_matches_central_differences(case):
    """The Hessian-vector product of sum(sin(out)) through the generated
    backward, against central differences of the first gradient."""
    from references import second_order_report

    body, params, _ = _case(case)
    wrt = list(params)
    # a nonlinear read-out, so that the second derivative is not zero
    source = _source(body + "\n    out = np.sin(out)", params, annotate=False)
    rng = np.random.default_rng(3)
    report, second = second_order_report(source, wrt, _points(case, rng), rng, case)
    assert report.ok, report.summary() + "\n" + second


def test_second_derivatives_through_cumprod_are_refused_with_a_location():
    """cumprod's gradient helper takes x as a keyword: differentiating it
    again with respect to x is refused, never a silent zero."""
    from programs.second import hvp_source

    from codegen.pipeline import generate

    params = {"x": (3, 4)}
    source = _source("out = np.sin(np.cumprod(x, axis=1))", params, annotate=False)
    first = generate(source, "<test>", "f", ["x"])
    with pytest.raises(CodegenError, match="'x' argument depends on a differentiated"):
        generate(hvp_source(first, "f", ["x"], ["x"]), "hvp.py", "hvp", ["x"])


@pytest.mark.parametrize(
    "expr,message",
    [
        ("np.median(x, axis=(0, 1))", "integer literal or None"),
        ("np.quantile(x, [0.1, 0.9])", "q as a number"),
        ("np.quantile(x, 0.5, method='nearest')", "'linear'"),
        ("np.percentile(x, 50, weights=x)", "weights"),
        ("np.linalg.matrix_power(x, 0)", "nonzero integer"),
        ("np.linalg.multi_dot([x])", "at least two"),
        ("np.median(x, overwrite_input=True)", "overwrite_input"),
        ("np.trapezoid(x, x=x)", "'x'"),
        ("np.max(x, where=x > 0)", "needs an initial value"),
        ("np.linalg.lstsq(x, x[0])[1]", "residuals of np.linalg.lstsq"),
        ("np.interp(x[0], x[1], x[2])", "'xp' argument depends on a differentiated"),
        ("np.interp(x[0], np.arange(3.0), x[2], period=2.0)", "'period'"),
        ("np.var(x, where=x > 0)", "'where'"),
    ],
)
def test_unsupported_forms_are_located_errors(expr, message):
    source = _source(f"out = {expr}", {"x": (3, 3)})
    with pytest.raises(CodegenError, match=message) as err:
        build(source, "f", ["x"])
    assert re.match(r"<test>:\d+:\d+: error", str(err.value)), err.value


def test_average_weights_follow_numpy_shapes():
    """1-d weights along axis 0 of a 3-d array, and weights of x's shape."""
    source = _source(
        "out = np.average(a, axis=0, weights=v) + np.average(a, weights=a * a)",
        {"a": (3, 2, 4), "v": (3,)},
    )
    forward, generated, _ = build(source, "f", ["a", "v"])
    rng = np.random.default_rng(5)
    a, v = rng.standard_normal((3, 2, 4)), rng.random(3) + 0.1
    out, cache = generated.f_forward(a, v)
    assert np.allclose(out, forward.f(a, v))
    ga, gv = generated.f_backward(np.ones((2, 4)), cache)
    assert ga.shape == a.shape and gv.shape == v.shape
