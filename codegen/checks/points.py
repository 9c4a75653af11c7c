"""Points to check a gradient at: parameter values drawn for a forward.

`random_point` draws a point where the forward is finite; the helpers around
it read, from the parsed function alone, which parameters are integers (axes,
sizes, counts), which default values are kept as they are, and which shapes
the annotations give, so `verify`, `explain` and the tests draw the same kind
of point.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from codegen.core import ir
from codegen.core.shapes import example_dims
from codegen.errors import CodegenError


class VerificationError(AssertionError):
    """The analytic gradient disagrees with the numeric one."""


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
}
#: Keyword operands that are integers.
_INT_KEYWORDS = frozenset({"axis", "axes", "shape", "ddof"})
#: Ops whose operands are integers when their result is (sizes arithmetic).
_INT_THROUGH = frozenset(
    {"add", "sub", "mul", "neg", "tuple", "floordiv", "floor_divide"}
)


def refuse_integer_wrt(fn: ir.Function, wrt: Sequence[str] | None) -> None:
    """A `--wrt` naming a parameter the forward uses as an integer (a label,
    an index, a size): a point must give it integers, where a gradient
    check would move it by fractions."""
    ints = sorted(set(wrt or ()) & integer_names(fn))
    if ints:
        raise CodegenError(
            f"--wrt names {', '.join(ints)}, which {fn.name} uses as an integer "
            "(an index, a label or a size): there is no gradient to check",
            None,
            "leave it out of --wrt",
            fn.filename,
        )


def integer_names(fn: ir.Function) -> set[str]:
    """Parameters that hold integers: annotated ``int``/``Int[...]``, with an
    integer literal default (``stride=1``, ``n=1 + 1``), or used where only an
    integer fits (pad widths, strides and slice bounds, indices and label
    arrays, shapes, ``np.arange``), directly or through size arithmetic
    (``2 * pad``, ``(H - HH) // stride``: ``divmod(t, period)`` of floats is
    no size)."""
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
        dims = example_dims(p.annotation)
        if p.name in given:
            shapes[p.name] = tuple(given[p.name])
        elif dims:
            shapes[p.name] = tuple(_size(d, sizes, rng) for d in dims)
    all_sizes = [d for shape in shapes.values() for d in shape]
    bound = min(all_sizes, default=3)
    integers: dict[str, tuple[tuple[int, ...] | None, int]] = {}
    inferred = integer_names(fn)
    for p in fn.params:
        if p.name in inferred:
            integers[p.name] = (shapes.pop(p.name, None) or None, bound)
    return shapes, integers


def _size(word: str, sizes: dict[str, int], rng: np.random.Generator) -> int:
    """The size of one dimension word: a number; a name, drawn once in [2, 5]
    and shared; jaxtyping's arithmetic of names (``4*H``, ``N+1``) of those."""
    if word.isdigit():
        return int(word)
    expr = word.split("@")[0]
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        tree = None
    allowed: tuple[type, ...] = (ast.Expression, ast.BinOp, ast.Constant, ast.Name)
    allowed += (ast.Load, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv)
    if (
        tree is None
        or "@" not in word
        or not all(isinstance(n, allowed) for n in ast.walk(tree))
    ):
        return sizes.setdefault(word, int(rng.integers(2, 6)))
    names = {
        n.id: sizes.setdefault(n.id, int(rng.integers(2, 6)))
        for n in ast.walk(tree)
        if isinstance(n, ast.Name)
    }
    value = eval(
        compile(tree, "<dim>", "eval"), {"__builtins__": {}}, names
    )  # noqa: S307
    return value if isinstance(value, int) and value > 0 else sizes.setdefault(word, 2)


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


def no_point(
    fn: ir.Function, exc: Exception, known: Iterable[str], path: str
) -> CodegenError:
    """No point the forward runs at: bad input, with how to give one."""
    return CodegenError(
        str(exc),
        None,
        shape_hint(fn, known)
        or "give numbers with --at NAME=VALUE and array shapes with "
        "--shape NAME=3,4 that the forward accepts",
        path,
    )


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


def check_settings(fn: ir.Function, at: Mapping[str, Any]) -> None:
    """A clean error unless every dict of settings (a parameter read by
    constant keys) is given, with each key it reads: codegen cannot guess a
    stride or a mode.

    Raises:
        CodegenError: naming the parameter, its keys and how to give them.
    """
    for p in fn.params:
        given = at.get(p.name)
        missing = [
            k for k in p.keys if not isinstance(given, Mapping) or k not in given
        ]
        if p.keys and missing:
            example = " ".join(f"{p.name}.{k}=..." for k in p.keys)
            raise CodegenError(
                f"'{p.name}' is a dict of settings and {', '.join(map(repr, missing))}"
                " is not given",
                None,
                f"give its entries: --at {example} (or at = {{ {p.name} = {{ ... }} }}"
                " in [tool.codegen])",
                fn.filename,
            )
