"""Every NumPy primitive against central differences, with broadcasting,
keywords, methods and indexing, on small random arrays (float64)."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.checks.verify import check_gradients
from codegen.core.rules import RULES
from conftest import build

# name: (body, {param: shape}); the body's last line assigns `out`.
# Shapes: a tuple for a float array, "int:K" for integer labels in [0, K).
CASES: dict[str, tuple[str, dict]] = {
    "add": ("out = x + b", {"x": (3, 4), "b": (4,)}),
    "sub": ("out = x - b[:, None]", {"x": (3, 4), "b": (3,)}),
    "mul": ("out = x * b", {"x": (3, 4), "b": (3, 1)}),
    "div": ("out = x / (b * b + 1)", {"x": (3, 4), "b": (4,)}),
    "pow": ("out = (x * x + 1) ** b", {"x": (3, 4), "b": (4,)}),
    "np_power": ("out = np.power(x * x + 1, b)", {"x": (3, 4), "b": (4,)}),
    "np_add": ("out = np.add(x, b)", {"x": (3, 4), "b": (4,)}),
    "np_subtract": ("out = np.subtract(x, b)", {"x": (3, 4), "b": (4,)}),
    "np_multiply": ("out = np.multiply(x, b)", {"x": (3, 4), "b": (3, 1)}),
    "np_divide": (
        "out = np.divide(x, b * b + 1) + np.true_divide(x, 2.0)",
        {"x": (3, 4), "b": (4,)},
    ),
    "np_negative": ("out = np.negative(x)", {"x": (3, 4)}),
    "pow_const": ("out = x ** 3", {"x": (3, 4)}),
    "neg": ("out = -x", {"x": (3, 4)}),
    "copy": ("c = x\n    out = c * c", {"x": (3, 4)}),
    "abs": ("out = np.abs(x)", {"x": (3, 4)}),
    "pyabs": ("out = abs(x) * x", {"x": (3, 4)}),
    "maximum": ("out = np.maximum(x, b)", {"x": (3, 4), "b": (4,)}),
    "maximum_relu": ("out = np.maximum(0, x)", {"x": (3, 4)}),
    "minimum": ("out = np.minimum(x, b)", {"x": (3, 4), "b": (1, 4)}),
    "exp": ("out = np.exp(x)", {"x": (3, 4)}),
    "log": ("out = np.log(x * x + 1)", {"x": (3, 4)}),
    "log1p": ("out = np.log1p(x * x)", {"x": (3, 4)}),
    "sqrt": ("out = np.sqrt(x * x + 1)", {"x": (3, 4)}),
    "square": ("out = np.square(x)", {"x": (3, 4)}),
    "sin": ("out = np.sin(x)", {"x": (3, 4)}),
    "cos": ("out = np.cos(x)", {"x": (3, 4)}),
    "tan": ("out = np.tan(0.3 * x)", {"x": (3, 4)}),
    "tanh": ("out = np.tanh(x)", {"x": (3, 4)}),
    "sigmoid": ("out = sigmoid(x)", {"x": (3, 4)}),
    "clip": ("out = np.clip(x, -0.5, 0.5)", {"x": (3, 4)}),
    "where": ("out = np.where(x > 0, x * b, b)", {"x": (3, 4), "b": (4,)}),
    "astype": ("out = (x * 2).astype(np.float64) * x", {"x": (3, 4)}),
    "astype_runtime": ("out = x.astype(b.dtype) * b", {"x": (3, 4), "b": (4,)}),
    "astype_int": ("out = (x * 3).astype(int) * x", {"x": (3, 4)}),
    # a dtype= casts before reducing: no gradient through an integer sum
    "sum_dtype_cast": (
        "out = np.sum(x * 3.0, dtype=int) + np.sum(x * x, axis=0, dtype=np.float64)",
        {"x": (3, 4)},
    ),
    "mean_dtype": (
        "out = np.mean(x * 3.0, axis=1, dtype=int) * x.mean(dtype=float)",
        {"x": (3, 4)},
    ),
    # fftshift/ifftshift: half-length rolls, odd lengths too (5 rows)
    "fftshift": ("out = np.fft.fftshift(x) * b", {"x": (5, 4), "b": (4,)}),
    "ifftshift": ("out = np.fft.ifftshift(x, axes=0) ** 2", {"x": (5, 4)}),
    # ufunc.reduce: axis 0 by default, a list stacked first
    "amax_reduce": ("out = np.maximum.reduce([x, x * 2, -x])", {"x": (3, 4)}),
    "amin_reduce": (
        "out = np.minimum.reduce(x, axis=1, keepdims=True) * x",
        {"x": (3, 4)},
    ),
    "sum_reduce": (
        "out = np.add.reduce(x) * np.multiply.reduce(x, axis=1).sum()",
        {"x": (3, 4)},
    ),
    # initial= takes part in the reduction: x gets nothing where it wins
    "amax_initial": (
        "out = np.max(x, axis=1, initial=0.3) * x.max(initial=9.0)",
        {"x": (3, 4)},
    ),
    "amin_initial": (
        "out = np.min(x, axis=0, keepdims=True, initial=-0.4) * x",
        {"x": (3, 4)},
    ),
    "sum": ("out = np.sum(x * x, axis=1)", {"x": (3, 4)}),
    "sum_all": ("out = np.sum(x * x)", {"x": (3, 4)}),
    "vdot": ("out = np.vdot(x, b) * np.vdot(x, x)", {"x": (3, 4), "b": (3, 4)}),
    "cumsum": (
        "out = np.cumsum(x, axis=1) * x + x.cumsum(axis=0) + np.cumsum(x)[3]",
        {"x": (3, 4)},
    ),
    "sum_keepdims": ("out = x.sum(axis=0, keepdims=True) * x", {"x": (3, 4)}),
    "sum_tuple": ("out = np.sum(a * a, axis=(0, 2))", {"a": (2, 3, 4)}),
    "sum_positional_axis": ("out = np.sum(x, 1)", {"x": (3, 4)}),
    "sum_dtype": ("out = np.sum(x * x, axis=0, dtype=x.dtype)", {"x": (3, 4)}),
    "mean": ("out = np.mean(x * x, axis=1)", {"x": (3, 4)}),
    "mean_all": ("out = x.mean()", {"x": (3, 4)}),
    "amax": ("out = np.max(x, axis=1)", {"x": (3, 4)}),
    "amax_keepdims": ("out = x - np.max(x, axis=1, keepdims=True)", {"x": (3, 4)}),
    "amin": ("out = x.min(axis=0)", {"x": (3, 4)}),
    "var": ("out = np.var(x, axis=1, keepdims=True)", {"x": (3, 4)}),
    "std": ("out = np.std(x)", {"x": (3, 4)}),
    "std_axis": ("out = x.std(axis=0)", {"x": (3, 4)}),
    "matmul": ("out = x @ w", {"x": (3, 4), "w": (4, 2)}),
    "matmul_vector": ("out = v @ w", {"v": (4,), "w": (4, 2)}),
    "matmul_matrix_vector": ("out = x @ v", {"x": (3, 4), "v": (4,)}),
    "matmul_batched": ("out = np.matmul(a, w)", {"a": (2, 3, 4), "w": (4, 2)}),
    "dot_method": ("out = x.dot(w)", {"x": (3, 4), "w": (4, 2)}),
    "outer": ("out = np.outer(v, u)", {"v": (4,), "u": (3,)}),
    "tensordot": (
        "out = np.tensordot(a, c, axes=([1, 2], [0, 1]))",
        {"a": (2, 3, 4), "c": (3, 4, 2)},
    ),
    "tensordot_int": ("out = np.tensordot(x, w, axes=1)", {"x": (3, 4), "w": (4, 2)}),
    "einsum": ('out = np.einsum("ij,jk->ik", x, w)', {"x": (3, 4), "w": (4, 2)}),
    "einsum_conv": (
        'out = np.einsum("nchw,fc->nfhw", a, w)',
        {"a": (2, 4, 3, 2), "w": (3, 4)},
    ),
    "transpose": ("out = x.T @ x", {"x": (3, 4)}),
    "transpose_axes": ("out = np.transpose(a, (2, 0, 1))", {"a": (2, 3, 4)}),
    "transpose_method": ("out = a.transpose(1, 2, 0)", {"a": (2, 3, 4)}),
    "reshape": ("out = x.reshape(2, -1)", {"x": (3, 4)}),
    "reshape_tuple": ("out = np.reshape(x, (4, 3))", {"x": (3, 4)}),
    "expand_dims": ("out = np.expand_dims(b, 0) * x", {"b": (4,), "x": (3, 4)}),
    "squeeze": ("out = np.squeeze(c)", {"c": (3, 1)}),
    "broadcast_to": ("out = np.broadcast_to(b, (3, 4))", {"b": (4,)}),
    "concatenate": (
        "out = np.concatenate([x, x * 2, w], axis=1)",
        {"x": (3, 4), "w": (3, 2)},
    ),
    "stack": ("out = np.stack([v, u * v], axis=1)", {"v": (4,), "u": (4,)}),
    "getitem": ("out = x[1:, ::2]", {"x": (3, 4)}),
    "getitem_newaxis": ("out = b[:, None] * v[np.newaxis, :]", {"b": (3,), "v": (4,)}),
    "gather": (
        "N = x.shape[0]\n    out = x[np.arange(N), y]",
        {"x": (3, 4), "y": "int:4"},
    ),
    "gather_repeated": ("out = v[np.arange(4) * 0] * v", {"v": (4,)}),
    "setitem": (
        "N = x.shape[0]\n    m = x * 2\n    m[np.arange(N), y] = 0\n    out = m * x",
        {"x": (3, 4), "y": "int:4"},
    ),
    "setitem_value": (
        "m = x * 1\n    m[0, 1:3] = b\n    out = m * m",
        {"x": (3, 4), "b": (2,)},
    ),
    "setitem_augmented": (
        "N = x.shape[0]\n    s = x * 1\n    s[np.arange(N), y] -= 1.0\n    out = s * s",
        {"x": (3, 4), "y": "int:4"},
    ),
    "shape_unpacking": ("N, D = x.shape\n    out = x * D + N", {"x": (3, 4)}),
    # convolution and pooling (codegen/parse_windows.py)
    "pad": ("out = np.pad(x, ((1, 2), (0, 1)))", {"x": (3, 4)}),
    "pad_int_mode": ('out = np.pad(x, 1, "constant") * 2', {"x": (3, 4)}),
    "sliding_window_view": (
        "out = np.lib.stride_tricks.sliding_window_view(a, (2, 3), axis=(1, 2))",
        {"a": (2, 4, 5)},
    ),
    "sliding_window_view_1d": (
        "out = np.lib.stride_tricks.sliding_window_view(v, 3)",
        {"v": (6,)},
    ),
    "strided_windows": (
        "out = np.lib.stride_tricks.sliding_window_view(a, (2, 3), axis=(1, 2))[:, ::2, 1::2]",
        {"a": (2, 6, 8)},
    ),
    "strided_windows_reversed": (
        "out = np.lib.stride_tricks.sliding_window_view(v, 2)[::-1] * v[:5, None]",
        {"v": (6,)},
    ),
    "pool_max": (
        "N = x.shape[0]\n    out = x.reshape(N, 2, 2, 3).max(axis=(1, 3))",
        {"x": (2, 12)},
    ),
    "pool_max_keepdims": (
        "out = x.reshape(3, 2, 2).max(axis=2, keepdims=True)",
        {"x": (3, 4)},
    ),
    "pool_max_windows": (
        "out = np.lib.stride_tricks.sliding_window_view(x, (2, 2)).max(axis=(-2, -1))",
        {"x": (3, 4)},
    ),
    "pool_mean": ("out = x.reshape(3, 2, 2).mean(axis=-1)", {"x": (3, 4)}),
    "pool_sum": (
        "N, D = x.shape\n    out = np.sum(x.reshape(N, D // 2, 2), axis=(1, 2))",
        {"x": (3, 4)},
    ),
}


def _annotation(shape) -> str:
    if isinstance(shape, str):
        return 'Int[np.ndarray, "N"]'
    return f'Float[np.ndarray, "{" ".join(str(d) for d in shape)}"]'


def _source(body: str, params: dict, annotate: bool = True) -> str:
    sig = ", ".join(
        f"{p}: {_annotation(s)}" if annotate else p for p, s in params.items()
    )
    return (
        "from __future__ import annotations\n\nimport numpy as np\n\n\n"
        "def sigmoid(a):\n    return 1 / (1 + np.exp(-a))\n\n\n"
        f"def f({sig}):\n    {body}\n    return out\n"
    )


def _point(params: dict, rng) -> dict:
    point = {}
    for p, s in params.items():
        if isinstance(s, str):
            k = int(s.split(":")[1])
            point[p] = rng.integers(0, k, size=3)
        else:
            point[p] = rng.standard_normal(s)
    return point


def _agrees_with_autograd(source: str, wrt: list, point: dict, case: str) -> None:
    """The generated backward of `source`'s f, with a random upstream
    gradient, equals autograd's gradient of sum(f * upstream) at `point`
    (the forward run under autograd.numpy)."""
    autograd = pytest.importorskip("autograd")
    import autograd.numpy as anp

    _, generated, _ = build(source, "f", wrt)
    namespace: dict = {}
    exec(
        compile(source.replace("import numpy as np", ""), "<autograd>", "exec"),
        {"np": anp},
        namespace,
    )
    args = list(point.values())
    out, cache = generated.f_forward(*args)
    upstream = np.random.default_rng(2).standard_normal(np.shape(out))
    grads = generated.f_backward(upstream, cache)
    grads = (grads,) if len(wrt) == 1 else grads
    for i, name in enumerate(wrt):
        expected = autograd.grad(lambda *a: anp.sum(namespace["f"](*a) * upstream), i)(
            *args
        )
        assert np.allclose(grads[i], expected, rtol=1e-7, atol=1e-9), (case, name)


def test_every_differentiable_rule_has_an_array_case():
    from test_prims_breadth import CASES as BREADTH_CASES
    from test_prims_breadth_more import CASES as BREADTH_MORE_CASES
    from test_prims_linalg_decomp import CASES as DECOMP_CASES
    from test_prims_stacking import CASES as STACKING_CASES
    from test_prims_statistics import CASES as STATISTICS_CASES

    def covered(op: str) -> bool:
        every = {*CASES, *BREADTH_CASES, *DECOMP_CASES, *BREADTH_MORE_CASES}
        every |= set(STACKING_CASES) | set(STATISTICS_CASES)
        return any(c == op or c.startswith(op + "_") for c in every)

    # the helpers of generated code are differentiated when a backward is
    # differentiated again: tests/test_second_order_examples.py covers them
    helpers = {op for op, r in RULES.items() if r.helper}
    # spelled only in `math` (math.pow): no array form; the scalar cases
    # of tests/test_prims_breadth.py cover them
    from test_prims_breadth import SCALAR_CASES

    scalar = {
        op
        for op, r in RULES.items()
        if r.diff  # math.comb and the other integer functions: nothing to check
        and r.calls
        and all(c.startswith("math.") for c in r.calls)
        and not r.methods
    }
    # math's, spelled by how they are called (codegen/front/parse_scalars.py)
    scalar |= {"fsum", "hypot_n", "log_base"}
    assert scalar <= set(SCALAR_CASES), scalar - set(SCALAR_CASES)
    missing = {op for op, r in RULES.items() if r.diff and not covered(op)}
    refused = {"lstsq_residuals"}  # its gradient is a located refusal
    assert missing <= helpers | scalar | refused, missing


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_array_rule_matches_central_differences(case, annotate):
    body, params = CASES[case]
    source = _source(body, params, annotate)
    wrt = [p for p, s in params.items() if not isinstance(s, str)]
    forward, generated, code = build(source, "f", wrt)
    rng = np.random.default_rng(0)
    for trial in range(2):
        point = _point(params, rng)
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(params), point, wrt, case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


def test_matmul_with_known_ranks_reads_like_the_math():
    body, params = CASES["matmul"]
    _, _, code = build(_source(body, params), "f", ["x", "w"])
    assert "grad_x = grad_out @ w.T" in code
    assert "grad_w = x.T @ grad_out" in code


def test_returned_gradients_never_alias_each_other_or_the_seed():
    _, generated, _ = build(
        _source("out = x + w", {"x": (3,), "w": (3,)}), "f", ["x", "w"]
    )
    g = np.ones(3)
    _, cache = generated.f_forward(np.zeros(3), np.zeros(3))
    gx, gw = generated.f_backward(g, cache)
    gx += 1.0  # an in-place update by the caller must not leak anywhere
    assert np.all(gw == 1.0) and np.all(g == 1.0)


def test_fan_out_of_arrays_accumulates_out_of_place():
    src = _source("a = x * 2\n    b = x * 3\n    out = a + b + x", {"x": (3,)})
    _, generated, code = build(src, "f", ["x"])
    # the first sum is a new array (grad_x held the upstream g); only then in place
    assert "grad_x = grad_x + " in code
    assert (
        code.index("grad_x = grad_x + ") < code.find("grad_x +=")
        or "grad_x +=" not in code
    )
    g = np.ones(3)
    _, cache = generated.f_forward(np.ones(3))
    assert np.allclose(generated.f_backward(g, cache), 6.0)
    assert np.all(g == 1.0)


def test_float32_stays_float32_through_the_max_shift():
    src = _source(
        "s = x - np.max(x, axis=1, keepdims=True)\n    out = np.sum(s * s)",
        {"x": (3, 4)},
    )
    _, generated, _ = build(src, "f", ["x"])
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    _, grad = generated.f_value_and_grad(x)
    assert grad.dtype == np.float32
