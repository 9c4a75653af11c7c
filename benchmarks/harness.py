"""Timing harness of the gradient benchmarks.

Contract: a workload builds a list of `System`s, each a callable and the
arguments it is timed on, plus the reference (hand-written NumPy) result. The
harness

1. runs every system once and checks its loss and gradients against the
   reference with ``np.allclose`` (a system that disagrees is reported as a
   mismatch and never timed);
2. warms every system up, picks a batch size per system so that one batch
   takes about ``target`` seconds, then times ``rounds`` rounds, each round
   running every system once in a shuffled order (systems interleaved, so a
   slow spell of the shared machine hits them all alike);
3. reports per system the median time per call, the interquartile range and
   the median over rounds of its time divided by the reference system's time
   *in the same round* (paired, so drift cancels).

Nothing here imports jax, torch or autograd: workloads import what they time.
Thread counts are fixed by `pin_threads` before NumPy is imported (run.py does
this in every workload process).
"""

from __future__ import annotations

import gc
import os
import platform
import random
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Environment variables that fix the thread count of each numeric library.
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
)
#: Variables that pick a slower OpenBLAS kernel on some processors; the
#: benchmark command unsets both together (never the tests).
OPENBLAS_KERNEL_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def pin_threads(n: int, env: dict[str, str] | None = None) -> dict[str, str]:
    """Set every library's thread count to `n` in `env` (default: os.environ).

    Must run before NumPy, torch or jax are imported to take effect; torch's
    count is also set at run time by the torch systems (`torch.set_num_threads`).
    """
    env = os.environ if env is None else env
    for var in THREAD_VARS:
        env[var] = str(n)
    flags = env.get("XLA_FLAGS", "")
    if n == 1 and "xla_cpu_multi_thread_eigen" not in flags:
        flags = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    if "intra_op_parallelism_threads" not in flags:
        flags = (flags + f" intra_op_parallelism_threads={n}").strip()
    env["XLA_FLAGS"] = flags
    return dict(env)


class GradientMismatch(AssertionError):
    """A system's loss or gradients differ from the reference."""


@dataclass
class System:
    """One way of computing the loss and its gradients (or the forward alone)."""

    #: Row label in the tables.
    name: str
    #: The timed callable; `fn(*args)` is one call.
    fn: Callable[..., Any]
    #: Arguments, prepared outside the timed region (device arrays, tensors).
    args: tuple[Any, ...]
    #: "grad" (loss and gradients), "forward" or "backward" (timed, not checked
    #: against the reference's gradients).
    kind: str = "grad"
    #: Turns one call's result into (loss, [grads as float NumPy arrays]).
    to_numpy: Callable[[Any], tuple[float, list[np.ndarray]]] | None = None
    #: Shown beside the row (what source was differentiated, fallbacks).
    note: str = ""


@dataclass
class Result:
    """The outcome for one system."""

    name: str
    kind: str
    status: str  # "ok", "mismatch", "error", "not generated yet", "unavailable"
    note: str = ""
    #: Seconds per call, one entry per round.
    times: list[float] = field(default_factory=list)
    #: Calls per timed batch.
    batch: int = 0
    #: Largest |candidate - reference| / max|reference| over loss and gradients.
    deviation: float | None = None
    #: Per round: this system's time / the reference system's time.
    ratios: list[float] = field(default_factory=list)
    #: Peak bytes Python and NumPy allocate during one call (tracemalloc; a
    #: library's own allocator, JAX's or torch's, is not seen).
    peak_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def unavailable(name: str, why: str, kind: str = "grad", status: str = "unavailable") -> Result:
    """A row for a system that could not be built (library missing, not generated)."""
    return Result(name, kind, status, why)


def as_float_arrays(value: Any, grads: Sequence[Any]) -> tuple[Any, list[np.ndarray]]:
    """Normalise a (value, grads) pair: a scalar loss becomes a float, an
    array output an array, several outputs a list of arrays, None (value not
    compared) stays None; every gradient a NumPy array keeping its dtype, so a
    gradient computed in the wrong precision shows."""
    if value is None:
        out: Any = None
    elif isinstance(value, (tuple, list)):
        out = [np.asarray(v) for v in value]
    elif np.ndim(value) == 0:
        out = float(np.asarray(value))
    else:
        out = np.asarray(value)
    return out, [np.asarray(g) for g in grads]


