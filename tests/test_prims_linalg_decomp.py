"""The primitives of codegen/core/prims/linalg_decomp.py (svd, eigh, slogdet,
pinv), the general np.einsum (`_einsum_vjp`) and np.linalg.norm's ord=
against central differences, each case annotated and plain (batched shapes
among them); second derivatives through them; the refusals, located."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from programs.second import hvp_source
from test_rules_numpy import _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError


def _spd(p: dict, name: str) -> None:
    """A symmetric matrix (batch) with well separated eigenvalues."""
    a = p[name]
    n = a.shape[-1]
    p[name] = (a + np.swapaxes(a, -1, -2)) / 2 + np.diag(3.0 * np.arange(n))


def _conditioned(p: dict, name: str) -> None:
    """Well separated singular values: a scaled diagonal plus noise."""
    a = p[name]
    m, n = a.shape[-2:]
    d = np.zeros((m, n))
    d[np.arange(min(m, n)), np.arange(min(m, n))] = 2.0 + 1.5 * np.arange(min(m, n))
    p[name] = 0.3 * a + d


# name: (body, {param: shape}[, point fix-up]); the body's last line assigns out.
CASES: dict[str, tuple] = {
    "svd_s": (
        "out = np.linalg.svd(x, compute_uv=False)",
        {"x": (3, 5)},
        lambda p: _conditioned(p, "x"),
    ),
    "svd_s_tall_batched": (
        "out = np.linalg.svd(a, full_matrices=False)[1]",
        {"a": (2, 5, 3)},
        lambda p: _conditioned(p, "a"),
    ),
    "svd_u": (
        "u, s, vh = np.linalg.svd(x, full_matrices=False)\n    out = u * w",
        {"x": (5, 3), "w": (5, 3)},
        lambda p: _conditioned(p, "x"),
    ),
    "svd_u_batched_wide": (
        "u, s, vh = np.linalg.svd(a, full_matrices=False)\n    out = u",
        {"a": (2, 3, 4)},
        lambda p: _conditioned(p, "a"),
    ),
    "svd_vh": (
        "u, s, vh = np.linalg.svd(x, False)\n    out = vh * w + s[0]",
        {"x": (3, 4), "w": (3, 4)},
        lambda p: _conditioned(p, "x"),
    ),
    "svd_vh_batched_tall": (
        "out = np.linalg.svd(a, full_matrices=False)[2]",
        {"a": (2, 4, 3)},
        lambda p: _conditioned(p, "a"),
    ),
    "svd_all_square": (
        "u, s, vh = np.linalg.svd(c, full_matrices=False, compute_uv=True)\n"
        "    out = (u * s) @ vh + u @ vh",
        {"c": (3, 3)},
        lambda p: _conditioned(p, "c"),
    ),
    # the default full_matrices=True: s is the same, u and vh unused
    "svd_s_default": (
        "u, s, vh = np.linalg.svd(x)\n    out = s * s",
        {"x": (4, 3)},
        lambda p: _conditioned(p, "x"),
    ),
    "eigh_w": (
        "w, v = np.linalg.eigh(c)\n    out = w",
        {"c": (4, 4)},
        lambda p: _spd(p, "c"),
    ),
    "eigh_v_upper": (
        "w, v = np.linalg.eigh(c, 'U')\n    out = v * w",
        {"c": (4, 4)},
        lambda p: _spd(p, "c"),
    ),
    # NumPy reads one triangle of a non-symmetric x: the other gets zero
    "eigh_v_lower_batched": (
        "out = np.linalg.eigh(a, UPLO='L')[1] + np.linalg.eigh(a)[0][:, None, :]",
        {"a": (2, 3, 3)},
        lambda p: p.__setitem__("a", p["a"] + np.diag([0.0, 4.0, 8.0])),
    ),
    "eigvalsh": (
        "out = np.linalg.eigvalsh(c) * 2.0",
        {"c": (4, 4)},
        lambda p: _spd(p, "c"),
    ),
    # of a non-symmetric x: the triangle NumPy reads
    "eigvalsh_upper_batched": (
        "out = np.linalg.eigvalsh(a, UPLO='U')",
        {"a": (2, 3, 3)},
        lambda p: p.__setitem__("a", p["a"] + np.diag([0.0, 4.0, 8.0])),
    ),
    "slogdet_logdet": (
        "sign, logdet = np.linalg.slogdet(c)\n    out = logdet * sign",
        {"c": (4, 4)},
    ),
    "slogdet_logdet_batched": ("out = np.linalg.slogdet(a)[1]", {"a": (3, 2, 2)}),
    # det's gradient is the cofactor matrix, which exists at singular x too
    "det": ("out = np.linalg.det(x) * x", {"x": (3, 3)}),
    "det_batched": ("out = np.linalg.det(a)", {"a": (2, 3, 3)}),
    "det_rank_one": (
        "out = np.linalg.det(x)",
        {"x": (3, 3)},
        lambda p: p.update(x=np.outer(p["x"][0], p["x"][1])),
    ),
    "det_zero_batched": (
        "out = np.linalg.det(a) * 2",
        {"a": (2, 2, 2)},
        lambda p: p.update(a=p["a"] * np.array([0.0, 1.0])[:, None, None]),
    ),
    "pinv": ("out = np.linalg.pinv(x)", {"x": (3, 5)}),
    "pinv_batched": ("out = np.linalg.pinv(a) * 2", {"a": (2, 4, 3)}),
    # constant rank 2: the formula holds where the rank does not change
    "pinv_low_rank": ("out = np.linalg.pinv(x.T @ x)", {"x": (2, 4)}),
    "einsum_vjp_ellipsis": (
        "out = np.einsum('...ij,...jk->...ik', a, y)",
        {"a": (2, 3, 4), "y": (4, 2)},
    ),
    "einsum_vjp_ellipsis_size_one": (
        "out = np.einsum('...ij,...jk->...ik', a, b)",
        {"a": (1, 3, 4), "b": (2, 4, 2)},
    ),
    "einsum_vjp_ellipsis_center": (
        "out = np.einsum('j...k,lj...->lk...', a, b)",
        {"a": (2, 3, 2), "b": (2, 2, 3)},
    ),
    "einsum_vjp_implicit": ("out = np.einsum('ij,k', x, v)", {"x": (3, 4), "v": (2,)}),
    "einsum_vjp_diagonal": (
        "out = np.einsum('ii->i', c) * v",
        {"c": (3, 3), "v": (3,)},
    ),
    "einsum_vjp_summed": ("out = np.einsum('ij->j', x)", {"x": (3, 4)}),
    "einsum_vjp_repeated_three": (
        "out = np.einsum('ijk,lji,lli->lki', a, b, d)",
        {"a": (3, 2, 2), "b": (2, 2, 3), "d": (2, 2, 3)},
    ),
    "einsum_vjp_sublists": (
        "out = np.einsum(a, (Ellipsis, 0, 1), y, (1, 2), (Ellipsis, 0, 2))",
        {"a": (2, 3, 4), "y": (4, 2)},
    ),
    "norm_p3": ("out = np.linalg.norm(v, ord=3)", {"v": (5,)}),
    "norm_inf_vector": ("out = np.linalg.norm(x, ord=np.inf, axis=1)", {"x": (3, 4)}),
    # ord=2 of an array whose rank is not annotated: right for both
    "norm_two_vector": ("out = np.linalg.norm(v, ord=2) * v", {"v": (5,)}),
    "norm_two_matrix": ("out = np.linalg.norm(x, ord=2)", {"x": (3, 4)}),
    # ord=1, inf, -inf unannotated: the matrix rule on x as a column
    "norm_one_vector": ("out = np.linalg.norm(v, 1) * v", {"v": (5,)}),
    "norm_one_matrix": ("out = np.linalg.norm(x, 1)", {"x": (3, 4)}),
    "norm_inf_plain_vector": ("out = np.linalg.norm(v, np.inf) * v", {"v": (5,)}),
    "norm_inf_plain_matrix": ("out = np.linalg.norm(x, ord=np.inf)", {"x": (3, 4)}),
    "norm_minf_plain_vector": ("out = np.linalg.norm(v, -np.inf)", {"v": (5,)}),
    "norm_minf_plain_matrix": ("out = np.linalg.norm(x, -np.inf)", {"x": (4, 3)}),
    "norm_zero": ("out = np.linalg.norm(v, 0) * v", {"v": (5,)}),
    "norm_nuc": ("out = np.linalg.norm(x, ord='nuc')", {"x": (3, 4)}),
    "norm_nuc_axes": (
        "out = np.linalg.norm(a, ord='nuc', axis=(0, 2), keepdims=True) * a",
        {"a": (3, 2, 4)},
    ),
    "norm_spectral": ("out = np.linalg.norm(a, ord=2, axis=(1, 2))", {"a": (2, 3, 4)}),
    "norm_spectral_min": (
        "out = np.linalg.norm(a, ord=-2, axis=(-2, -1))",
        {"a": (2, 4, 3)},
    ),
    "norm_matrix_one": ("out = np.linalg.norm(x, ord=1, axis=(0, 1))", {"x": (3, 4)}),
    "norm_matrix_inf": (
        "out = np.linalg.norm(a, ord=-np.inf, axis=(1, 2))",
        {"a": (2, 3, 4)},
    ),
}


def _point(params: dict, rng, fix) -> dict:
    point = {p: rng.standard_normal(s) for p, s in params.items()}
    if fix is not None:
        fix(point)
    return point


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_decomposition_rule_matches_central_differences(case, annotate):
    body, params, *fix = CASES[case]
    source = _source(body, params, annotate)
    wrt = list(params)
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(3)
    for trial in range(2):
        point = _point(params, rng, fix[0] if fix else None)
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(params), point, wrt, case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


#: Second derivatives: the generated value-and-grad, differentiated again.
SECOND = [
    "svd_s",
    "svd_u",
    "eigh_v_upper",
    "slogdet_logdet",
    "det",
    "det_batched",
    "pinv",
    "einsum_vjp_ellipsis",
    "einsum_vjp_diagonal",
    "einsum_vjp_summed",
    "norm_nuc",
    "norm_two_vector",
    "norm_one_vector",
    "eigvalsh",
]


@pytest.mark.parametrize("case", SECOND)
def test_second_derivative_matches_central_differences(case):
    body, params, *fix = CASES[case]
    source = _source(body, params, annotate=False)
    wrt = list(params)
    _, generated, code = build(source, "f", wrt)
    hvp = hvp_source(code, "f", wrt, wrt)
    hv_params = wrt + [f"v_{p}" for p in wrt]
    forward, second, code2 = build(hvp, "hvp", wrt)
    rng = np.random.default_rng(5)
    point = _point(params, rng, fix[0] if fix else None)
    point.update({f"v_{p}": rng.standard_normal(np.shape(point[p])) for p in wrt})
    report = check_gradients(
        forward.hvp,
        (second.hvp_forward, second.hvp_backward),
        hv_params,
        point,
        wrt,
        case,
    )
    assert report.ok, report.summary() + "\n" + code2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("u, s, vh = np.linalg.svd(x)\n    out = u", "full_matrices=True"),
        ("w, v = np.linalg.eig(x)\n    out = w", "np.linalg.eig is not supported"),
        ("out = np.linalg.norm(x, ord=-1)", "is x a vector or a matrix"),
        ("out = np.linalg.norm(x, ord=-2)", "is x a vector or a matrix"),
        ("out = np.linalg.svd(x, hermitian=True)[1]", "hermitian=True"),
        ("out = np.einsum('ij->ii', x)", "repeats a letter"),
        ("out = np.einsum(x, [0, 'a'])", "sublist"),
    ],
)
def test_refusals_are_located(body, message):
    source = _source(body, {"x": (3, 4)}, annotate=False)
    with pytest.raises(CodegenError, match=message) as info:
        build(source, "f", ["x"])
    errors = getattr(info.value, "errors", [info.value])
    assert all(e.loc is not None for e in errors)
