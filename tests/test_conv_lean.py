"""The conv workload's leaner backward (issue 17): `_pool_route` slice by
slice over small windows, `codegen.core.conv_lean.drop_equal_unbroadcast`
and `codegen.core.conv_masks.cache_masks`.

Gradients are compared with HIPS autograd (which shares the gradient of tied
maxima equally, as codegen documents) on inputs full of ties, and with central
differences where nothing ties; the generated text is checked to have lost
the `_unbroadcast` calls the pass proves unnecessary, and to keep the ones
that sum."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd

from codegen.checks.verify import check_gradients, module_from_source
from codegen.core.conv_lean import dims
from codegen.front.parse import parse
from codegen.pipeline import generate

ROOT = Path(__file__).resolve().parent.parent

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

POOL = """
import numpy as np


def f(x):
    N = x.shape[0]
    return x.reshape(N, 2, 2, 3).max(axis=(1, 3))
"""


@pytest.fixture(scope="module")
def route():
    """The runtime helper as a generated module carries it."""
    _, mod, code = build(POOL, "f", ["x"])
    assert "_pool_route(" in code
    return mod._pool_route


def _autograd_route(x, axis, keepdims, g):
    """autograd's gradient of sum(max(x, axis, keepdims) * g)."""
    return autograd.grad(
        lambda t: anp.sum(anp.max(t, axis=axis, keepdims=keepdims) * g)
    )(x)


# (shape, axis): windows of 2 to 16 entries (the slice path), 17 or more and
# of 1 (the general path), every axis (None), negative and unsorted axes.
ROUTES = [
    ((4, 6), 1),
    ((3, 5), 0),
    ((2, 3, 4, 6), (3,)),
    ((2, 4, 3, 2, 5, 2), (3, 5)),
    ((2, 4, 3, 2, 5, 2), (-1, -3)),
    ((2, 4, 3, 2, 5, 2), (5, 3)),
    ((3, 7, 2, 3), (1, 3)),
    ((2, 4, 4, 5), (1, 2)),  # 16 entries
    ((2, 17, 3), 1),  # 17 entries
    ((3, 3, 3, 3), (0, 1, 2)),  # 27
    ((4, 1, 5), 1),  # one entry
    ((2, 3), None),  # 6 entries, every axis
    ((5, 4), None),  # 20, every axis
    ((7,), 0),
]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape,axis", ROUTES)
def test_pool_route_shares_ties_like_autograd(route, shape, axis, keepdims):
    rng = np.random.default_rng(sum(shape))
    for x in (
        rng.integers(0, 3, shape).astype(float),  # many ties
        np.zeros(shape),  # every entry tied
        rng.standard_normal(shape),  # no ties
        -np.abs(rng.standard_normal(shape)).round(1),  # ties below zero
    ):
        ans = np.max(x, axis=axis, keepdims=keepdims)
        g = rng.standard_normal(np.shape(ans))
        got = route(g, x, ans, axis, keepdims)
        assert got.shape == x.shape
        assert np.allclose(got, _autograd_route(x, axis, keepdims, g), rtol=1e-13)


