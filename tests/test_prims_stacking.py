"""The primitives of codegen/core/prims/stacking.py and the spellings
lowered in codegen/front/parse_stacking.py (issue 14) against central
differences, each case annotated and plain (ranks unknown), and against
HIPS autograd where it has the op."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd, _point, _source

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

# np.row_stack is NumPy 2's deprecated alias of vstack; the forwards use it on purpose
pytestmark = pytest.mark.filterwarnings(
    "ignore:`row_stack` alias is deprecated:DeprecationWarning"
)

# name: (body, {param: shape}); the body's last line assigns `out`. Several
# cases use one value twice (x in two pieces, x stacked with itself).
CASES: dict[str, tuple] = {
    "split": ("a, b = np.split(x, 2, axis=1)\n    out = a * b", {"x": (3, 4)}),
    "split_first_axis": (
        "a, b = np.split(x, 2)\n    out = a * b + x[:2]",
        {"x": (4, 3)},
    ),
    "split_list": (
        "a, b, c = np.split(x, [1, 3], axis=-1)\n    out = a * b + c * c",
        {"x": (3, 5)},
    ),
    "split_indexed": ("out = np.split(a, 2, axis=-2)[1] * a[:, :2]", {"a": (2, 4, 3)}),
    "split_three": (
        "p = np.split(a, 3, axis=2)\n    out = p[0] * p[2] - p[1] ** 2",
        {"a": (2, 3, 6)},
    ),
    "array_split": (
        "a, b, c = np.array_split(x, 3)\n"
        "    out = np.sum(a) + np.sum(b * b) + np.sum(c**3) * x",
        {"x": (7, 2)},
    ),
    "array_split_list": (
        "p = np.array_split(x, [2, 5], axis=1)\n"
        "    out = np.sum(p[0] ** 2) + np.sum(p[1] * p[1]) - np.sum(p[2])",
        {"x": (3, 7)},
    ),
    "array_split_negative_axis": (
        "a, b = np.array_split(t, 2, axis=-1)\n    out = np.sum(a**2) + np.sum(b**3)",
        {"t": (2, 3, 5)},
    ),
    "hsplit": ("a, b = np.hsplit(x, 2)\n    out = a * b", {"x": (3, 4)}),
    "hsplit_vector": (
        "a, b = np.hsplit(v, [3])\n    out = np.sum(a**2) * b",
        {"v": (5,)},
    ),
    "vsplit": (
        "a, b = np.vsplit(x, [1])\n    out = a * np.sum(b, axis=0)",
        {"x": (3, 4)},
    ),
    "dsplit": ("a, b = np.dsplit(t, 2)\n    out = a * b", {"t": (2, 3, 4)}),
    "hstack": ("out = np.hstack((x, x * 2, y))", {"x": (3, 2), "y": (3, 4)}),
    "hstack_vector": ("out = np.hstack([v, v**2, w])", {"v": (4,), "w": (2,)}),
    "hstack_3d": ("out = np.hstack((a, a)) ** 2", {"a": (2, 3, 2)}),
    "vstack": ("out = np.vstack((x, v, x * v)) ** 2", {"x": (2, 3), "v": (3,)}),
    "vstack_vectors": ("out = np.vstack([v, v * 3])", {"v": (4,)}),
    "vstack_rows": ("out = np.vstack(a) * np.vstack(a)[0]", {"a": (2, 3, 4)}),
    "vstack_rows_vector": ("out = np.vstack(v) ** 2", {"v": (3,)}),
    "hstack_rows": (
        "out = np.hstack(a) ** 2 + np.hstack(x)[1]",
        {"a": (2, 3, 4), "x": (2, 3)},
    ),
    "hstack_rows_vector": ("out = np.hstack(v) * v", {"v": (3,)}),
    "column_stack_rows": ("out = np.column_stack(x) ** 2", {"x": (2, 3)}),
    "column_stack_rows_3d": ("out = np.column_stack(a) * 2", {"a": (2, 3, 4)}),
    "row_stack_rows": ("out = np.row_stack(x) ** 2 * x", {"x": (2, 3)}),
    "row_stack": ("out = np.row_stack((x, x**2))", {"x": (2, 3)}),
    "column_stack": (
        "out = np.column_stack((v, x, v**2)) ** 2",
        {"v": (3,), "x": (3, 2)},
    ),
    "append": ("out = np.append(x, v**2) * 2", {"x": (2, 3), "v": (4,)}),
    "append_axis": (
        "out = np.append(x, x * y, axis=-1) ** 2",
        {"x": (2, 3), "y": (2, 3)},
    ),
    "array_list": ("out = np.array([v, v * 2.0, w]) ** 2", {"v": (3,), "w": (3,)}),
    "array_nested": (
        "s = np.sum(v)\n    out = np.array([[s, s * 1.0, s + 2.5], [s**2, s, 0.5]])",
        {"v": (3,)},
    ),
    # a constant index array: integer-array indexing, its repeats add up
    "array_index_repeats": (
        "out = np.tanh(y[np.array([0, 2, 2])]) * y[np.array([1, 1, 0])]",
        {"y": (3,)},
    ),
    "array_copy": ("out = np.array(x) * x", {"x": (2, 3)}),
    "r_": ("out = np.r_[v, w, v * 2, 1:4] ** 2", {"v": (3,), "w": (2,)}),
    "r_matrices": ("out = np.r_[x, x * y] ** 2", {"x": (2, 3), "y": (1, 3)}),
    "c_": ("out = np.c_[v, x, v] ** 2", {"v": (3,), "x": (3, 2)}),
    "select": (
        "out = np.select([x > 0.5, x < -0.5], [x**2, y * x], default=1.5) * y",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "diff": ("out = np.diff(x) * 1.5", {"x": (3, 5)}),
    "diff_n": ("out = np.diff(x, n=2, axis=0) ** 2", {"x": (4, 3)}),
    "diff_negative_axis": ("out = np.diff(a, 3, -2) * a[:, :2]", {"a": (2, 5, 3)}),
    "diff_twice": ("out = np.diff(v) * np.diff(v**2)", {"v": (6,)}),
    "gradient": ("out = np.gradient(x, axis=0) * x", {"x": (4, 3)}),
    "gradient_short": ("out = np.gradient(v, axis=-1) ** 2", {"v": (2,)}),
    "gradient_axes": (
        "p, q = np.gradient(a, axis=(0, -1))\n    out = p * q + a",
        {"a": (4, 3, 5)},
    ),
    "linspace": (
        "out = np.linspace(a, b, 5) ** 2 + np.linspace(b, 1.0, 3)[1]",
        {"a": (), "b": ()},
    ),
    "linspace_arrays": (
        "out = np.linspace(v, w, 4, endpoint=False) ** 2",
        {"v": (3,), "w": (1,)},
    ),
    "sort": ("out = np.sort(x) * w", {"x": (3, 5), "w": (3, 5)}),
    "sort_axis": ("out = np.sort(a, axis=-2) ** 2 * a", {"a": (3, 4, 2)}),
    "partition": ("out = np.partition(v, 3) * w", {"v": (7,), "w": (7,)}),
    "partition_axis": ("out = np.partition(x, 1, axis=0) ** 2", {"x": (4, 3)}),
    "take_along_axis": (
        "out = np.take_along_axis(x, np.argsort(-x, axis=1), axis=1) * x",
        {"x": (3, 4)},
    ),
    "take_along_axis_repeats": (
        "j = np.stack([i, i, 0 * i], axis=1)\n"
        "    out = np.take_along_axis(x, j, axis=1) ** 2",
        {"x": (3, 4), "i": "int:4"},
    ),
}

#: Not in HIPS autograd or beyond its gradients: np.gradient's assumes at
#: least 4 entries along the axis, np.sort's and np.partition's 1-d input,
#: np.hsplit's an axis 1; its np.linspace takes no endpoint.
NOT_IN_AUTOGRAD = {
    "gradient_short",
    "sort",
    "sort_axis",
    "partition_axis",
    "hsplit_vector",
    "linspace_arrays",
    "take_along_axis_repeats",
    "take_along_axis",
    "r_",
    "r_matrices",
    "c_",
}


def _wrt(params: dict) -> list[str]:
    return [p for p, s in params.items() if not isinstance(s, str)]


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_stacking_rule_matches_central_differences(case, annotate):
    body, params = CASES[case]
    source = _source(body, params, annotate)
    wrt = _wrt(params)
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(0)
    for trial in range(2):
        point = _point(params, rng)
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(params), point, wrt, case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


@pytest.mark.parametrize("case", sorted(set(CASES) - NOT_IN_AUTOGRAD))
def test_stacking_rule_matches_autograd(case):
    body, params = CASES[case]
    source = _source(body, params, annotate=False)
    wrt = _wrt(params)
    point = _point(params, np.random.default_rng(1))
    _agrees_with_autograd(source, wrt, {p: point[p] for p in params}, case)


def _numeric_vjp(f, x: np.ndarray, seeds: list[np.ndarray], h: float = 1e-6):
    """Central differences of sum over outputs of <seed, output> at x."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += h
        down[idx] -= h
        phi = [
            sum(np.sum(o * s) for o, s in zip(f(p), seeds, strict=True))
            for p in (up, down)
        ]
        grad[idx] = (phi[0] - phi[1]) / (2 * h)
    return grad


