"""Conv - ReLU - 2x2 max-pool - sum of squares: generated value-and-grad vs
hand-written im2col vs HIPS autograd, in one process.

    python -m benchmarks.bench_conv [--rounds 15] [--threads 1]

Workload (float64): x 16x3x32x32, 16 filters 3x3, stride 1, pad 1, bias,
ReLU, 2x2 max-pool, loss = sum of squares; every system returns the loss and
the gradients of x, w and b, checked against each other before timing.

* codegen: ``conv_relu_pool_value_and_grad`` generated in this process from
  examples/conv_relu_pool.py (sliding_window_view + einsum).
* hand im2col (cs231n): the cs231n fast-layer algorithm written out here:
  im2col through a strided view, one matrix product each way, col2im by one
  shifted add per filter offset, ReLU mask, reshape max-pool whose backward
  routes through ``x == max`` and divides by the tie count.
* hand im2col, tuned pool: the same, with the pool's max and tie count taken
  as elementwise maxima/sums of the four window corners.
* autograd: HIPS autograd differentiating the same forward. autograd has no
  rule for sliding_window_view, so the window view is spelled as nine stacked
  shifted slices; everything else (pad, einsum, maximum, reshape, max, sum)
  is the example's code.
* autograd, nine shifted products: the convolution as a sum of nine shifted
  channel contractions (no window array), autograd's best spelling.

Rounds are interleaved (each round times every system once, in a rotated
order); the table gives the median time per call, the median over rounds of
codegen's time divided by the system's (below 1: codegen is faster), and the
peak memory that one call allocates (tracemalloc, NumPy buffers included).
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "conv_relu_pool.py"

Grads = tuple[Any, Any, Any]
System = Callable[[Any, Any, Any], tuple[float, Grads]]


def make_args(seed: int = 0) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((16, 3, 32, 32))
    w = rng.standard_normal((16, 3, 3, 3)) * np.sqrt(2.0 / 27)
    b = rng.standard_normal(16) * 0.1
    return x, w, b


def codegen_system() -> System:
    from codegen import generate
    from codegen.checks.verify import module_from_source

    code = generate(EXAMPLE.read_text(), "examples/conv_relu_pool.py", "conv_relu_pool")
    return module_from_source(code, "conv_relu_pool_grad").conv_relu_pool_value_and_grad


# ----- hand-written im2col (cs231n's fast-layer algorithm) -----


def _conv_forward(x: Any, w: Any, b: Any) -> tuple[Any, Any]:
    N, C, H, W = x.shape
    F = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    view = sliding_window_view(xp, (3, 3), axis=(2, 3))  # (N, C, H, W, 3, 3)
    cols = view.transpose(1, 4, 5, 0, 2, 3).reshape(C * 9, N * H * W)
    out = (w.reshape(F, -1) @ cols + b[:, None]).reshape(F, N, H, W).transpose(1, 0, 2, 3)
    return out, cols


def _conv_backward(dout: Any, cols: Any, x_shape: tuple[int, ...], w: Any) -> Grads:
    N, C, H, W = x_shape
    F = w.shape[0]
    d = dout.transpose(1, 0, 2, 3).reshape(F, -1)
    db = d.sum(axis=1)
    dw = (d @ cols.T).reshape(w.shape)
    dcols = (w.reshape(F, -1).T @ d).reshape(C, 3, 3, N, H, W)
    dxp = np.zeros((N, C, H + 2, W + 2))
    for i in range(3):  # col2im: one shifted add per filter offset
        for j in range(3):
            dxp[:, :, i : i + H, j : j + W] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return dxp[:, :, 1:-1, 1:-1], dw, db


def _pool_cs231n(r: Any) -> tuple[Any, Any]:
    N, F, H, W = r.shape
    rr = r.reshape(N, F, H // 2, 2, W // 2, 2)
    return rr.max(axis=3).max(axis=4), rr


def _unpool_cs231n(dpool: Any, rr: Any, pooled: Any) -> Any:
    mask = rr == pooled[:, :, :, None, :, None]
    share = mask / np.sum(mask, axis=(3, 5), keepdims=True)
    return share * dpool[:, :, :, None, :, None]


def _pool_tuned(r: Any) -> tuple[Any, Any]:
    N, F, H, W = r.shape
    rr = r.reshape(N, F, H // 2, 2, W // 2, 2)
    c = [rr[:, :, :, i, :, j] for i in (0, 1) for j in (0, 1)]
    return np.maximum(np.maximum(c[0], c[1]), np.maximum(c[2], c[3])), rr


def _unpool_tuned(dpool: Any, rr: Any, pooled: Any) -> Any:
    mask = rr == pooled[:, :, :, None, :, None]
    m = mask.view(np.uint8)
    count = m[:, :, :, 0, :, 0] + m[:, :, :, 0, :, 1] + m[:, :, :, 1, :, 0] + m[:, :, :, 1, :, 1]
    return mask * (dpool / count)[:, :, :, None, :, None]


def hand_system(pool: Callable[..., Any], unpool: Callable[..., Any]) -> System:
    def value_and_grad(x: Any, w: Any, b: Any) -> tuple[float, Grads]:
        out, cols = _conv_forward(x, w, b)
        relu = np.maximum(out, 0)
        pooled, rr = pool(relu)
        loss = float(np.sum(pooled * pooled))
        drelu = unpool(2 * pooled, rr, pooled).reshape(out.shape)
        return loss, _conv_backward(drelu * (out > 0), cols, x.shape, w)

    return value_and_grad


# ----- HIPS autograd on the same forward -----


def autograd_system() -> System:
    import autograd
    import autograd.numpy as anp

    def forward(x: Any, w: Any, b: Any) -> Any:
        N, _, H, W = x.shape
        F = w.shape[0]
        xp = anp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), "constant")  # autograd needs the mode
        rows = [anp.stack([xp[:, :, i : i + H, j : j + W] for j in range(3)], axis=-1)
                for i in range(3)]
        windows = anp.stack(rows, axis=-2)  # sliding_window_view(xp, (3, 3), axis=(2, 3))
        conv = anp.einsum("nchwij,fcij->nfhw", windows, w, optimize=True) + b[None, :, None, None]
        relu = anp.maximum(conv, 0)
        pooled = relu.reshape(N, F, H // 2, 2, W // 2, 2).max(axis=(3, 5))
        return anp.sum(pooled * pooled)

    vg = autograd.value_and_grad(forward, argnum=(0, 1, 2))
    return lambda x, w, b: vg(x, w, b)  # type: ignore[no-any-return]


def autograd_shifts_system() -> System:
    """autograd on the convolution spelled as nine shifted tensor products
    (no 9x window array), the spelling autograd handles best."""
    import autograd
    import autograd.numpy as anp

    def forward(x: Any, w: Any, b: Any) -> Any:
        N, _, H, W = x.shape
        F = w.shape[0]
        xp = anp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), "constant")
        conv = b[None, :, None, None]
        for i in range(3):
            for j in range(3):
                patch = xp[:, :, i : i + H, j : j + W]
                conv = conv + anp.einsum("nchw,fc->nfhw", patch, w[:, :, i, j], optimize=True)
        relu = anp.maximum(conv, 0)
        pooled = relu.reshape(N, F, H // 2, 2, W // 2, 2).max(axis=(3, 5))
        return anp.sum(pooled * pooled)

    vg = autograd.value_and_grad(forward, argnum=(0, 1, 2))
    return lambda x, w, b: vg(x, w, b)  # type: ignore[no-any-return]


# ----- timing -----


def check_agree(systems: dict[str, System], args: tuple[Any, ...]) -> None:
    ref_loss, ref = systems["codegen"](*args)
    for name, f in systems.items():
        loss, grads = f(*args)
        assert np.isclose(loss, ref_loss, rtol=1e-12), (name, loss, ref_loss)
        for g, r in zip(grads, ref, strict=True):
            assert np.allclose(g, r, rtol=1e-9, atol=1e-9), name


def peak_bytes(f: System, args: tuple[Any, ...]) -> int:
    f(*args)
    tracemalloc.start()
    tracemalloc.reset_peak()
    f(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run(systems: dict[str, System], args: tuple[Any, ...], rounds: int, calls: int) -> dict[str, list[float]]:
    names = list(systems)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            f = systems[name]
            start = time.perf_counter()
            for _ in range(calls):
                f(*args)
            times[name].append((time.perf_counter() - start) / calls)
    return times


def report(times: dict[str, list[float]], peaks: dict[str, int]) -> str:
    base = times["codegen"]
    lines = [
        "| system | median per call | codegen time / its time (median over rounds) | peak memory |",
        "|---|---|---|---|",
    ]
    for name, ts in times.items():
        ratio = statistics.median(c / t for t, c in zip(ts, base, strict=True))
        lines.append(
            f"| {name} | {statistics.median(ts) * 1e3:.1f} ms | {ratio:.2f} "
            f"| {peaks[name] / 2**20:.1f} MiB |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=3, help="calls per system per round")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (0: leave as is)")
    opts = parser.parse_args(argv)
    limiter: Any = None
    if opts.threads:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(opts.threads)
    args = make_args()
    systems: dict[str, System] = {
        "codegen": codegen_system(),
        "hand im2col (cs231n)": hand_system(_pool_cs231n, _unpool_cs231n),
        "hand im2col, tuned pool": hand_system(_pool_tuned, _unpool_tuned),
        "autograd": autograd_system(),
        "autograd, nine shifted products": autograd_shifts_system(),
    }
    check_agree(systems, args)
    peaks = {name: peak_bytes(f, args) for name, f in systems.items()}
    times = run(systems, args, opts.rounds, opts.calls)
    blas = f"{opts.threads} BLAS thread(s)" if opts.threads else "default BLAS threads"
    print(f"conv 3x3 pad 1 - relu - 2x2 max-pool - sum of squares, x 16x3x32x32, "
          f"16 filters, float64; {opts.rounds} interleaved rounds of {opts.calls} calls, {blas}")
    print(report(times, peaks))
    if limiter is not None:
        limiter.unregister()


if __name__ == "__main__":
    main()
