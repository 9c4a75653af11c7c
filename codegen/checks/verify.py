"""Verify pass: check generated gradients against central differences.

Contract: `check_gradients` takes the user's forward function (imported and
run, which verification must do) and the generated ``<f>_backward`` pair, a
point, and an upstream gradient, and compares every analytic gradient entry
with a central difference of ``phi(params) = sum(f(params) * seed)``. It
never trusts the generator: the reference is computed from the user's
forward alone.

Tolerance: an entry passes when ``|a - n| <= ATOL + RTOL * |n|``. The report
gives, per parameter, the relative error ``max |a - n| / max(1e-8, max |a| +
max |n|)`` (cs231n's rel_error taken over the whole gradient, so entries that
are zero up to rounding do not dominate it). The numeric derivative is the
fourth-order central difference with ``h = 1e-5 * max(1, |x|)``. It also checks linearity in the seed: the
backward of ``2 * seed`` must be twice the backward of ``seed``.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codegen.checks.points import (
    VerificationError,
    annotated_shapes,
    check_names,
    check_settings,
    integer_defaults,
    integer_names,
    kept_defaults,
    no_point,
    random_point,
    refuse_integer_wrt,
)
from codegen.core import ir
from codegen.errors import CodegenError

#: Absolute and relative tolerance of one gradient entry.
ATOL = 1e-6
RTOL = 1e-5
#: Largest number of entries of one array checked one by one (others sampled).
MAX_ENTRIES = 200


@dataclass
class ParamReport:
    """How one parameter's gradient compared."""

    name: str
    rel_error: float
    ok: bool
    #: The worst entry: (index, analytic, numeric).
    worst: tuple[Any, float, float] = ((), 0.0, 0.0)


@dataclass
class Report:
    """The outcome of one gradient check."""

    func: str
    point: dict[str, Any]
    params: list[ParamReport] = field(default_factory=list)
    linear: bool = True
    #: ``<f>_value_and_grad`` (and the float twin it may run) agrees with
    #: the checked forward and backward seeded with ones.
    flat: bool = True

    @property
    def ok(self) -> bool:
        return self.linear and self.flat and all(p.ok for p in self.params)

    def summary(self) -> str:
        lines = [f"{self.func}: {'ok' if self.ok else 'FAILED'}"]
        for p in self.params:
            status = "ok" if p.ok else "MISMATCH"
            lines.append(f"  {p.name:<12} rel_error {p.rel_error:.2e}  {status}")
            if not p.ok:
                idx, a, n = p.worst
                where = f"[{', '.join(map(str, idx))}]" if idx else ""
                lines.append(f"    at {p.name}{where}: analytic: {a!r}  numeric: {n!r}")
        if not self.linear:
            lines.append("  backward is not linear in the upstream gradient")
        if not self.flat:
            lines.append("  value_and_grad disagrees with forward and backward")
        return "\n".join(lines)


def load_module(path: str | Path, name: str | None = None) -> types.ModuleType:
    """Import a Python file by path under a private module name."""
    path = Path(path)
    modname = name or f"_codegen_user_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def module_from_source(source: str, name: str) -> types.ModuleType:
    """Execute generated `source` as a fresh module."""
    module = types.ModuleType(name)
    exec(compile(source, f"<generated {name}>", "exec"), module.__dict__)
    return module


