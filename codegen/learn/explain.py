"""Explain pass: every value of the forward and every gradient of the backward.

Contract:

* input: the forward's source text (parsed statically: the user's file is
  never imported or run), the function, a point, and the parameters to
  differentiate; parameters missing from the point are drawn as `codegen
  verify` draws them (`codegen.checks.points.random_point`), but the forward that
  decides where it is finite is made of the generated lines;
* what runs: only the lines codegen generates, one at a time in one
  namespace (``math``, ``numpy as np``, the runtime helpers such as
  ``_unbroadcast`` and the module's numeric constants): the forward
  lines of `codegen.back.render.forward_line`, then the contribution expressions
  of `codegen.core.reverse`, in the order of the generated backward;
* output: an `Explanation` with one `ForwardRow` per forward step (line, code,
  value), one `BackwardRow` per contribution (upstream gradient, local
  gradient, downstream = local x upstream, and the running sum where a value
  branches) and the gradient of each parameter;
* the local gradient is the contribution evaluated with a unit upstream (1.0,
  or ones of the upstream's shape); rules are linear in the upstream, so for
  scalars and elementwise ops downstream = local * upstream; for other array
  ops (sums, products of matrices, broadcasts) it is None.

Presentation (codegen/explain_view.py): `render_text` (a table per pass, values in green and gradients
in red when colour is on), `to_dict` (JSON for tools; arrays as shape and
summary) and `render_html` (Jupyter). Arrays are shown by shape, norm, min
and max, never in full.
"""

from __future__ import annotations

import inspect
import linecache
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codegen.core import ir
from codegen.errors import CodegenError
from codegen.learn.explain_view import (  # noqa: F401 - part of this module's API
    format_value,
    json_value,
    render_html,
    render_text,
    to_dict,
    use_color,
)
from codegen.learn.rows import BackwardRow, ForwardRow

if TYPE_CHECKING:

    from codegen.core.reverse import Backward, GradStep

# The passes (libcst, jinja2) are imported where they are used:
# `import codegen` imports this module and stays quick.


@dataclass(repr=False)
class Explanation:
    """Everything `codegen explain` shows; `codegen.learn.graph` draws it."""

    #: The reverse pass's output (holds the parsed function).
    bwd: Backward
    #: The point, one value per parameter.
    point: dict[str, Any]
    #: Parameters whose value was drawn at random.
    drawn: tuple[str, ...]
    #: The random seed the drawn values come from.
    seed: int
    forward: list[ForwardRow]
    backward: list[BackwardRow]
    #: Every value of the forward, by name (parameters included).
    values: dict[str, Any]
    #: Final gradient of every active value, by forward name.
    grads: dict[str, Any]
    #: Digits after the point in text output.
    digits: int = 2
    #: (parameter, gradient name, value) per `wrt` parameter.
    gradients: list[tuple[str, str, Any]] = field(default_factory=list)

    @property
    def fn(self) -> ir.Function:
        return self.bwd.fn

    @property
    def result(self) -> Any:
        """What the forward returns: one value, or the tuple of its outputs."""
        if self.fn.outputs:
            return tuple(self.values[r] for r in self.fn.outputs)
        return self.values[self.fn.result]

    def __str__(self) -> str:
        return render_text(self, color=False)

    __repr__ = __str__  # a REPL shows the tables too

    def _repr_html_(self) -> str:
        return render_html(self)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


class _StepFailed(Exception):
    """A generated line raised at this point."""

    def __init__(self, loc: ir.Loc | None, code: str, exc: BaseException) -> None:
        super().__init__(code)
        self.loc, self.code, self.exc = loc, code, exc


def _namespace(fn: ir.Function) -> dict[str, Any]:
    """Globals for the generated lines: math, numpy, every runtime helper
    (``_unbroadcast``...) and the module constants the forward reads."""
    ns: dict[str, Any] = {"math": math, "np": np}
    exec(compile(_runtime(), "<codegen runtime>", "exec"), ns)
    for name, literal in fn.constants:
        ns[name] = eval(
            compile(literal, "<codegen constant>", "eval"), {"math": math, "np": np}
        )
    return ns


@cache
def _runtime() -> str:
    """The source of every helper in templates/runtime/."""
    from codegen.core.rules import runtime_helpers

    return "\n\n".join(runtime_helpers().values())


def _run(code: str, ns: dict[str, Any], loc: ir.Loc | None) -> None:
    try:
        with np.errstate(all="ignore"):
            exec(compile(code, "<codegen explain>", "exec"), ns)
    except Exception as exc:  # noqa: BLE001 - reported, located, to the user
        raise _StepFailed(loc, code, exc) from None


def _eval(expr: Any, ns: dict[str, Any], loc: ir.Loc | None) -> Any:
    if not isinstance(expr, str):  # expression IR from the reverse pass
        from codegen.back.show import show

        expr = show(expr)
    try:
        with np.errstate(all="ignore"):
            return eval(compile(expr, "<codegen explain>", "eval"), ns)
    except Exception as exc:  # noqa: BLE001 - reported, located, to the user
        raise _StepFailed(loc, expr, exc) from None