def _values(value: Any) -> list[tuple[str, Any]]:
    if value is None:
        return []
    if isinstance(value, list):
        return [(f"output {k}", v) for k, v in enumerate(value)]
    return [("loss" if np.ndim(value) == 0 else "output", value)]


def dtype_problems(
    reference: tuple[float, list[np.ndarray]],
    candidate: tuple[float, list[np.ndarray]],
    names: Sequence[str],
) -> list[str]:
    """Gradients whose dtype differs from the reference's ("W1 float64")."""
    return [
        f"{name} {c.dtype}"
        for name, r, c in zip(names, reference[1], candidate[1], strict=False)
        if np.asarray(c).dtype != np.asarray(r).dtype
    ]


def compare(
    reference: tuple[float, list[np.ndarray]],
    candidate: tuple[float, list[np.ndarray]],
    names: Sequence[str],
    rtol: float,
    atol_rel: float,
) -> tuple[list[str], float]:
    """Differences between two (loss, grads) results.

    Each array passes when ``np.allclose(c, r, rtol=rtol, atol=atol_rel * max|r|)``,
    i.e. the absolute tolerance is relative to the array's own scale. Returns
    (problems, deviation): one message per failing entry and the largest
    ``max|c - r| / max|r|`` seen.
    """
    problems: list[str] = []
    worst = 0.0
    ref_loss, ref_grads = reference
    loss, grads = candidate
    pairs: list[tuple[str, Any, Any]] = []
    if loss is not None:  # None: the system returns no comparable value (a VJP's scalar)
        expected, got = _values(ref_loss), _values(loss)
        if len(expected) != len(got):
            return [f"{len(got)} outputs, expected {len(expected)}"], float("inf")
        pairs += [(n, r, c) for (n, r), (_, c) in zip(expected, got, strict=True)]
    if len(grads) != len(ref_grads):
        return [f"{len(grads)} gradients, expected {len(ref_grads)}"], float("inf")
    pairs += list(zip(names, ref_grads, grads, strict=True))
    for name, r, c in pairs:
        r, c = np.asarray(r, dtype=np.float64), np.asarray(c, dtype=np.float64)
        if np.shape(r) != np.shape(c):
            problems.append(f"{name}: shape {np.shape(c)}, expected {np.shape(r)}")
            worst = float("inf")
            continue
        scale = float(np.max(np.abs(r))) if np.size(r) else 0.0
        dev = float(np.max(np.abs(c - r))) / max(scale, 1e-300) if np.size(r) else 0.0
        worst = max(worst, dev if np.all(np.isfinite(c)) else float("inf"))
        if not np.allclose(c, r, rtol=rtol, atol=atol_rel * scale):
            problems.append(f"{name}: max |diff| / max |ref| = {dev:.2e}")
    return problems, worst


def check_systems(
    systems: Sequence[System],
    reference: tuple[float, list[np.ndarray]],
    names: Sequence[str],
    rtol: float,
    atol_rel: float,
) -> dict[str, Result]:
    """Run each gradient system once and compare it with `reference`.

    Returns a `Result` per system: status "ok", "mismatch" (with the failing
    entries in `note`) or "error" (the call raised).
    """
    out: dict[str, Result] = {}
    for s in systems:
        res = Result(s.name, s.kind, "ok", s.note)
        try:
            value = s.fn(*s.args)
            if s.kind == "grad":
                assert s.to_numpy is not None, f"{s.name}: no to_numpy"
                got = s.to_numpy(value)
                problems, res.deviation = compare(reference, got, names, rtol, atol_rel)
                if problems:
                    res.status = "mismatch"
                    res.note = "; ".join(problems)
                wrong_dtype = dtype_problems(reference, got, names)
                if wrong_dtype:
                    expected = np.asarray(reference[1][0]).dtype
                    res.note = (res.note + "; " if res.note else "") + (
                        f"gradients not in {expected}: {', '.join(wrong_dtype)}"
                    )
            res.peak_bytes = peak_bytes(s.fn, s.args)
        except Exception as exc:  # noqa: BLE001 (a system that cannot run is reported)
            res.status = "error"
            res.note = f"{type(exc).__name__}: {_first_sentence(str(exc))}"
        out[s.name] = res
    return out