def test_pool_route_counts_each_tie_once(route):
    x = np.array([[1.0, 1.0, 0.0, 5.0], [0.0, 1.0, 2.0, 3.0]]).reshape(1, 2, 2, 2)
    # windows over axes (1, 3): {1, 1, 0, 1} (three tie) and {0, 5, 2, 3}
    g = np.array([[3.0, 2.0]])
    got = route(g, x, np.max(x, axis=(1, 3)), (1, 3), False)
    assert np.array_equal(got.reshape(2, 4), [[1, 1, 0, 2], [0, 1, 0, 0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_route_keeps_the_gradient_dtype(route, dtype):
    x = np.random.default_rng(0).integers(0, 2, (3, 4, 2)).astype(dtype)
    for axis in (2, (1, 2)):
        ans = np.max(x, axis=axis)
        g = np.ones(ans.shape, dtype)
        got = route(g, x, ans, axis, False)
        assert got.dtype == dtype
        assert np.allclose(got, _autograd_route(x.astype(float), axis, False, g))


def test_pool_route_writes_a_fresh_array(route):
    x = np.arange(8.0).reshape(2, 4)
    ans = np.max(x, axis=1)
    g = np.ones(2)
    got = route(g, x, ans, 1, False)
    assert not np.shares_memory(got, g) and not np.shares_memory(got, x)


def test_pool_route_upstream_broadcast_takes_the_general_path(route):
    """An upstream gradient not shaped like the maxima (a number) is still
    routed right (np.max's rule), by the general path."""
    x = np.array([[2.0, 2.0, 1.0], [0.0, 4.0, 4.0]])
    got = route(np.float64(6.0), x, np.max(x, axis=1, keepdims=True), 1, True)
    assert np.array_equal(got, [[3, 3, 0], [0, 3, 3]])


POOLS = {
    "reshape_max": (
        "N, C, H, W = x.shape\n"
        "    out = x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))",
        (2, 3, 4, 6),
    ),
    "reshape_max_odd_window": (
        "N, D = x.shape\n    out = x.reshape(N, D // 3, 3).max(axis=2)",
        (3, 9),
    ),
    "max_keepdims_unsorted": (
        "N, D = x.shape\n"
        "    out = np.max(x.reshape(N, 2, D // 2), axis=(2, 0), keepdims=True)",
        (3, 8),
    ),
    "windows_max": (
        "out = np.lib.stride_tricks.sliding_window_view(x, (2, 3)).max(axis=(-2, -1))",
        (4, 5),
    ),
    "relu_then_pool": (
        "N, D = x.shape\n"
        "    out = np.maximum(x, 0).reshape(N, D // 2, 2).max(axis=-1) * 3.0",
        (4, 6),
    ),
}


def _pool_source(body: str) -> str:
    return f"import numpy as np\n\n\ndef f(x):\n    {body}\n    return out\n"


@pytest.mark.parametrize("case", sorted(POOLS))
def test_pooling_gradients_against_central_differences(case):
    body, shape = POOLS[case]
    src = _pool_source(body)
    forward, mod, _ = build(src, "f", ["x"])
    x = np.random.default_rng(1).standard_normal(shape)  # no ties
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), ["x"], {"x": x}, ["x"]
    )
    assert report.ok, report


def _windows_max_reference(x, g):
    """The gradient of max over each 2x3 window of x, by loops: each
    window's g shared equally by its tied maxima."""
    out = np.zeros_like(x)
    for i in range(x.shape[0] - 1):
        for j in range(x.shape[1] - 2):
            window = x[i : i + 2, j : j + 3]
            hit = window == window.max()
            out[i : i + 2, j : j + 3] += hit * g[i, j] / hit.sum()
    return out


def test_windows_max_with_ties_against_loops():
    body, shape = POOLS["windows_max"]
    _, mod, _ = build(_pool_source(body), "f", ["x"])
    rng = np.random.default_rng(7)
    for x in (rng.integers(0, 2, shape).astype(float), np.zeros(shape)):
        out, cache = mod.f_forward(x)
        g = rng.standard_normal(out.shape)
        got = mod.f_backward(g, cache)
        assert np.allclose(got, _windows_max_reference(x, g), rtol=1e-12)


@pytest.mark.parametrize("case", sorted(set(POOLS) - {"windows_max"}))
def test_pooling_gradients_with_ties_against_autograd(case):
    body, shape = POOLS[case]
    rng = np.random.default_rng(2)
    ties = [rng.choice([-2.0, -1.0, 1.0, 2.0], shape)]  # never 0: np.maximum's
    if "maximum" not in body:  # own ties go to its first argument, not halved
        ties.append(np.zeros(shape))
    for x in ties:
        _agrees_with_autograd(_pool_source(body), ["x"], {"x": x}, case)


# ----- drop_equal_unbroadcast -----


def _generated_conv() -> str:
    example = ROOT / "examples" / "conv_relu_pool.py"
    return generate(example.read_text(), "examples/conv_relu_pool.py", "conv_relu_pool")


def test_conv_backward_has_no_unbroadcast_where_shapes_are_equal():
    code = _generated_conv()
    for line in code.splitlines():
        if "np.einsum(" in line and "grad_" in line.split("=")[0]:
            assert "_unbroadcast" not in line, line
    text = re.sub(r"\s+", " ", code)
    assert "_unbroadcast(np.einsum" not in text
    assert "grad_conv = grad_relu * conv_mask" in code  # relu: one pass
    assert "grad_conv_einsum = grad_conv\n" in code
    # the bias broadcast still sums (N, F, H, W) down to (1, F, 1, 1)
    assert "_unbroadcast(grad_conv, conv_getitem_shape)" in code


def test_conv_gradients_against_autograd_and_central_differences():
    """The example's generated gradients, against autograd on the plain-NumPy
    port of the same layer and against central differences (small sizes, no
    ties: random inputs)."""
    example = ROOT / "examples" / "conv_relu_pool.py"
    mod = module_from_source(_generated_conv(), "conv_lean_conv")
    user = module_from_source(example.read_text(), "conv_lean_user")
    port = (ROOT / "benchmarks" / "ports" / "conv_relu_pool.py").read_text()
    ns: dict = {}
    exec(
        compile(port.replace("import numpy as np", ""), "<port>", "exec"),
        {"np": anp},
        ns,
    )
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 4, 6))
    w = rng.standard_normal((4, 3, 3, 3))
    b = rng.standard_normal(4)
    point = {"x": x, "w": w, "b": b}
    report = check_gradients(
        user.conv_relu_pool,
        (mod.conv_relu_pool_forward, mod.conv_relu_pool_backward),
        ["x", "w", "b"],
        point,
        ["x", "w", "b"],
    )
    assert report.ok, report
    _, grads = mod.conv_relu_pool_value_and_grad(x, w, b)
    # the port computes the same layer with F last: the same gradients
    for i, got in enumerate(grads):
        expected = autograd.grad(ns["conv_relu_pool"], i)(x, w, b)
        assert np.allclose(got, expected, rtol=1e-9, atol=1e-12), i


