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

import ast
import importlib.util
import math
import sys
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codegen.core import ir
from codegen.core.shapes import annotation_dims
from codegen.errors import CodegenError

#: Absolute and relative tolerance of one gradient entry.
ATOL = 1e-6
RTOL = 1e-5
#: Largest number of entries of one array checked one by one (others sampled).
MAX_ENTRIES = 200


class VerificationError(AssertionError):
    """The analytic gradient disagrees with the numeric one."""


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

    @property
    def ok(self) -> bool:
        return self.linear and all(p.ok for p in self.params)

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
        else:
            moved[i] = v
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
    stays meaningful for entries that are zero up to rounding."""
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
    grads = f_backward(*seeds, cache)
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
        analytic = np.broadcast_to(np.asarray(grad, dtype=float), shape)
        rows = []
        for idx in _entries(shape, rng):
            a = float(analytic[idx]) if idx else float(analytic)
            n = _numeric(phi, args, i, idx)
            good = abs(a - n) <= ATOL + RTOL * abs(n) and math.isfinite(a)
            rows.append((good, rel_error(a, n), idx, a, n))
        bad = [r for r in rows if not r[0]]
        worst = max(bad or rows, key=lambda r: r[1])
        ok = not bad
        error = scaled_error([(r[3], r[4]) for r in rows])
        report.params.append(
            ParamReport(name, error, ok, (worst[2], worst[3], worst[4]))
        )
    return report


def random_point(
    params: Sequence[str],
    forward: Callable[..., Any],
    rng: np.random.Generator,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    fixed: Mapping[str, Any] | None = None,
    integers: Mapping[str, tuple[tuple[int, ...] | None, int]] | None = None,
) -> dict[str, Any]:
    """A point where `forward` is finite: values in (-2, 2), or (0.5, 2) when
    the forward needs positive inputs (log, sqrt); `fixed` values are kept.

    `shapes` gives array shapes (scalars otherwise); `integers` maps integer
    parameters to (shape or None, bound): values drawn from [0, bound).
    """
    shapes = shapes or {}
    fixed = fixed or {}
    integers = integers or {}
    for low, high in ((-2.0, 2.0), (0.5, 2.0)):
        for _ in range(10):
            point = {}
            for p in params:
                if p in fixed:
                    point[p] = fixed[p]
                elif p in integers:
                    shape, bound = integers[p]
                    point[p] = (
                        rng.integers(0, bound, size=shape)
                        if shape
                        else int(rng.integers(0, bound))
                    )
                else:
                    point[p] = _draw(rng, low, high, shapes.get(p))
            try:
                with np.errstate(all="raise"):
                    value = forward(*(point[p] for p in params))
                outs = value if isinstance(value, (tuple, list)) else (value,)
                if all(np.all(np.isfinite(v)) for v in outs):
                    return point
            except (ZeroDivisionError, FloatingPointError, OverflowError):
                continue
            except ValueError as exc:
                if "math domain" in str(exc):
                    continue
                raise VerificationError(
                    f"the forward fails at a random point: {exc}"
                ) from None
            except Exception as exc:  # noqa: BLE001 - the user's code raised
                raise VerificationError(
                    "the forward fails at a random point: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
    raise VerificationError(
        "could not find a point where the forward is finite; pass --at"
    )


def _draw(
    rng: np.random.Generator, low: float, high: float, shape: tuple[int, ...] | None
) -> Any:
    if shape is None:
        return float(rng.uniform(low, high))
    return rng.uniform(low, high, size=shape)


#: Operand positions that must be integers, by op: pad widths, slice bounds
#: and steps, indices, window and array shapes, sizes, ranges.
_INT_OPERANDS: dict[str, int] = {
    "pad": 1,
    "slice": 0,
    "getitem": 1,
    "gather": 1,
    "setitem": 2,
    "strided_windows": 1,
    "sliding_window_view": 1,
    "reshape": 1,
    "arange": 0,
    "zeros": 0,
    "ones": 0,
    "expand_dims": 1,
    "squeeze": 1,
    "transpose": 1,
    "broadcast_to": 1,
    "floordiv": 0,
}
#: Keyword operands that are integers.
_INT_KEYWORDS = frozenset({"axis", "axes", "shape", "ddof"})
#: Ops whose operands are integers when their result is (sizes arithmetic).
_INT_THROUGH = frozenset({"add", "sub", "mul", "neg", "tuple", "floordiv"})


def integer_names(fn: ir.Function) -> set[str]:
    """Parameters that hold integers: annotated ``int``/``Int[...]``, with an
    integer literal default (``stride=1``, ``n=1 + 1``), or used where only an
    integer fits (pad widths, strides and slice bounds, indices and label
    arrays, shapes, ``np.arange``, ``//``), directly or through size
    arithmetic (``2 * pad``)."""
    ints = {p.name for p in fn.params if p.integer}
    ints |= {p.name for p in fn.params if int_default(p.default) is not None}
    used: set[str] = set()
    for step in fn.body:
        start = _INT_OPERANDS.get(step.op)
        if start is not None:
            used |= {a.name for a in step.args[start:] if isinstance(a, ir.Var)}
        used |= {
            v.name
            for k, v in step.kwargs
            if k in _INT_KEYWORDS and isinstance(v, ir.Var)
        }
    for step in reversed(fn.body):  # straight-line: one backward sweep suffices
        if step.op in _INT_THROUGH and step.target in used:
            used |= {a.name for a in step.args if isinstance(a, ir.Var)}
    return ints | (used & {p.name for p in fn.params})


def int_default(text: str | None) -> int | None:
    """The value of an integer default written as a literal or arithmetic on
    integer literals (``1``, ``-2``, ``1 + 1``), else None."""
    import ast

    if text is None:
        return None
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None

    def value(n: ast.expr) -> int | None:
        if isinstance(n, ast.Constant):
            v = n.value
            return v if isinstance(v, int) and not isinstance(v, bool) else None
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub | ast.UAdd):
            v = value(n.operand)
            return None if v is None else -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.BinOp) and isinstance(
            n.op, ast.Add | ast.Sub | ast.Mult | ast.FloorDiv | ast.Mod
        ):
            a, b = value(n.left), value(n.right)
            if a is None or b is None:
                return None
            if isinstance(n.op, ast.Add | ast.Sub | ast.Mult):
                return (
                    a + b
                    if isinstance(n.op, ast.Add)
                    else a - b if isinstance(n.op, ast.Sub) else a * b
                )
            if b == 0:
                return None
            return a // b if isinstance(n.op, ast.FloorDiv) else a % b
        return None

    return value(node)


def integer_defaults(
    fn: ir.Function, skip: Mapping[str, Any], integers: Mapping[str, Any]
) -> dict[str, int]:
    """The integer scalars whose default is used rather than drawn."""
    out = {}
    for p in fn.params:
        if p.name in skip or integers.get(p.name, (None,))[0] is not None:
            continue
        value = int_default(p.default)
        if value is not None and p.name in integers:
            out[p.name] = value
    return out


def annotated_shapes(
    fn: ir.Function,
    given: Mapping[str, tuple[int, ...]],
    rng: np.random.Generator,
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[tuple[int, ...] | None, int]]]:
    """Shapes of the float parameters and (shape, bound) of the integer ones.

    Sizes come from `given` (``--shape``), else from jaxtyping annotations:
    a number is used as is, a named dimension gets one random size in [2, 5]
    shared by every parameter that names it. Integer parameters are labels:
    drawn from [0, the smallest dimension size), so they index any axis; an
    integer scalar with a default keeps it.
    """
    sizes: dict[str, int] = {}
    shapes: dict[str, tuple[int, ...]] = {}
    for p in fn.params:
        dims = annotation_dims(p.annotation)
        if p.name in given:
            shapes[p.name] = tuple(given[p.name])
        elif dims:
            shapes[p.name] = tuple(
                int(d) if d.isdigit() else sizes.setdefault(d, int(rng.integers(2, 6)))
                for d in dims
            )
    all_sizes = [d for shape in shapes.values() for d in shape]
    bound = min(all_sizes, default=3)
    integers: dict[str, tuple[tuple[int, ...] | None, int]] = {}
    inferred = integer_names(fn)
    for p in fn.params:
        if p.name in inferred:
            integers[p.name] = (shapes.pop(p.name, None) or None, bound)
    return shapes, integers


def kept_defaults(
    fn: ir.Function,
    wrt: Sequence[str],
    taken: Iterable[str],
    integers: Mapping[str, tuple[tuple[int, ...] | None, int]],
) -> dict[str, Any]:
    """The default values a random point keeps (for parameters not in `taken`):
    an integer scalar's, and a hyperparameter's (a parameter with a literal
    number as default, ``eps=1e-5``, that is not differentiated): the forward
    is meant to run at them."""
    taken = set(taken)
    kept: dict[str, Any] = {}
    for p in fn.params:
        if p.default is None or p.name in taken:
            continue
        if p.integer:
            value = int_default(p.default)  # also ``2 + 0``
            if value is not None and integers.get(p.name, (None,))[0] is None:
                kept[p.name] = value
            continue
        if p.name in wrt:
            continue
        try:
            value = ast.literal_eval(p.default)
        except (ValueError, SyntaxError):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            kept[p.name] = value  # as written: an int default stays an int
    return kept


def shape_hint(fn: ir.Function, known: Iterable[str]) -> str | None:
    """For a NumPy forward, the parameters drawn as scalars because no shape
    is known for them (None when there are none), and how to give shapes."""
    if not fn.array:
        return None
    have = set(known)
    scalars = [
        p
        for p in fn.params
        if not p.integer and p.default is None and p.name not in have
    ]
    if not scalars:
        return None
    first = scalars[0].name
    names = ", ".join(p.name for p in scalars)
    return (
        f"no shape is known for {names}, so they were drawn as scalars: "
        f"pass shapes (--shape {first}=4,3) or annotate the parameters "
        f'({first}: Float[np.ndarray, "N D"])'
    )


def check_names(fn: ir.Function, names: Iterable[str], what: str) -> None:
    """A clean error when `names` (given with option `what`) holds a name
    that is not a parameter of `fn`.

    Raises:
        CodegenError: naming the first such name and the parameters.
    """
    params = [p.name for p in fn.params]
    for name in names:
        if name not in params:
            raise CodegenError(
                f"{what} names '{name}', which is not a parameter of '{fn.name}'",
                None,
                "parameters: " + ", ".join(params),
                fn.filename,
            )


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
    forward = getattr(user, fn.name)
    try:
        point = random_point(params, forward, rng, float_shapes, fixed, integers)
    except VerificationError as exc:
        hint = shape_hint(fn, [*float_shapes, *fixed])
        raise VerificationError(f"{exc}\nhint: {hint}" if hint else str(exc)) from None
    pair = (
        getattr(generated, f"{fn.name}_forward"),
        getattr(generated, f"{fn.name}_backward"),
    )
    return check_gradients(forward, pair, params, point, chosen, fn.name, seed)
