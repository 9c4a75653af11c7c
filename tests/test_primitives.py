"""The primitive declarations and the tables derived from them, both ways.

Every spelling reaches a declared primitive; every differentiable primitive
has a spelling and a gradient test case; every adjoint is code in the subset
codegen parses, calling only declared primitives (or a runtime helper named
below, which second order refuses with a location).
"""

from __future__ import annotations

import itertools

import pytest
from test_prims_breadth import CASES as BREADTH_CASES
from test_prims_breadth import SCALAR_CASES as BREADTH_SCALAR_CASES
from test_prims_breadth_more import CASES as BREADTH_MORE_CASES
from test_prims_linalg_decomp import CASES as DECOMP_CASES
from test_prims_stacking import CASES as STACKING_CASES
from test_prims_statistics import CASES as STATISTICS_CASES
from test_rules import SCALAR_CASES
from test_rules_numpy import CASES

import codegen.front.builder as builder_mod
import codegen.front.spellings as spellings
from codegen.core import expr as E
from codegen.core import rules
from codegen.core.primitive import Facts, Primitive
from codegen.core.rules import NONDIFF, RULES
from codegen.errors import CodegenError
from codegen.front.parse import parse

#: Runtime helpers an adjoint may call that are not primitives yet: a second
#: derivative through them is refused ("no adjoint rule for '_pool_route'").
NOT_YET_PRIMITIVES: set[str] = set()

#: NumPy functions adjoints call that are not primitives yet (same status).
NUMPY_NOT_YET = {
    "numpy.split",
    "numpy.cumsum",
    "numpy.take",
    "numpy.argsort",
    "numpy.mod",
}


def _facts_variants(p: Primitive) -> list[Facts]:
    """Facts covering each branch of a declaration's adjoint selectors."""
    kws = [dict(p.keywords)]
    for key, default in p.keywords.items():
        for value in {
            "axis": ["1", "(0, 1)", "-1"],
            "keepdims": ["True"],
            "axes": ["(1, 0)", "(-1, 0, 1)", "perm"],
        }.get(key, []):
            kws.append({**p.keywords, key: value})
    if "axis" in p.keywords and "keepdims" in p.keywords:
        kws.append({**p.keywords, "axis": "1", "keepdims": "True"})
    names = list(p.fixed) + (
        [f"{p.variadic}_{k}" for k in range(3)] if p.variadic else []
    )
    out = []
    for kw, lib in itertools.product(kws, ("np", "math")):
        for ranks in (
            {},
            {"x": 2, "y": 2},
            {"x": 1, "y": 2},
            {"x": 2, "y": 1},
            {"x": 1, "y": 1},
        ):
            for const in (
                {},
                {"y": "2", "spec": '"ij,jk->ik"', "lo": "None"},
                {"y": "0", "hi": "None", "idx_0": ":"},
            ):
                if p.op == "einsum":
                    const = {**const, "spec": '"ij,jk,kl->il"'}
                n = 3 if p.variadic else 0
                for i in range(n) if p.variadic else [None]:
                    if p.variadic == "idx":
                        out.append(
                            Facts(
                                kw,
                                ranks,
                                {**const, "idx_1": "0", "idx_2": "None"},
                                None,
                                n,
                                lib,
                            )
                        )
                    else:
                        out.append(Facts(kw, ranks, const, i, n, lib))
    return out


def _adjoint_codes(p: Primitive) -> set[str]:
    codes = set()
    adjoints = list(p.grads.values()) + ([p.same] if p.same else [])
    for adjoint in adjoints:
        if isinstance(adjoint, str):
            codes.add(adjoint)
            continue
        for facts in _facts_variants(p):
            try:
                code = adjoint(facts)
            except CodegenError:  # a declared refusal, located by the reverse pass
                continue
            if code is not None:
                codes.add(code)
    return codes


def _called(e: E.Expr) -> set[str]:
    """Dotted names of the calls in `e`: ``numpy.exp``, ``_unbroadcast``."""
    out = set()
    for n in E.walk(e):
        if isinstance(n, E.Call):
            f = n.func
            if isinstance(f, E.Name):
                out.add(f.id)
            elif (
                isinstance(f, E.Attr)
                and isinstance(f.value, E.Name)
                and f.value.id in ("np", "LIB", "math")
            ):
                out.add(("numpy." if f.value.id in ("np", "LIB") else "math.") + f.attr)
            elif (
                isinstance(f, E.Attr)
                and isinstance(f.value, E.Attr)
                and f.value.value == E.Name("np")
            ):
                out.add(f"numpy.{f.value.attr}.{f.attr}")  # np.linalg.solve
            elif isinstance(f, E.Attr):
                out.add("." + f.attr)
    return out


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_adjoint_is_code_over_its_operands(op):
    p = RULES[op]
    allowed = {"g", "ans", "LIB", "np", "math", *p.fixed, *p.keywords}
    if p.variadic:
        allowed |= {p.variadic} | {f"{p.variadic}_{k}" for k in range(3)}
    for code in _adjoint_codes(p):
        tree = E.template(code)  # parses, within the expression subset
        assert E.names(tree) <= allowed, (op, code)


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_adjoint_calls_only_declared_primitives(op):
    known = (
        set(rules.CALLS) | set(rules.RUNTIME_CALLS) | {"." + m for m in rules.METHODS}
    )
    for code in _adjoint_codes(RULES[op]):
        unknown = _called(E.template(code)) - known - NOT_YET_PRIMITIVES - NUMPY_NOT_YET
        assert not unknown, (op, code, unknown)