def test_conv_gradients_with_ties_against_autograd():
    """Inputs where the ReLU makes whole windows 0 (ties) and conv hits 0."""
    mod = module_from_source(_generated_conv(), "conv_lean_ties")
    port = (ROOT / "benchmarks" / "ports" / "conv_relu_pool.py").read_text()
    ns: dict = {}
    exec(
        compile(port.replace("import numpy as np", ""), "<port>", "exec"),
        {"np": anp},
        ns,
    )
    rng = np.random.default_rng(4)
    x = rng.integers(-1, 2, (2, 2, 4, 4)).astype(float)
    w = rng.integers(-1, 2, (3, 2, 3, 3)).astype(float)
    b = np.array([-1.0, 0.0, 2.0])
    _, grads = mod.conv_relu_pool_value_and_grad(x, w, b)
    for i, got in enumerate(grads):
        expected = autograd.grad(ns["conv_relu_pool"], i)(x, w, b)
        assert np.allclose(got, expected, rtol=1e-9, atol=1e-12), i


def test_dims_through_pad_shapes_and_windows():
    fn = parse((ROOT / "examples" / "conv_relu_pool.py").read_text(), "e.py")
    d = dims(fn)
    assert d["xp"] == ("N", "C", None, None)
    assert d["windows"] == ("N", "C", None, None, "HH", "WW")
    assert d["conv_einsum"] == ("N", "F", None, None)
    assert d["windows_getitem"] is None  # a tuple of sizes, not an array


def test_dims_unknown_for_other_pad_modes_and_repeated_axes():
    src = HEADER + """

def f(x: Float[np.ndarray, "N D"]):
    a = np.pad(x, 1, mode="edge")
    v = np.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(1, 1))
    return np.sum(a) + np.sum(v)
"""
    try:
        fn = parse(src, "t.py", "f")
    except Exception:  # a refused mode: nothing to infer
        return
    d = dims(fn)
    assert d.get("a") is None and d.get("v") is None


EINSUM = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "{w}"]):
    return np.sum(np.einsum("ij,jk->ik", x, w) ** 2)
