"""NumPy 2's array-API spellings (codegen/front/parse_array_api.py and the
renamed functions of codegen/front/spellings.py) against central
differences of the user's own forward, annotated and plain, and the forms
refused with a location."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _point, _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

if not hasattr(np, "concat"):  # NumPy 1.x has none of these names
    pytest.skip("NumPy 2's array-API names", allow_module_level=True)

# name: (body, {param: shape}); the body's last line assigns `out`.
CASES: dict[str, tuple] = {
    # ----- other names of NumPy functions -----
    "concat": ("out = np.concat([x, x * 2], axis=1)", {"x": (3, 4)}),
    "concat_flat": ("out = np.concat([x, w], axis=None)", {"x": (3, 4), "w": (2,)}),
    "pow": ("out = np.pow(x * x + 1, w)", {"x": (3, 4), "w": (4,)}),
    "acos_asin_atan": (
        "out = np.acos(0.3 * x) + np.asin(0.3 * x) * np.atan(x)",
        {"x": (3, 4)},
    ),
    "acosh_asinh_atanh": (
        "out = np.acosh(x * x + 1.5) + np.asinh(x) + np.atanh(0.3 * x)",
        {"x": (3, 4)},
    ),
    "atan2": ("out = np.atan2(x, w * w + 0.5)", {"x": (3, 4), "w": (4,)}),
    "permute_dims": ("out = np.permute_dims(a, (2, 0, 1)) * 2", {"a": (2, 3, 4)}),
    "linalg_matmul": ("out = np.linalg.matmul(x, w)", {"x": (3, 4), "w": (4, 2)}),
    "linalg_tensordot": (
        "out = np.linalg.tensordot(a, x, axes=2)",
        {"a": (2, 3, 4), "x": (3, 4)},
    ),
    "linalg_outer": ("out = np.linalg.outer(v, w)", {"v": (3,), "w": (4,)}),
    "linalg_cross": ("out = np.linalg.cross(x, w)", {"x": (4, 3), "w": (3,)}),
    # ----- functions lowered to others -----
    "linalg_trace": ("out = np.linalg.trace(a, offset=1)", {"a": (2, 3, 4)}),
    "linalg_diagonal": ("out = np.linalg.diagonal(a, offset=-1) * 2", {"a": (2, 4, 3)}),
    "matrix_transpose": ("out = np.matrix_transpose(a) * 2", {"a": (2, 3, 4)}),
    "vecdot": ("out = np.vecdot(a, w)", {"a": (2, 3, 4), "w": (4,)}),
    "vecdot_axis": ("out = np.linalg.vecdot(x, x[::-1], axis=0)", {"x": (3, 4)}),
    "vector_norm": ("out = np.linalg.vector_norm(a)", {"a": (2, 3, 4)}),
    "vector_norm_ord": ("out = np.linalg.vector_norm(x, ord=1)", {"x": (3, 4)}),
    "vector_norm_axis": (
        "out = np.linalg.vector_norm(a, axis=(1,), ord=3, keepdims=True) * a",
        {"a": (2, 3, 4)},
    ),
    "matrix_norm": ("out = np.linalg.matrix_norm(a)", {"a": (2, 3, 4)}),
    "matrix_norm_nuc": ("out = np.linalg.matrix_norm(x, ord='nuc')", {"x": (3, 4)}),
    "matrix_norm_one": (
        "out = np.linalg.matrix_norm(a, ord=1, keepdims=True) * a",
        {"a": (2, 3, 4)},
    ),
    "cumulative_sum": ("out = np.cumulative_sum(v)", {"v": (5,)}),
    "cumulative_prod": ("out = np.cumulative_prod(x, axis=0)", {"x": (3, 4)}),
    "astype": ("out = np.astype(x, np.float64) * x", {"x": (3, 4)}),
    "positive": ("out = np.positive(x) * x", {"x": (3, 4)}),
    "float_power": ("out = np.float_power(x * x + 1, w)", {"x": (3, 4), "w": (4,)}),
    "logspace": ("out = np.logspace(v[0], v[1], 4) * w", {"v": (2,), "w": (4,)}),
    "logspace_base": ("out = x * np.logspace(0, 2, 4, base=2.0)", {"x": (3, 4)}),
    "where_alone": ("out = x[np.where(x > 0)] * 2", {"x": (3, 4)}),
}


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_array_api_spelling_matches_central_differences(case, annotate):
    body, params = CASES[case]
    source = _source(body, params, annotate)
    wrt = list(params)
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(0)
    for trial in range(2):
        point = _point(params, rng)
        expected = forward.f(**{p: np.copy(v) for p, v in point.items()})
        got, _ = generated.f_forward(**point)
        assert np.shape(got) == np.shape(expected), code
        assert np.allclose(got, expected, rtol=1e-12, atol=1e-12), code
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(params), point, wrt, case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


@pytest.mark.parametrize(
    "expr,message",
    [
        ("np.linalg.vector_norm(x, axis=(0, 1))", "integer literal or None"),
        ("np.linalg.vector_norm(x, keepdims=True)", "keepdims and no axis"),
        ("np.cumulative_sum(x, axis=0, include_initial=True)", "include_initial"),
        ("np.logspace(0, 1, 5, axis=1)", "'axis'"),
    ],
)
def test_unsupported_forms_are_located_errors(expr, message):
    source = _source(f"out = {expr} * x[0, 0]", {"x": (3, 3)})
    with pytest.raises(CodegenError, match=message) as err:
        build(source, "f", ["x"])
    assert re.match(r"<test>:\d+:\d+: error", str(err.value)), err.value


def test_the_signatures_match_numpy():
    """Each lowered spelling's signature names NumPy's parameters in order."""
    import inspect

    from codegen.front.parse_array_api import SIGNATURES
    from codegen.front.parse_calls import signature

    for canonical, text in SIGNATURES.items():
        fn = np
        for part in canonical.split(".")[1:]:
            fn = getattr(fn, part)
        try:
            params = list(inspect.signature(fn).parameters)
        except ValueError:  # np.vecdot, a gufunc: no signature to read
            continue
        names = [s.name for s in signature(text)]
        assert params[: len(names)] == names, canonical  # ufuncs: out, then more