def _run_forward(bwd: Backward, ns: dict[str, Any]) -> list[ForwardRow]:
    from codegen.back.render import forward_line

    rows: list[ForwardRow] = []
    previous = None
    for step in bwd.forward:
        code = forward_line(step, bwd.lib)
        _run(code, ns, step.loc)
        first = step.source != previous
        previous = step.source
        rows.append(
            ForwardRow(
                step.loc.line, step.source, code, step.target, ns[step.target], first
            )
        )
    return rows


def _zero_like(value: Any) -> Any:
    return 0.0 if np.ndim(value) == 0 else np.zeros(np.shape(value))


def _unit_like(upstream: Any) -> Any:
    return 1.0 if np.ndim(upstream) == 0 else np.ones(np.shape(upstream))


def _local(gs: GradStep, ns: dict[str, Any], loc: ir.Loc) -> Any:
    """d step / d var at the point: the contribution evaluated with a unit
    upstream (rules are linear in it); None unless elementwise."""
    upstream = ns[gs.upstream]
    local = _eval(gs.expr, ns | {gs.upstream: _unit_like(upstream)}, loc)
    if np.ndim(upstream) and np.shape(local) != np.shape(upstream):
        return None  # a reduction, a product of matrices, a broadcast: no single factor
    return local


def _run_backward(bwd: Backward, ns: dict[str, Any]) -> list[BackwardRow]:
    from codegen.back.show import show

    steps = {s.target: s for s in bwd.forward}
    rows: list[BackwardRow] = []
    for block in bwd.blocks:
        line = steps[block.targets[0]].loc.line
        for i, gs in enumerate(block.steps):
            step = steps[gs.step]
            down = _eval(gs.expr, ns, step.loc)
            if gs.accumulate:  # written as the generated code writes it
                ns[gs.grad] = ns[gs.grad] + down
                plus = f"= {gs.grad} +" if bwd.lib == "np" else "+="
                code = f"{gs.grad} {plus} {show(gs.expr)}"
            else:
                ns[gs.grad] = down
                code = f"{gs.grad} = {show(gs.expr)}"
            rows.append(
                BackwardRow(
                    line,
                    block.source,
                    code,
                    gs.grad,
                    gs.var,
                    gs.step,
                    gs.op,
                    gs.input,
                    gs.upstream,
                    ns[gs.upstream],
                    _local(gs, ns, step.loc),
                    down,
                    gs.accumulate,
                    ns[gs.grad],
                    i == 0,
                )
            )
    return rows


def _given(value: Any, shape: tuple[int, ...] | None, integer: bool) -> Any:
    if integer or isinstance(value, dict):  # a dict of settings: as given
        return value
    if shape is not None:
        return np.full(shape, float(value))
    return np.asarray(value, dtype=float) if np.ndim(value) else float(value)


def _failure(fn: ir.Function, source: str, err: _StepFailed) -> CodegenError:
    return CodegenError(
        f"at this point, '{err.code}' fails: {type(err.exc).__name__}: {err.exc}",
        err.loc,
        "choose another point with --at",
        fn.filename,
        source,
    )


def _generated_forward(bwd: Backward) -> Callable[..., Any]:
    """The forward as the generated lines compute it (the user's file never runs)."""
    names = [p.name for p in bwd.fn.params]

    def forward(*args: Any) -> Any:
        ns = _namespace(bwd.fn) | dict(zip(names, args, strict=True))
        try:
            _run_forward(bwd, ns)
        except _StepFailed as err:
            raise err.exc from None  # random_point retries on math errors
        return ns[bwd.fn.result]

    return forward


def _point(
    bwd: Backward,
    source: str,
    at: Mapping[str, Any],
    shapes: Mapping[str, tuple[int, ...]],
    seed: int,
) -> tuple[dict[str, Any], set[str]]:
    """`at`, completed as `codegen verify` does: values drawn from (-2, 2)
    (or (0.5, 2)) where the forward is finite, shapes from ``--shape`` or
    jaxtyping annotations, integer labels in [0, the smallest dimension),
    default values kept where `kept_defaults` keeps them; and the names of
    those kept defaults."""
    from codegen.checks.points import (
        VerificationError,
        annotated_shapes,
        integer_defaults,
        integer_names,
        kept_defaults,
        no_point,
        random_point,
    )

    fn = bwd.fn
    params = [p.name for p in fn.params]
    ints = integer_names(fn)
    fixed = {
        p.name: _given(at[p.name], shapes.get(p.name), p.name in ints)
        for p in fn.params
        if p.name in at
    }
    if len(fixed) == len(params):
        return fixed, set()
    rng = np.random.default_rng(seed)
    float_shapes, integers = annotated_shapes(fn, shapes, rng)
    kept = kept_defaults(fn, bwd.wrt, {*fixed, *float_shapes}, integers)
    fixed.update(kept)
    fixed.update(integer_defaults(fn, {**fixed, **float_shapes}, integers))
    try:
        point = random_point(
            params, _generated_forward(bwd), rng, float_shapes, fixed, integers
        )
        return point, set(kept)
    except VerificationError as exc:
        raise no_point(fn, exc, [*float_shapes, *fixed], fn.filename) from None