"""


def test_einsum_unbroadcast_dropped_only_when_sizes_are_proven():
    _, _, proven = build(EINSUM.format(w="D M"), "f", ["x", "w"])
    assert "_unbroadcast" not in proven
    _, _, unknown = build(EINSUM.format(w="K M"), "f", ["x", "w"])
    assert "_unbroadcast(np.einsum" in re.sub(r"\s+", "", unknown)


def test_einsum_broadcast_label_still_summed():
    """w's j has size 1 and broadcasts against x's (einsum allows it): w's
    gradient must be summed back to size 1; annotations do not prove equal
    sizes, so the sum stays."""
    src = EINSUM.format(w="K M")
    forward, mod, _ = build(src, "f", ["x", "w"])
    rng = np.random.default_rng(5)
    point = {"x": rng.standard_normal((2, 3)), "w": rng.standard_normal((1, 4))}
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), ["x", "w"], point, ["x", "w"]
    )
    assert report.ok, report
    _, grads = mod.f_value_and_grad(point["x"], point["w"])
    assert grads[1].shape == (1, 4)


HEADER = (
    "from __future__ import annotations\n\nfrom typing import TYPE_CHECKING\n\n"
    "import numpy as np\n\nif TYPE_CHECKING:\n    from jaxtyping import Float\n"
)


@pytest.mark.parametrize(
    "body,shapes,kept",
    [
        # numbers broadcast into x: nothing to sum
        ("out = np.maximum(x, 0) * 2.0 - 1", {"x": (3, 4)}, 0),
        # b (D,) broadcasts into x (N, D): x's gradient unsummed, b's summed
        ("out = np.maximum(x, b)", {"x": (3, 4), "b": (4,)}, 1),
        # b[None, :]'s sum is an einsum (lean_normalisation); b's, of the
        # upstream gradient (N, D) to (D,), is np.sum(axis=0) (sum_lean)
        ("out = x * b[None, :] + b", {"x": (3, 4), "b": (4,)}, 0),
        ("out = np.clip(x, -0.5, 0.5) / (x * x + 1)", {"x": (3, 4)}, 0),
    ],
)
def test_elementwise_unbroadcast_dropped_and_gradients_right(body, shapes, kept):
    dims_of = {"x": '"N D"', "b": '"D"'}
    params = ", ".join(f"{p}: Float[np.ndarray, {dims_of[p]}]" for p in shapes)
    src = f"{HEADER}\n\ndef f({params}):\n    {body}\n    return out\n"
    forward, mod, code = build(src, "f", list(shapes))
    backward = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    assert backward.count("_unbroadcast(") == kept, backward
    rng = np.random.default_rng(6)
    point = {p: rng.standard_normal(s) for p, s in shapes.items()}
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), list(shapes), point, list(shapes)
    )
    assert report.ok, report
    _agrees_with_autograd(src, list(shapes), point, body)


# ----- cache_masks -----


def _cache_tuple(code: str) -> list[str]:
    """The names the forward returns as its cache."""
    forward = code.split("def f_forward")[1].split("def f_backward")[0]
    tail = forward.split("return out, (")[-1] if "return out, (" in forward else ""
    if not tail:
        tail = forward.split("return out, ")[-1]
    return re.findall(r"\w+", tail.split(")")[0])


MASKED = HEADER + """

def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    h = x + b
    out = np.maximum(h, 0) * 3.0 + np.maximum(h, 1.0)
    return out
"""


def test_relu_mask_cached_instead_of_the_array():
    forward, mod, code = build(
        HEADER + """

def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    h = x @ x.T + b[:, None]
    out = np.maximum(h, 0)
    return out
""",
        "f",
        ["x", "b"],
    )
    assert "h_mask = h >= 0" in code
    assert "grad_h = grad_out * h_mask" in code
    cache = _cache_tuple(code)
    assert "h_mask" in cache and "h" not in cache
    rng = np.random.default_rng(8)
    point = {"x": rng.standard_normal((3, 3)), "b": rng.standard_normal(3)}
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), ["x", "b"], point, ["x", "b"]
    )
    assert report.ok, report
    out, cache_values = mod.f_forward(*point.values())
    masks = [c for c in cache_values if getattr(c, "dtype", None) == np.bool_]
    assert len(masks) == 1 and masks[0].shape == out.shape


def test_no_mask_where_the_array_is_read_otherwise():
    # h is compared twice (two different masks): kept as it is
    _, _, code = build(MASKED, "f", ["x", "b"])
    assert "_mask" not in code
    # h read by a product as well as a comparison: kept
    _, _, code = build(
        HEADER + """

def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    h = x + b
    out = np.maximum(h, 0) * h
    return out
""",
        "f",
        ["x", "b"],
    )
    assert "_mask" not in code


def test_no_mask_of_a_parameter_or_a_view():
    _, _, code = build(
        HEADER + """

def f(x: Float[np.ndarray, "N D"]):
    return np.maximum(x, 0) + np.maximum(x.reshape(-1), 0).sum()
""",
        "f",
        ["x"],
    )
    assert "_mask" not in code


def test_masked_gradients_against_autograd():
    src = HEADER + """

def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "D"]):
    h = x * 2.0 + b
    out = np.maximum(h, 0) ** 2
    return out
"""
    forward, mod, code = build(src, "f", ["x", "b"])
    assert "h_mask" in code
    rng = np.random.default_rng(9)
    point = {"x": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), ["x", "b"], point, ["x", "b"]
    )
    assert report.ok, report
    _agrees_with_autograd(src, ["x", "b"], point, "masked")
