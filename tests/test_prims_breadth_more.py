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
from test_rules_numpy import _point, _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

# name: (body, {param: shape}[, point fix-up]); the body's last line assigns
# `out`. A shape () is a 0-d array, as autograd's R() is.
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
}

#: Cases HIPS autograd (1.9) cannot check: central differences are the
#: reference there.
NOT_IN_AUTOGRAD = {
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
}

#: Cases refused (located) when the rank is not annotated.
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
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    body, params, _ = _case(case)
    source = _source(body, params)
    wrt = list(params)
    _, generated, _ = build(source, "f", wrt)
    namespace: dict = {}
    exec(
        compile(source.replace("import numpy as np", ""), "<autograd>", "exec"),
        {"np": anp},
        namespace,
    )
    point = _points(case, np.random.default_rng(1))
    args = [point[p] for p in params]
    out, cache = generated.f_forward(*args)
    upstream = np.random.default_rng(2).standard_normal(np.shape(out))
    grads = generated.f_backward(upstream, cache)
    grads = (grads,) if len(wrt) == 1 else grads
    for i, name in enumerate(wrt):
        expected = autograd.grad(lambda *a: anp.sum(namespace["f"](*a) * upstream), i)(
            *args
        )
        assert np.allclose(grads[i], expected, rtol=1e-7, atol=1e-9), (case, name)


#: Cases whose backward is differentiated again (the helpers are primitives).
SECOND_ORDER = sorted(c for c in CASES if c.startswith(("cross", "dot", "inner")))


@pytest.mark.parametrize("case", SECOND_ORDER)
def test_breadth_more_second_order_matches_central_differences(case):
    """The Hessian-vector product of sum(out * w) through the generated
    backward, against central differences of the first gradient."""
    from programs.second import hvp_source

    from codegen.checks.verify import module_from_source
    from codegen.pipeline import generate

    body, params, _ = _case(case)
    wrt = list(params)
    # a nonlinear read-out, so that the second derivative is not zero
    source = _source(body + "\n    out = np.sin(out)", params, annotate=False)
    first = generate(source, "<test>", "f", wrt)
    hvp_src = hvp_source(first, "f", wrt, wrt)
    second = generate(hvp_src, "hvp.py", "hvp", wrt)
    forward = module_from_source(hvp_src, "hvp_forward_under_test")
    mod = module_from_source(second, "hvp_grad_under_test")
    rng = np.random.default_rng(3)
    point = _points(case, rng)
    for p in wrt:
        point[f"v_{p}"] = rng.standard_normal(np.shape(point[p]))
    every = wrt + [f"v_{p}" for p in wrt]
    report = check_gradients(
        forward.hvp, (mod.hvp_forward, mod.hvp_backward), every, point, wrt, case
    )
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
