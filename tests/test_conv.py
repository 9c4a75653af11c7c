"""Convolution and pooling kernels: every example's gradients against central
differences (rel_error < 1e-7, float64) at stride 1 and 2, pad 0 and 1, on
non-square inputs; forward values and the conv backward against naive loops
written here; the lectures' doesn't-fit message; the pooling tie rule; and
the kernels in generated/ used the cs231n way."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, build

from codegen import generate
from codegen.errors import CodegenError
from codegen.checks.verify import (
    VerificationError,
    load_module,
    module_from_source,
    verify_file,
)

# (example, fixed values, shapes): non-square inputs throughout.
CASES = [
    (
        "conv",
        {"stride": 1, "pad": 1},
        {"x": (2, 3, 5, 4), "w": (4, 3, 3, 3), "b": (4,)},
    ),
    (
        "conv",
        {"stride": 2, "pad": 0},
        {"x": (2, 3, 7, 5), "w": (4, 3, 3, 3), "b": (4,)},
    ),
    (
        "conv",
        {"stride": 2, "pad": 1},
        {"x": (2, 2, 6, 8), "w": (3, 2, 2, 4), "b": (3,)},
    ),
    (
        "conv",
        {"stride": 1, "pad": 0},
        {"x": (1, 2, 4, 6), "w": (2, 2, 1, 3), "b": (2,)},
    ),
    ("conv_stride2", {}, {"x": (2, 3, 7, 5), "w": (4, 3, 3, 3), "b": (4,)}),
    (
        "conv_im2col",
        {"stride": 1, "pad": 1},
        {"x": (2, 3, 5, 4), "w": (4, 3, 3, 3), "b": (4,)},
    ),
    (
        "conv_im2col",
        {"stride": 2, "pad": 0},
        {"x": (2, 3, 7, 5), "w": (4, 3, 3, 3), "b": (4,)},
    ),
    ("max_pool", {}, {"x": (2, 3, 4, 6)}),
    ("avg_pool", {}, {"x": (2, 3, 6, 4)}),
    ("max_pool_overlap", {}, {"x": (2, 3, 7, 5)}),
    ("conv_relu_pool", {}, {"x": (2, 3, 4, 6), "w": (4, 3, 3, 3), "b": (4,)}),
    (
        "cnn_loss",
        {"reg": 0.1},
        {
            "X": (3, 2, 4, 6),
            "y": (3,),
            "W1": (4, 2, 3, 3),
            "b1": (4,),
            "W2": (24, 5),
            "b2": (5,),
        },
    ),
]


def _example(name: str):
    return load_module(ROOT / "examples" / f"{name}.py")


def _generated(name: str, wrt=None):
    path = ROOT / "examples" / f"{name}.py"
    return module_from_source(
        generate(path.read_text(), str(path), name, wrt), f"{name}_grad"
    )


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize(
    ("name", "at", "shapes"),
    CASES,
    ids=[f"{n}-" + "-".join(f"{k}{v}" for k, v in at.items()) for n, at, _ in CASES],
)
def test_gradients_match_central_differences(name, at, shapes, seed):
    report = verify_file(
        ROOT / "examples" / f"{name}.py", name, at=at, shapes=shapes, seed=seed
    )
    assert report.ok, report.summary()
    assert max(p.rel_error for p in report.params) < 1e-7, report.summary()


# ----- naive references (loops over every output, the lectures' definitions) -----


def naive_conv(x, w, b, stride, pad):
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    Ho, Wo = (H - HH + 2 * pad) // stride + 1, (W - WW + 2 * pad) // stride + 1
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    patch = xp[
                        n, :, i * stride : i * stride + HH, j * stride : j * stride + WW
                    ]
                    out[n, f, i, j] = np.sum(patch * w[f]) + b[f]
    return out


def naive_conv_backward(dout, x, w, stride, pad):
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dxp[n, :, rows, cols] += w[f] * dout[n, f, i, j]
                    dw[f] += xp[n, :, rows, cols] * dout[n, f, i, j]
    return dxp[:, :, pad : pad + H, pad : pad + W], dw, dout.sum(axis=(0, 2, 3))


def naive_pool(x, size, stride, reduce):
    N, C, H, W = x.shape
    Ho, Wo = (H - size) // stride + 1, (W - size) // stride + 1
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            window = x[
                :, :, i * stride : i * stride + size, j * stride : j * stride + size
            ]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


CONV_SETTINGS = [
    (1, 1, (2, 3, 5, 4), (4, 3, 3, 3)),
    (2, 0, (2, 3, 7, 5), (4, 3, 3, 3)),
    (2, 1, (2, 2, 6, 8), (3, 2, 2, 4)),
    (3, 1, (1, 2, 7, 4), (2, 2, 3, 3)),
]


@pytest.mark.parametrize(("stride", "pad", "xs", "ws"), CONV_SETTINGS)
@pytest.mark.parametrize("name", ["conv", "conv_im2col"])
def test_conv_matches_naive_loops(name, stride, pad, xs, ws):
    rng = np.random.default_rng(stride + pad)
    x, w, b = (
        rng.standard_normal(xs),
        rng.standard_normal(ws),
        rng.standard_normal(ws[0]),
    )
    mod = _generated(name)
    out, cache = getattr(mod, f"{name}_forward")(x, w, b, stride, pad)
    assert np.allclose(out, naive_conv(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    assert np.allclose(out, getattr(_example(name), name)(x, w, b, stride, pad))
    dout = rng.standard_normal(out.shape)
    for got, want in zip(
        getattr(mod, f"{name}_backward")(dout, cache),
        naive_conv_backward(dout, x, w, stride, pad),
        strict=True,
    ):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv_stride2_matches_naive_loops():
    rng = np.random.default_rng(5)
    x, w, b = (
        rng.standard_normal((2, 3, 9, 7)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    out, _ = _generated("conv_stride2").conv_stride2_forward(x, w, b)
    assert np.allclose(out, naive_conv(x, w, b, 2, 0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "size", "stride", "reduce"),
    [
        ("max_pool", 2, 2, np.max),
        ("avg_pool", 2, 2, np.mean),
        ("max_pool_overlap", 3, 2, np.max),
    ],
)
def test_pooling_matches_naive_loops(name, size, stride, reduce):
    x = np.random.default_rng(0).standard_normal(
        (2, 3, 7 if stride != size else 6, 10 if size == 2 else 9)
    )
    out, _ = getattr(_generated(name), f"{name}_forward")(x)
    assert np.array_equal(out, naive_pool(x, size, stride, reduce)) or np.allclose(
        out, naive_pool(x, size, stride, reduce), rtol=1e-14, atol=1e-14
    )


# ----- the generated code takes the fast forms -----


def test_generated_kernels_take_the_fast_forms():
    conv = generate((ROOT / "examples/conv.py").read_text(), "examples/conv.py", "conv")
    # the strided windows' gradient is added back directly, not scattered into
    # a stride-1 window array first
    assert re.search(r"grad_xp = _unwindow\(\s*grad_windows,", conv)
    assert "_scatter(grad_windows" not in conv and "optimize=True" in conv
    body = conv.split("def conv_forward")[1]
    assert not re.search(
        r"^\s*(for|while)\b", body, re.MULTILINE
    )  # loops only in _unwindow
    assert "for offset in np.ndindex(*window):" in conv  # one add per filter offset
    pool = generate(
        (ROOT / "examples/max_pool.py").read_text(), "examples/max_pool.py", "max_pool"
    )
    code = pool.split("def max_pool_forward")[1]
    assert "_pool_max(" in code and "_pool_route(" in code
    assert not re.search(
        r"^\s*[^#\s].*(\.max\(|np\.max\()", code, re.MULTILINE
    )  # slices, not np.max
    assert (
        "import numpy as np" in pool
        and "codegen" not in pool.replace("Generated by codegen", "").split('"""')[2]
    )