@pytest.mark.parametrize(
    "call",
    [
        "np.split(x, [1, 3], axis=1)",
        "np.array_split(x, 3, axis=-1)",
        "np.vsplit(x, 2)",
        "np.gradient(x, axis=(1, 0))",
        "pieces(x)",
    ],
)
def test_a_returned_list_of_arrays_is_several_outputs(call):
    source = (
        "import numpy as np\n\n\ndef pieces(a):\n    return np.hsplit(a * a, 5)\n\n\n"
        f"def f(x):\n    return {call}\n"
    )
    forward, generated, code = build(source, "f", ["x"])
    x = np.random.default_rng(3).standard_normal((4, 5))
    expected = forward.f(x)
    out, cache = generated.f_forward(x)
    assert isinstance(out, tuple) and len(out) == len(expected), code
    for o, e in zip(out, expected, strict=True):
        assert np.array_equal(o, e)
    seeds = [
        np.random.default_rng(k).standard_normal(np.shape(e))
        for k, e in enumerate(expected)
    ]
    grad = generated.f_backward(*seeds, cache)
    numeric = _numeric_vjp(forward.f, x, seeds)
    assert np.allclose(grad, numeric, rtol=1e-6, atol=1e-8), code


def test_a_one_piece_split_returned_is_a_tuple_of_one():
    source = "import numpy as np\n\n\ndef f(x):\n    return np.split(x, 1)\n"
    forward, generated, _ = build(source, "f", ["x"])
    x = np.arange(3.0)
    out, cache = generated.f_forward(x)
    assert isinstance(out, tuple) and len(out) == 1  # NumPy: a list of one
    assert np.array_equal(out[0], forward.f(x)[0])
    assert np.array_equal(generated.f_backward(np.ones(3) * 2, cache), np.ones(3) * 2)


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("k = x.shape[0]\n    a, b = np.split(x, k)", "6:24", "sections as a literal"),
        ("a, b = np.split(x, 0)", "5:24", "sections as a literal"),
        ("return np.gradient(x)", "5:12", "axis as a literal"),
        ("return np.gradient(x, axis=(0, 0))", "5:27", "distinct axes"),
        ("return np.gradient(x, 2.0, axis=0)", "5:27", "'varargs'"),
        ("return np.gradient(x, axis=0, edge_order=2)", "5:35", "edge_order"),
        ("return np.diff(x, prepend=0.0)", "5:23", "'prepend'"),
        ("return np.linspace(x, 1.0, 3, axis=1)", "5:35", "'axis'"),
        ("return np.r_['0,2', x, x]", "5:18", "string directive"),
        ("return np.r_[x, 1:]", "5:21", "needs an end"),
        ("return np.select([x > 0], [x, x])", "5:12", "1 conditions and 2"),
    ],
)
def test_what_is_not_supported_is_refused_located(body, where, message):
    source = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    if not body.startswith("return"):
        source += "    return a * b\n"
    with pytest.raises(CodegenError) as err:
        build(source, "f", ["x"])
    text = str(err.value)
    assert f"<test>:{where}" in text and message in text, text