def peak_bytes(fn: Callable[..., Any], args: tuple[Any, ...]) -> int:
    """Peak bytes allocated during one call of `fn` above what was allocated
    before it (tracemalloc sees Python objects and NumPy's data buffers; the
    call's result counts, the arguments do not)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn(*args)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    del result
    return max(0, peak)


def _first_sentence(message: str, limit: int = 100) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    line = line.split(". ")[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _batch(fn: Callable[..., Any], args: tuple[Any, ...], k: int) -> float:
    """Seconds per call over `k` back-to-back calls."""
    t0 = time.perf_counter()
    for _ in range(k):
        fn(*args)
    return (time.perf_counter() - t0) / k


def _calibrate(fn: Callable[..., Any], args: tuple[Any, ...], target: float) -> int:
    """Calls per batch so that one batch lasts about `target` seconds."""
    k = 1
    while True:
        t = _batch(fn, args, k)
        if t * k >= target / 4 or k >= 1 << 20:
            return max(1, min(1 << 22, round(target / max(t, 1e-9))))
        k *= 4


def measure(
    systems: Sequence[System],
    results: dict[str, Result],
    reference: str,
    rounds: int = 21,
    target: float = 0.05,
    warmup: float = 0.2,
    seed: int = 0,
) -> None:
    """Time every system whose result is "ok", in interleaved rounds.

    Fills `times`, `batch` and `ratios` of each result in place; the ratios
    are taken against the system named `reference` in the same round.
    """
    timed = [s for s in systems if results[s.name].status == "ok"]
    for s in timed:  # warm-up: caches, lazy compilation, allocator pools
        t_end = time.perf_counter() + warmup
        s.fn(*s.args)
        while time.perf_counter() < t_end:
            s.fn(*s.args)
        results[s.name].batch = _calibrate(s.fn, s.args, target)
    rng = random.Random(seed)
    for _ in range(rounds):
        order = list(timed)
        rng.shuffle(order)
        this_round = {}
        for s in order:
            gc.collect()
            this_round[s.name] = _batch(s.fn, s.args, results[s.name].batch)
        for name, t in this_round.items():
            results[name].times.append(t)
            if reference in this_round:
                results[name].ratios.append(t / this_round[reference])


def summary(times: Sequence[float]) -> tuple[float, float, float]:
    """(median, 25th percentile, 75th percentile)."""
    if not times:
        return float("nan"), float("nan"), float("nan")
    if len(times) == 1:
        return times[0], times[0], times[0]
    q = statistics.quantiles(times, n=4, method="inclusive")
    return statistics.median(times), q[0], q[2]


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: processor, cores, versions, BLAS."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "cpu": _lscpu_field("Model name") or platform.processor(),
        "cores": os.cpu_count(),
        "threads": {v: os.environ.get(v) for v in THREAD_VARS},
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "openblas_env": {v: os.environ.get(v) for v in OPENBLAS_KERNEL_VARS},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    info["versions"] = {pkg: _version(pkg) for pkg in ("autograd", "jax", "jaxlib", "torch")}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for p in threadpool_info()
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def revision(root: str | os.PathLike[str]) -> str:
    """The git commit measured, with "+changes" when codegen's sources differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              check=False).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no", "--",
                    "codegen", "templates", "examples", "benchmarks",
                    ":(exclude)benchmarks/results")
    except OSError:
        return "unknown"
    return (head or "unknown") + (" +uncommitted changes" if dirty else "")


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _lscpu_field(name: str) -> str | None:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return None
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None