def test_strides_on_a_named_window_view_take_the_same_fast_form():
    src = (
        "import numpy as np\nfrom numpy.lib.stride_tricks import sliding_window_view\n\n\n"
        "def f(x, w, stride: int = 2):\n"
        "    view = sliding_window_view(x, (3, 3), axis=(2, 3))\n"
        "    win = view[:, :, ::stride, ::stride]\n"
        "    return np.einsum('nchwij,fcij->nfhw', win, w)\n"
    )
    forward, generated, code = build(src, "f", ["x", "w"])
    assert "_windows(x, (3, 3)" in code and "_scatter(" not in code
    assert (
        "sliding_window_view(" not in code.split("def f_forward")[1]
    )  # the unused view is pruned
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((2, 3, 3, 3))
    out, cache = generated.f_forward(x, w, 2)
    assert np.allclose(out, naive_conv(x, w, np.zeros(2), 2, 0))
    dout = rng.standard_normal(out.shape)
    dx, dw = generated.f_backward(dout, cache)
    ref = naive_conv_backward(dout, x, w, 2, 0)
    assert np.allclose(dx, ref[0]) and np.allclose(dw, ref[1])
    with pytest.raises(ValueError, match="don't fit"):
        generated.f_forward(x[:, :, :6], w, 2)


# ----- the lectures' output size: a stride that doesn't fit -----


def test_a_stride_that_does_not_fit_is_a_clear_verify_error():
    shapes = {"x": (1, 1, 7, 7), "w": (1, 1, 3, 3), "b": (1,)}
    with pytest.raises(VerificationError, match=r"don't fit an input of 7") as info:
        verify_file(
            ROOT / "examples/conv.py", "conv", at={"stride": 3, "pad": 0}, shapes=shapes
        )
    assert "(N - F + 2P) / S + 1 = (7 - 3) / 3 + 1 = 2.333 is not an integer" in str(
        info.value
    )