def test_the_lowered_signatures_match_numpy():
    """The spellings lowered in parse_stacking name NumPy's parameters in
    NumPy's order and kinds, as tests/test_issue13_front.py checks the
    parse pass's table."""
    import builtins
    import inspect

    from codegen.front.parse_calls import signature
    from codegen.front import parse_stacking, parse_statistics

    kinds = inspect.Parameter
    tables = {**parse_stacking.SIGNATURES, **parse_statistics.SIGNATURES}
    for canonical, text in tables.items():
        numpy = canonical.startswith("numpy.")
        fn = np if numpy else builtins  # divmod is Python's
        for part in canonical.split(".")[1:] if numpy else [canonical]:
            fn = getattr(fn, part)  # numpy.maximum.reduce too
        params = list(inspect.signature(fn).parameters.values())
        slots = signature(text)
        if params[-1].kind == inspect.Parameter.VAR_KEYWORD:  # ufunc.reduce
            assert not any(s.positional for s in slots[len(params) - 1 :]), canonical
            slots, params = slots[: len(params) - 1], params[:-1]
        for slot, p in zip(slots, params, strict=True):
            assert p.name == slot.name, (canonical, p.name)
            positional = p.kind in (
                kinds.POSITIONAL_ONLY,
                kinds.POSITIONAL_OR_KEYWORD,
                kinds.VAR_POSITIONAL,
            )
            keyword = p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
            assert (slot.positional, slot.keyword) == (positional, keyword), (
                canonical,
                p,
            )
            if slot.default_none:
                assert p.default is None, (canonical, p)