def test_the_not_yet_lists_are_not_stale():
    used = set()
    for p in RULES.values():
        for code in _adjoint_codes(p):
            used |= _called(E.template(code))
    assert used >= NOT_YET_PRIMITIVES
    assert used >= NUMPY_NOT_YET
    assert set() == NOT_YET_PRIMITIVES  # every helper an adjoint calls is declared


def test_an_adjoint_with_an_undeclared_call_is_caught():
    assert _called(E.template("np.nancumsum(g, axis)")) - set(rules.CALLS) == {
        "numpy.nancumsum"
    }


def test_every_spelling_reaches_a_primitive():
    spelled = set(builder_mod.CALLS.values()) | set(spellings.BINARY_OPS.values())
    spelled |= set(spellings.AUGMENTED_OPS.values()) | set(
        spellings.COMPARE_OPS.values()
    )
    spelled |= set(rules.METHODS.values()) | set(rules.ATTRIBUTES.values())
    assert spelled <= set(RULES)


#: Primitives parse emits from a construct rather than a spelling.
CONSTRUCTS = {
    "getitem": "x[1:]",
    "gather": "x[idx]",
    "setitem": "x[i] = v",
    "sigmoid": "a helper computing 1 / (1 + exp(-x))",
    "strided_windows": "sliding_window_view(...)[..., ::s]",
    "pool_max": "np.max over a window view",
    "pool_mean": "np.mean over a window view",
    "pool_sum": "np.sum over a window view",
    "square": "np.square",
    "neg": "unary minus, -x",
    "svd_u": "u, s, vh = np.linalg.svd(x, full_matrices=False)",
    "svd_vh": "np.linalg.svd(x, full_matrices=False)[2]",
    "eigh_v": "w, v = np.linalg.eigh(x)",
    "hstack_rows": "np.hstack(a) of one array",
    "lstsq": "np.linalg.lstsq(a, b)[0]",
    "lstsq_s": "np.linalg.lstsq(a, b)[3]",
    "lstsq_residuals": "np.linalg.lstsq(a, b)[1] (refused where differentiated)",
    "pad_copy": "np.pad(x, w, mode='edge') (and 'reflect', 'symmetric', 'wrap')",
    "fsum": "math.fsum([a, b, c])",
    "hypot_n": "math.hypot(x) or math.hypot(x, y, z)",
    "log_base": "math.log(x, b)",
    "asarray": "np.asarray(x)",
}


def test_every_differentiable_primitive_has_a_spelling_and_a_gradient_case():
    spelled = set(rules.CALLS.values()) | set(rules.OPERATORS.values())
    spelled |= set(rules.METHODS.values()) | set(rules.ATTRIBUTES.values())
    cases = (
        set(CASES) | set(SCALAR_CASES) | set(BREADTH_CASES) | set(BREADTH_SCALAR_CASES)
    )
    cases |= set(DECOMP_CASES)
    cases |= set(BREADTH_MORE_CASES)
    cases |= set(STACKING_CASES) | set(STATISTICS_CASES)
    for op, p in RULES.items():
        if not p.diff or p.helper:  # helpers: tests/test_second_order_unknown_ranks.py
            continue
        assert op in spelled or op in CONSTRUCTS, op
        assert any(c == op or c.startswith(op + "_") for c in cases) or op in (
            "unbroadcast",  # generated code only: tests/test_second_order.py
            "scatter",
            "scatter_add",
            "unpad",
            "strided_windows",  # tests/test_conv.py
            "pool_max",
            "pool_mean",
            "pool_sum",
            "sliding_window_view",
            "pad",
            "unwindow",  # second derivatives: tests/test_second_order_examples.py
            "pool_route",
            "lstsq_residuals",  # refused: tests/test_prims_statistics.py
        ), op


def test_nondiff_primitives_have_no_adjoints():
    assert all(not RULES[op].grads for op in NONDIFF)


def test_forward_code_parses():
    for p in RULES.values():
        for lib in ("np", "math"):
            E.template(p.forward_for(lib))


def test_a_tuple_axis_on_every_reduction_spelling():
    src = "import numpy as np\n\ndef f(x):\n    return np.sum(x, axis=(0, 1))\n"
    fn = parse(src, "t.py", "f")
    assert fn.body[-1].op == "sum"