def _evaluate(
    bwd: Backward,
    source: str,
    at: Mapping[str, Any],
    shapes: Mapping[str, tuple[int, ...]],
    seed: int,
) -> tuple[dict[str, Any], set[str], dict[str, Any], list[ForwardRow]]:
    """(point, kept defaults, namespace after the forward, forward rows)."""
    point, kept = _point(bwd, source, at, shapes, seed)
    ns = _namespace(bwd.fn) | point
    try:
        return point, kept, ns, _run_forward(bwd, ns)
    except _StepFailed as err:
        raise _failure(bwd.fn, source, err) from None


def explain_source(
    source: str,
    filename: str = "<string>",
    func: str | None = None,
    at: Mapping[str, Any] | None = None,
    wrt: Sequence[str] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    seed: int = 0,
    digits: int = 2,
) -> Explanation:
    """Run the forward and the flat backward of `func` at a point, recording
    every value, every upstream, local and downstream gradient.

    Args:
        source: text of the file holding the forward (parsed, never run).
        filename: path shown in errors.
        func: the function; default: the file's only entry point.
        at: values of parameters; the others are drawn at random.
        wrt: parameters to differentiate; default: every one that is not an
            integer and has no default value (`codegen.params`).
        shapes: shapes of array parameters (drawn, or filled with `at`).
        seed: seed of the random values.
        digits: digits after the point in the text output.

    Raises:
        CodegenError: unsupported input, a bad point, or a failing line.
    """
    from codegen.checks.points import check_names, check_settings, refuse_integer_wrt
    from codegen.core.params import resolve_wrt
    from codegen.core.reverse import reverse
    from codegen.front.parse import parse

    if not 0 <= digits <= 15:
        raise CodegenError(
            f"cannot show {digits} digits", None, "use 0 to 15 digits", filename
        )
    at, shapes = dict(at or {}), dict(shapes or {})
    fn = parse(source, filename, func)
    check_names(fn, at, "--at")
    check_names(fn, shapes, "--shape")
    check_settings(fn, at)
    refuse_integer_wrt(fn, wrt)
    bwd = reverse(fn, resolve_wrt(fn, wrt))
    point, kept, ns, forward = _evaluate(bwd, source, at, shapes, seed)
    for upstream, result in zip(bwd.seeds or (bwd.seed,), fn.results, strict=True):
        ns[upstream] = _unit_like(ns[result])  # every output seeded with ones
    try:
        backward = _run_backward(bwd, ns)
    except _StepFailed as err:
        raise _failure(fn, source, err) from None
    values = {n: ns[n] for n in [*point, *(r.name for r in forward)]}
    for step in bwd.forward:
        values.update({t: ns[t] for t in step.extra_targets})
    grads = {var: ns[g] for var, g in bwd.grad_names.items() if g in ns}
    gradients = [
        (p, g or f"grad_{p}", ns[g] if g else _zero_like(point[p]))
        for p, g in bwd.outputs
    ]
    drawn = tuple(p for p in point if p not in at and p not in kept)
    return Explanation(
        bwd, point, drawn, seed, forward, backward, values, grads, digits, gradients
    )


# ----- presentation -----


Target = Callable[..., Any] | str | Path


def load_target(target: Target, func: str | None = None) -> tuple[str, str, str | None]:
    """(source, filename, func) of a function, a ``PATH[:FUNC]`` or source text.

    A function's file (or notebook cell) is read as text, never run again.
    """
    from codegen.files import read_source, split_target

    if callable(target):
        filename = inspect.getsourcefile(target) or ""
        lines = linecache.getlines(filename) if filename else []
        if not lines:
            raise CodegenError(
                f"cannot find the source of {target.__name__}",
                None,
                "define it in a file or a notebook cell",
                "codegen",
            )
        return "".join(lines), filename, func or target.__name__
    text = str(target)
    if "\n" in text:
        return text, "<string>", func
    path, named = split_target(text)
    return read_source(path), path, func or named


def explain(
    target: Target,
    at: Mapping[str, Any] | None = None,
    *,
    func: str | None = None,
    wrt: Sequence[str] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    seed: int = 0,
    digits: int = 2,
) -> Explanation:
    """Explain the backward of `target` at `at`: every value going forward,
    every [downstream] = [local] x [upstream] going back.

    `target` is a function, ``"PATH:FUNC"`` or source text; the result prints
    as tables and shows as HTML in Jupyter. See `explain_source` for the rest.
    """
    source, filename, name = load_target(target, func)
    return explain_source(source, filename, name, at, wrt, shapes, seed, digits)