# Second order: each scalar function's Hessian-vector product, generated from
# its generated backward (adjoints call only declared primitives), against
# central differences of the first gradient.
SECOND_ORDER = {
    "split": (
        "a, b = np.split(x, 2, axis=1)\n    return np.sum(np.sin(a * b))",
        (3, 4),
    ),
    "split_list": (
        "a, b = np.split(x, [1], axis=-1)\n    return np.sum(a**2 * b)",
        (3, 4),
    ),
    "array_split": ("return np.sum(np.sin(np.array_split(x, 3)[1]) * x[:2])", (5, 4)),
    "hsplit": ("a, b = np.hsplit(x, 2)\n    return np.sum(np.tanh(a) * b)", (3, 4)),
    "hstack": ("return np.sum(np.sin(np.hstack((x, x * x))))", (3, 4)),
    "vstack": ("return np.sum(np.sin(np.vstack((x, x[0] ** 2))))", (3, 4)),
    "vstack_rows": ("return np.sum(np.sin(np.vstack(x)) * x)", (3, 4)),
    "column_stack": (
        "return np.sum(np.cos(np.column_stack((x, x[:, 0]))) ** 2)",
        (3, 4),
    ),
    "diff": ("return np.sum(np.sin(np.diff(x, n=2, axis=0)))", (4, 3)),
    "gradient": ("return np.sum(np.sin(np.gradient(x, axis=1)) * x)", (3, 4)),
    "linspace": ("return np.sum(np.sin(np.linspace(x[0], x[1], 4)))", (2, 3)),
    "sort": ("return np.sum(np.sort(x) * x)", (3, 4)),
    "partition": ("return np.sum(np.partition(x, 1) ** 3)", (3, 4)),
    "array": ("return np.sum(np.sin(np.array([x, x * x])))", (3,)),
    "select": ("return np.sum(np.select([x > 0.3], [x**3], default=x))", (3, 4)),
}


@pytest.mark.parametrize("case", sorted(SECOND_ORDER))
def test_second_order_through_stacking(case):
    import sys

    from conftest import ROOT

    from codegen.checks.verify import module_from_source

    sys.path.insert(0, str(ROOT / "tests"))
    from programs.second import hvp_source

    body, shape = SECOND_ORDER[case]
    src = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    _, _, first = build(src, "f")
    hvp_src = hvp_source(first, "f", ["x"], ["x"])
    second = module_from_source(build(hvp_src, "hvp", ["x"])[2], "hvp_grad")
    forward = module_from_source(hvp_src, "hvp_forward")
    rng = np.random.default_rng(0)
    point = {"x": rng.standard_normal(shape), "v_x": rng.standard_normal(shape)}
    report = check_gradients(
        forward.hvp,
        (second.hvp_forward, second.hvp_backward),
        ["x", "v_x"],
        point,
        ["x"],
        case,
    )
    assert report.ok, report.summary()


@pytest.mark.parametrize(
    ("body", "shape"),
    [
        ("p, q = np.gradient(x)\n    out = p * q", (4, 3)),
        ("out = np.gradient(x) ** 2", (5,)),
        ("p, q, r = np.gradient(x, axis=None)\n    out = p * q - r", (3, 4, 2)),
    ],
)
def test_gradient_of_every_axis_needs_the_rank_annotated(body, shape):
    params = {"x": shape}
    forward, generated, code = build(_source(body, params), "f", ["x"])
    point = _point(params, np.random.default_rng(5))
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, ["x"], point, ["x"], "gradient")
    assert report.ok, report.summary() + "\n" + code
    with pytest.raises(CodegenError, match="axis as a literal"):
        build(_source(body, params, annotate=False), "f", ["x"])