def _entries(shape: tuple[int, ...], rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Indices to check: all of them, or a random sample for big arrays."""
    size = int(np.prod(shape)) if shape else 1
    if size <= MAX_ENTRIES:
        return [tuple(int(i) for i in idx) for idx in np.ndindex(*shape)]
    flat = rng.choice(size, MAX_ENTRIES, replace=False)
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in sorted(flat)]


def _phi(forward: Callable[..., Any], seeds: Sequence[Any]) -> Callable[..., float]:
    """The scalar sum over outputs of sum(output * seed): its gradient is what
    the backward computes from those seeds."""

    def phi(*args: Any) -> float:
        out = forward(*args)
        outs = out if len(seeds) > 1 else (out,)
        return float(
            sum(
                np.sum(np.asarray(o, dtype=float) * s)
                for o, s in zip(outs, seeds, strict=True)
            )
        )

    return phi


def _upstream(out: Any, rng: np.random.Generator) -> Any:
    return 1.0 if np.ndim(out) == 0 else rng.standard_normal(np.shape(out))


def _numeric(
    phi: Callable[..., float], args: list[Any], i: int, idx: tuple[int, ...]
) -> float:
    """Fourth-order central difference of `phi` along entry `idx` of argument
    `i`: (-f(x+2h) + 8 f(x+h) - 8 f(x-h) + f(x-2h)) / 12h, h = 1e-5 max(1, |x|)."""
    x = args[i]
    value = float(x[idx]) if idx else float(x)
    h = 1e-5 * max(1.0, abs(value))

    def at(v: float) -> float:
        moved = list(args)
        if idx:
            arr = np.array(x, dtype=float, copy=True)
            arr[idx] = v
            moved[i] = arr
        else:  # a 0-d array stays one (x[None] works on it, not on a float)
            moved[i] = np.array(v, dtype=float) if isinstance(x, np.ndarray) else v
        return phi(*moved)

    return (
        -at(value + 2 * h) + 8 * at(value + h) - 8 * at(value - h) + at(value - 2 * h)
    ) / (12 * h)


def rel_error(a: float, n: float) -> float:
    """cs231n's relative error of one entry."""
    return abs(a - n) / max(1e-8, abs(a) + abs(n))


def scaled_error(rows: Sequence[tuple[float, float]]) -> float:
    """The largest entry error relative to the gradient's scale:
    max |a - n| / max(1e-8, max |a| + max |n|). Unlike the per-entry error it
    stays meaningful for entries that are zero up to rounding (0 for no
    entry: an empty array)."""
    if not rows:
        return 0.0
    diff = max(abs(a - n) for a, n in rows)
    scale = max(abs(a) for a, _ in rows) + max(abs(n) for _, n in rows)
    return diff / max(1e-8, scale)


def check_gradients(
    forward: Callable[..., Any],
    backward_pair: tuple[Callable[..., Any], Callable[..., Any]],
    params: Sequence[str],
    point: Mapping[str, Any],
    wrt: Sequence[str],
    func: str = "f",
    seed: int = 0,
) -> Report:
    """Compare the generated gradients of `forward` at `point` with central
    differences; returns a `Report` (`report.ok` says whether all passed)."""
    rng = np.random.default_rng(seed)
    args = [point[p] for p in params]
    f_forward, f_backward = backward_pair
    try:
        out, cache = f_forward(*args)
    except ValueError as exc:  # e.g. conv windows that don't fit the input
        raise VerificationError(
            f"{func}: the generated forward refuses the point: {exc}"
        ) from None
    several = isinstance(out, tuple)
    seeds = [_upstream(o, rng) for o in out] if several else [_upstream(out, rng)]
    try:
        grads = f_backward(*seeds, cache)
    except (ArithmeticError, ValueError) as exc:  # math on Python floats
        raise VerificationError(
            f"{func}: the generated backward raises {type(exc).__name__} at "
            f"this point ({exc}): a derivative is infinite or undefined "
            "there; check another point with --at"
        ) from None
    grads = (grads,) if len(wrt) == 1 else tuple(grads)
    _, cache2 = f_forward(*args)
    grads2 = f_backward(*(2 * s for s in seeds), cache2)
    grads2 = (grads2,) if len(wrt) == 1 else tuple(grads2)
    report = Report(func, dict(point))
    report.linear = all(
        np.allclose(
            2 * np.asarray(g1, dtype=float),
            np.asarray(g2, dtype=float),
            rtol=1e-12,
            atol=1e-12,
        )
        for g1, g2 in zip(grads, grads2, strict=True)
    )
    phi = _phi(forward, seeds)
    for name, grad in zip(wrt, grads, strict=True):
        i = list(params).index(name)
        shape = np.shape(args[i])
        if np.shape(grad) != shape:  # a gradient is shaped like its parameter
            nan = float("nan")
            report.params.append(ParamReport(name, math.inf, False, ((), nan, nan)))
            continue
        analytic = np.asarray(grad, dtype=float)
        rows = []
        for idx in _entries(shape, rng):
            a = float(analytic[idx]) if idx else float(analytic)
            n = _numeric(phi, args, i, idx)
            good = abs(a - n) <= ATOL + RTOL * abs(n) and math.isfinite(a)
            rows.append((good, rel_error(a, n), idx, a, n))
        bad = [r for r in rows if not r[0]]
        worst = max(bad or rows or [(True, 0.0, (), 0.0, 0.0)], key=lambda r: r[1])
        ok = not bad
        error = scaled_error([(r[3], r[4]) for r in rows])
        report.params.append(
            ParamReport(name, error, ok, (worst[2], worst[3], worst[4]))
        )
    return report


def verify_file(
    path: str | Path,
    func: str | None = None,
    wrt: Sequence[str] | None = None,
    at: Mapping[str, Any] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    seed: int = 0,
) -> Report:
    """Generate the backward of `func` in `path` and check it numerically.

    Values in `at` are used as given; other parameters are drawn at random
    (see `random_point`), arrays with the shapes in `shapes`.
    """
    from codegen.core.params import resolve_wrt
    from codegen.files import read_source
    from codegen.front.parse import parse
    from codegen.pipeline import generate  # the verifier sits downstream of generate

    source = read_source(str(path))
    fn = parse(source, str(path), func)
    check_names(fn, at or {}, "--at")
    check_names(fn, shapes or {}, "--shape")
    check_settings(fn, at or {})
    refuse_integer_wrt(fn, wrt)
    params = [p.name for p in fn.params]
    chosen = resolve_wrt(fn, wrt)  # hyperparameters (defaults) left out
    if not wrt:  # and integers inferred from how they are used
        ints = integer_names(fn)
        chosen = [p for p in chosen if p not in ints]
        if not chosen:
            raise VerificationError(f"{fn.name}: every parameter is an integer")
    code = generate(source, str(path), fn.name, chosen)
    rng = np.random.default_rng(seed)
    float_shapes, integers = annotated_shapes(fn, shapes or {}, rng)
    fixed = dict(at or {})
    fixed.update(kept_defaults(fn, chosen, {*fixed, *float_shapes}, integers))
    fixed.update(integer_defaults(fn, {**fixed, **float_shapes}, integers))
    generated = module_from_source(code, f"{fn.name}_grad")
    try:
        user = load_module(path)
    except Exception as exc:  # noqa: BLE001 - the user's file raised on import
        raise CodegenError(
            f"importing the forward failed: {type(exc).__name__}: {exc}",
            None,
            "verify imports the source file; make it importable",
            str(path),
        ) from None
    forward = positionally(getattr(user, fn.name), fn.params)
    try:
        point = random_point(params, forward, rng, float_shapes, fixed, integers)
    except VerificationError as exc:  # no point to check at: bad input (exit 2)
        raise no_point(fn, exc, [*float_shapes, *fixed], str(path)) from None
    pair = (
        positionally(getattr(generated, f"{fn.name}_forward"), fn.params),
        getattr(generated, f"{fn.name}_backward"),
    )
    report = check_gradients(forward, pair, params, point, chosen, fn.name, seed)
    vag = positionally(getattr(generated, f"{fn.name}_value_and_grad"), fn.params)
    report.flat = flat_agrees(vag, pair, [point[p] for p in params], len(chosen))
    return report


def positionally(
    f: Callable[..., Any], params: Sequence[ir.Param]
) -> Callable[..., Any]:
    """`f` called with one argument per parameter in order: those declared
    after ``*`` are passed by name."""
    count = sum(not p.keyword_only for p in params)
    names = [p.name for p in params[count:]]
    if not names:
        return f

    def call(*args: Any) -> Any:
        return f(*args[:count], **dict(zip(names, args[count:], strict=True)))

    return call


def flat_agrees(
    vag: Callable[..., Any],
    pair: tuple[Callable[..., Any], Callable[..., Any]],
    args: Sequence[Any],
    count: int,
) -> bool:
    """True when `vag` returns what the forward, then the backward seeded with
    ones, return (on Python floats `vag` may run its `math` twin)."""
    out, cache = pair[0](*args)
    several = isinstance(out, tuple)
    seeds = [np.ones_like(o) for o in out] if several else [np.ones_like(out)]
    grads = pair[1](*seeds, cache)
    out2, grads2 = vag(*args)
    pairs = [(out, out2)] if not several else list(zip(out, out2, strict=True))
    if count == 1:
        pairs.append((grads, grads2))
    else:
        pairs += list(zip(grads, grads2, strict=True))
    return all(
        np.allclose(
            np.asarray(a, dtype=float),
            np.asarray(b, dtype=float),
            rtol=1e-9,
            atol=1e-12,
        )
        for a, b in pairs
    )