def test_codegen_verify_reports_the_misfit_without_a_traceback():
    cmd = [
        sys.executable,
        "-m",
        "codegen",
        "verify",
        "examples/conv.py:conv",
        "--shape",
        "x=1,1,7,7",
        "w=1,1,3,3",
        "b=1",
        "--at",
        "stride=3",
        "pad=0",
    ]
    done = subprocess.run(
        cmd, check=False, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stderr
    assert "don't fit" in done.stderr and "Traceback" not in done.stderr + done.stdout


def test_generated_forward_refuses_the_misfit_like_cs231n():
    mod = load_module(ROOT / "generated" / "conv_grad.py")
    x, w, b = np.zeros((1, 1, 7, 7)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    with pytest.raises(ValueError, match="stride 3 don't fit"):
        mod.conv_forward(x, w, b, stride=3, pad=0)
    out, _ = mod.conv_forward(x, w, b, stride=2, pad=0)  # (7 - 3) / 2 + 1 = 3 fits
    assert out.shape == (1, 1, 3, 3)


# ----- pooling: the tie rule -----


def test_tied_maxima_share_the_gradient_equally():
    x = np.array(
        [[[[1.0, 1.0, 0.0, 5.0], [0.0, 1.0, 2.0, 3.0]]]]
    )  # windows: three 1s tie; one 5
    mod = _generated("max_pool")
    out, cache = mod.max_pool_forward(x)
    assert np.array_equal(out, [[[[1.0, 5.0]]]])
    dx = mod.max_pool_backward(np.array([[[[3.0, 2.0]]]]), cache)
    assert np.allclose(dx, [[[[1.0, 1.0, 0.0, 2.0], [0.0, 1.0, 0.0, 0.0]]]])


def test_tied_maxima_after_relu_and_overlapping_windows():
    x = np.zeros(
        (1, 1, 3, 5)
    )  # all tied: each 3x3 window spreads its gradient over 9 entries
    mod = _generated("max_pool_overlap")
    out, cache = mod.max_pool_overlap_forward(x)
    dx = mod.max_pool_overlap_backward(np.ones(out.shape), cache)
    shared = (
        np.array([[1, 1, 2, 1, 1]] * 3) / 9
    )  # the middle column sits in both windows
    assert np.allclose(dx[0, 0], shared)


# ----- bad input -----


def test_unsupported_pad_mode_is_a_located_error():
    src = (
        "import numpy as np\n\n\ndef f(x):\n"
        "    xp = np.pad(x, 1, mode='maximum')\n    return np.sum(xp)\n"
    )
    with pytest.raises(CodegenError) as info:
        build(src, "f", ["x"])
    text = str(info.value)
    assert "<test>:5:10: error: np.pad mode 'maximum' is not supported" in text
    assert "^~~" in text and "hint: supported: mode='constant'" in text


# ----- the kernels in generated/, used the cs231n way -----


def test_generated_kernels_import_in_cs231n_layer_style():
    conv = load_module(ROOT / "generated" / "conv_grad.py")
    pool = load_module(ROOT / "generated" / "max_pool_grad.py")
    rng = np.random.default_rng(0)
    x, w, b = (
        rng.standard_normal((2, 3, 8, 6)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    out, conv_cache = conv.conv_forward(x, w, b)  # stride 1, pad 1 by default
    pooled, pool_cache = pool.max_pool_forward(out)
    assert pooled.shape == (2, 4, 4, 3)
    dout = rng.standard_normal(pooled.shape)
    dx, dw, db = conv.conv_backward(
        pool.max_pool_backward(dout, pool_cache), conv_cache
    )
    assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
    ref = naive_conv_backward(pool.max_pool_backward(dout, pool_cache), x, w, 1, 1)
    for got, want in zip((dx, dw, db), ref, strict=True):
        assert np.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_cnn_loss_kernel_trains_its_parameters():
    mod = load_module(ROOT / "generated" / "cnn_loss_grad.py")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 1, 6, 6)), rng.integers(0, 3, 8)
    W1, b1 = rng.standard_normal((4, 1, 3, 3)) * 0.3, np.zeros(4)
    W2, b2 = rng.standard_normal((36, 3)) * 0.1, np.zeros(3)
    first, _ = mod.cnn_loss_value_and_grad(X, y, W1, b1, W2, b2, 1e-3)
    for _ in range(100):
        loss, (dW1, db1, dW2, db2) = mod.cnn_loss_value_and_grad(
            X, y, W1, b1, W2, b2, 1e-3
        )
        W1, b1, W2, b2 = W1 - 0.1 * dW1, b1 - 0.1 * db1, W2 - 0.1 * dW2, b2 - 0.1 * db2
    assert loss < 0.5 * first
