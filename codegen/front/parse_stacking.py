"""Splitting and stacking spellings for the parse pass (issue 14).

Calls returning a list of arrays become one step per piece and a tuple of
values (``np.split(x, 3)``: three `split` steps, unpacked, indexed with a
constant, or returned as several outputs); the piece count must be visible
in the source (a literal number of sections or list of indices, a literal
axis tuple for np.gradient). Spellings that NumPy defines by concatenate or
where are written as those primitives:

* ``np.vstack(xs)`` (``np.row_stack``): concatenate of ``np.atleast_2d``
  of each, along axis 0 (``np.hstack(xs)`` is its own primitive); of one
  array, a sequence of its rows, the `vstack_rows` primitive (and
  `hstack_rows`, `column_stack_rows`);
* ``np.column_stack(xs)``: concatenate along axis 1 of each operand as a
  column (``np.transpose(np.atleast_2d(np.transpose(x)))``: a 1-d x becomes
  (n, 1), other ranks are kept);
* ``np.append(a, v)``: concatenate of the two flattened, or along `axis`;
* ``np.array([...])`` of arrays and numbers, nested lists too: np.stack of
  the items (``np.array(x)`` of one array: a copy);
* ``np.r_[...]``: concatenate along axis 0 of ``np.atleast_1d`` of each
  item (a slice is the ``np.arange`` it stands for); ``np.c_[...]``: along
  the last axis, each item as a column as for column_stack;
* ``np.select(conds, choices, default)``: ``np.where(c0, x0, np.where(c1,
  x1, ... default))``, the first condition that holds choosing.

`SIGNATURES` holds these spellings' NumPy signatures (those of declared
primitives join the parse pass's table, `codegen.front.parse_calls`);
`LOWERED` maps each spelling written here to its lowering, a function of
the builder.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import libcst as cst

from codegen.core import ir
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.shapes import ranks
from codegen.front.parse_calls import FUNCTIONS, METHODS, bind, signature

#: NumPy signatures of the spellings of codegen/core/prims/stacking.py.
SIGNATURES: dict[str, str] = {
    "divmod": "x, y, /",
    "numpy.divmod": "x1=x, x2=y, /, out=!, *, where=!, casting=!, order=!, dtype=!, "
    "subok=!, signature=!",
    **{
        f"numpy.{f}": "ary=x, indices_or_sections=sections, axis"
        for f in ("split", "array_split")
    },
    **{
        f"numpy.{f}": "ary=x, indices_or_sections=sections"
        for f in ("hsplit", "vsplit", "dsplit")
    },
    **{
        f"numpy.{f}": "tup=[*xs], *, dtype=?, casting=!"
        for f in ("vstack", "row_stack", "hstack")
    },
    "numpy.column_stack": "tup=[*xs]",
    "numpy.dstack": "tup=[*xs]",
    "numpy.diagflat": "v=x, k",
    "numpy.append": "arr=x, values=y, axis",
    "numpy.array": "object=x, dtype=?, *, copy=!, order=!, subok=!, ndmin=!, "
    "ndmax=!, like=?",
    "numpy.asarray": "a=x, dtype=?, order=!, *, device=?, copy=!, like=?",
    "numpy.diff": "a=x, n, axis, prepend=!, append=!",
    "numpy.gradient": "f=x, *varargs=!, axis, edge_order",
    "numpy.linspace": "start, stop, num, endpoint, retstep=!, dtype=?, axis=!, *, "
    "device=?",
    **{
        f"numpy.{f}": "a=x, axis, kind=?, order=?, *, stable=?"
        for f in ("sort", "argsort")
    },
    "numpy.partition": "a=x, kth, axis, kind=!, order=?",
    "numpy.take": "a=x, indices, axis, out=?, mode",
    **{
        f"numpy.{u}.reduce": "array=x, /, axis, dtype=?, out=?, *, keepdims, "
        "initial=!, where=!"
        for u in ("maximum", "minimum", "add", "multiply")
    },
    "numpy.take_along_axis": "arr=x, indices, axis",
    "numpy.select": "condlist, choicelist, default",
}
# The primitives' spellings join the parse pass's table; the lowered ones
# are bound here, in their lowering.
FUNCTIONS.update({k: v for k, v in SIGNATURES.items() if k in DECLARED_CALLS})
METHODS.setdefault("argsort", "axis, kind=?, order=?, *, stable=?")

_AXIS_SPLITS = ("split", "array_split")


def _short(what: str) -> str:
    return what.replace("numpy.", "np.")


def _literal(operand: ir.Operand) -> object:
    if not isinstance(operand, ir.Const):
        return None
    try:
        return ast.literal_eval(operand.text)
    except (ValueError, SyntaxError):
        return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _arguments(
    b: Any, what: str, node: cst.Call, table: dict[str, str] = SIGNATURES
) -> dict[str, cst.Arg]:
    """The call's arguments by operand name, bound as NumPy binds them (by
    the signatures in `table`)."""
    return {
        s.operand: a
        for s, a in bind(b.mod, what, signature(table[what]), node)
        if s.operand is not None
    }


def _needed(b: Any, args: dict[str, cst.Arg], key: str, what: str, node: cst.Call):
    if key not in args:
        raise b.mod.error(f"'{_short(what)}' needs its '{key}' operand", node)
    return args[key].value


def _split(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """``np.split(x, sections, axis)`` (and kin): one step per piece."""
    args = _arguments(b, what, node)
    x = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    where = _needed(b, args, "sections", what, node)
    sections = b.expr(where)
    value = _literal(sections)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        count = value
    elif isinstance(value, (list, tuple)) and all(_is_int(v) for v in value):
        count = len(value) + 1
    else:
        raise b.mod.error(
            f"'{_short(what)}' needs its sections as a literal here: a positive "
            "number of pieces or a list of indices",
            where,
            f"write {_short(what)}(x, 3) or {_short(what)}(x, [2, 5]): codegen must "
            "see how many pieces there are",
        )
    op = what.split(".")[-1]
    head: tuple[ir.Operand, ...] = (x, sections)
    if op in _AXIS_SPLITS:
        axis = b.expr(args["axis"].value) if "axis" in args else ir.Const("0")
        head += (axis,)
    pieces = [b.emit(op, (*head, ir.Const(str(k))), node, None) for k in range(count)]
    return b.pack(pieces, node, name)


def _gradient(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """``np.gradient(x, axis=...)``: one array per axis, each a step."""
    args = _arguments(b, what, node)
    x = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    if "edge_order" in args:
        order = b.expr(args["edge_order"].value)
        if _literal(order) != 1:
            raise b.mod.error(
                "np.gradient with edge_order other than 1 is not supported",
                args["edge_order"],
                "leave edge_order at its default, 1",
            )
    axis = b.expr(args["axis"].value) if "axis" in args else ir.Const("None")
    value = _literal(axis)
    if _is_int(value):
        return b.emit("gradient", (x, axis), node, name)
    if value is None and isinstance(axis, ir.Const) and axis.text == "None":
        rank = _rank(b, x)  # every axis: one array each, when x's rank is known
        value = None if rank is None else tuple(range(rank))
    axes = value if isinstance(value, (list, tuple)) else None
    if not axes or not all(_is_int(a) for a in axes) or len(set(axes)) < len(axes):
        raise b.mod.error(
            "np.gradient needs its axis as a literal here: an axis or a tuple of "
            "distinct axes",
            args.get("axis", node),
            "write np.gradient(x, axis=0) for one array, or axis=(0, 1) for one "
            'per axis, or annotate x\'s shape (Float[np.ndarray, "N D"]): codegen '
            "must see how many arrays it returns",
        )
    if len(axes) == 1:
        return b.emit("gradient", (x, ir.Const(str(axes[0]))), node, name)
    pieces = [b.emit("gradient", (x, ir.Const(str(a))), node, None) for a in axes]
    return b.pack(pieces, node, name)


def _rank(b: Any, x: ir.Operand) -> int | None:
    """x's rank as the annotations prove it so far, or None."""
    if not isinstance(x, ir.Var):
        return None
    fn = SimpleNamespace(params=b.params, body=tuple(b.steps))
    return ranks(fn).get(x.name)  # type: ignore[arg-type]


def _joined(
    b: Any,
    items: list[ir.Operand],
    node: cst.CSTNode,
    name: str | None,
    axis: ir.Operand | None,
) -> ir.Operand:
    """np.concatenate(items, axis=axis) (axis None: its default, 0)."""
    kwargs = () if axis is None else (("axis", axis),)
    return b.emit("concatenate", items, node, name, kwargs)


def _column(b: Any, x: ir.Operand, node: cst.CSTNode) -> ir.Operand:
    """x as column_stack and np.c_ take it: a 1-d x as an (n, 1) column, a
    number as (1, 1), other ranks as they are."""
    t = b.emit("transpose", (x,), node, None)
    t = b.emit("atleast_2d", (t,), node, None)
    return b.emit("transpose", (t,), node, None)


def _stacked(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """vstack, row_stack, column_stack as concatenate; hstack as itself; of
    one array (a sequence of its rows), the op's `_rows` primitive."""
    args = _arguments(b, what, node)
    seq = _needed(b, args, "xs", what, node)
    op = "vstack" if what == "numpy.row_stack" else what.split(".")[-1]
    if isinstance(seq, (cst.List, cst.Tuple)):
        xs = b.array_sequence(seq, what)
    else:
        value = b.expr(seq)
        if not isinstance(value, ir.Var) or value.name not in b.tuple_items:
            if op == "dstack":
                raise b.mod.error(
                    "np.dstack of one array is not supported",
                    node,
                    "give a list or tuple of arrays: np.dstack([a, b])",
                )
            return b.emit(f"{op}_rows", (value,), node, name)
        xs = [b.as_array(i, node) for i in b.tuple_items[value.name]]
    if op == "hstack":
        return b.emit("hstack", xs, node, name)
    if op == "dstack":  # along a third axis, each array made 3-d first
        planes = [b.emit("atleast_3d", (x,), node, None) for x in xs]
        return _joined(b, planes, node, name, ir.Const("2"))
    if op == "column_stack":
        columns = [_column(b, x, node) for x in xs]
        return _joined(b, columns, node, name, ir.Const("1"))
    rows = [b.emit("atleast_2d", (x,), node, None) for x in xs]
    return _joined(b, rows, node, name, None)


def _diagflat(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.diagflat(v, k) is np.diag(v.ravel(), k)."""
    args = _arguments(b, what, node)
    x = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    k = (("k", b.expr(args["k"].value)),) if "k" in args else ()
    return b.emit("diag", (b.emit("ravel", (x,), node, None),), node, name, k)


def _append(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.append(a, v): the two flattened and joined, or joined along axis."""
    args = _arguments(b, what, node)
    a = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    v = b.as_array(b.expr(_needed(b, args, "y", what, node)), node)
    axis = b.expr(args["axis"].value) if "axis" in args else ir.Const("None")
    if isinstance(axis, ir.Const) and axis.text == "None":
        flat = [b.emit("ravel", (o,), node, None) for o in (a, v)]
        return _joined(b, flat, node, name, None)
    return _joined(b, [a, v], node, name, axis)


def _array(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.array of a list or tuple of values: np.stack of the items (nested
    lists stacked inside out); of one array: a copy (np.asarray: the array
    itself, or a new one of a number)."""
    args = _arguments(b, what, node)
    value = b.expr(_needed(b, args, "x", what, node))
    if isinstance(value, ir.Const):  # a constant array, computed once: a step,
        # so that indexing with it counts as integer-array indexing (repeats add)
        return b.emit("const", (ir.Const(f"np.array({value.text})"),), node, name)
    if value.name in b.tuple_items:
        items = [b.as_array(i, node) for i in b.tuple_items[value.name]]
        return b.emit("stack", items, node, name)
    if what == "numpy.asarray":
        same = b.emit("asarray", (value,), node, name)
        b.alias(same.name, (value,))
        return same
    copy = b.emit("copy", (value,), node, name)
    b.fresh_memory(copy.name)
    return copy


def _select(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.select(conds, choices, default) as a chain of np.where."""
    args = _arguments(b, what, node)
    conds = b.array_sequence(_needed(b, args, "condlist", what, node), what)
    choices = b.array_sequence(_needed(b, args, "choicelist", what, node), what)
    if not conds or len(conds) != len(choices):
        raise b.mod.error(
            f"np.select got {len(conds)} conditions and {len(choices)} choices",
            node,
            "give one choice per condition, at least one",
        )
    acc = b.expr(args["default"].value) if "default" in args else ir.Const("0")
    for k in range(len(conds) - 1, -1, -1):
        acc = b.emit(
            "where", (conds[k], choices[k], acc), node, name if k == 0 else None
        )
    return acc


#: ufunc.reduce -> the reduction it is.
_REDUCES = {"maximum": "amax", "minimum": "amin", "add": "sum", "multiply": "prod"}


def _reduce(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """``np.maximum.reduce(a, axis=0)`` is ``np.max(a, axis=0)``, a list of
    arrays stacked first (its default axis is 0, not None); likewise
    minimum, add and multiply."""
    args = _arguments(b, what, node)
    array = _needed(b, args, "x", what, node)
    if isinstance(array, (cst.List, cst.Tuple)):
        x = b.emit("stack", b.items(array), node, None)
    else:
        x = b.as_array(b.expr(array), node)
    axis = b.expr(args["axis"].value) if "axis" in args else ir.Const("0")
    kwargs = [("axis", axis)]
    if "keepdims" in args:
        kwargs.append(("keepdims", b.keepdims(b.expr(args["keepdims"].value), node)))
    return b.emit(_REDUCES[what.split(".")[1]], (x,), node, name, kwargs)


#: Spellings lowered here -> lowering(builder, canonical name, call, name).
def _divmod(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """divmod(x, y) and np.divmod(x, y): the pair (x // y, x % y), unpacked
    as any tuple is (``q, r = divmod(x, 0.5)``)."""
    args = _arguments(b, what, node)
    x, y = (b.expr(_needed(b, args, k, what, node)) for k in ("x", "y"))
    quotient = "floor_divide" if what == "numpy.divmod" else "floordiv"
    parts = [b.emit(op, (x, y), node, None) for op in (quotient, "mod")]
    return b.pack(parts, node, name)


def _meshgrid(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.meshgrid(x1, ..., xk, indexing='xy'): the grids, grid i a copy of xi
    flattened, laid along axis i of the grid and broadcast over it (with
    'xy', NumPy's default, x1 and x2 take the first two axes the other way
    round); so each xi's gradient sums its grid's over the other axes."""
    names = list(b.unpack_names)  # a, b = np.meshgrid(x, y): the grids' names
    b.unpack_names = ()
    xs: list[ir.Operand] = []
    indexing = "xy"
    for arg in node.args:
        value = arg.value
        if arg.keyword is None and not arg.star:
            xs.append(b.as_array(b.expr(value), node))
        elif (
            arg.keyword is not None
            and arg.keyword.value == "indexing"
            and isinstance(value, cst.SimpleString)
            and value.evaluated_value in ("xy", "ij")
        ):
            indexing = str(value.evaluated_value)
        else:
            raise b.mod.error(
                "np.meshgrid takes arrays and indexing='xy' or 'ij' here",
                arg,
                "copy=, sparse= and star-arguments are not supported",
            )
    if len(xs) < 2:
        raise b.mod.error("np.meshgrid of fewer than two arrays is not supported", node)
    axes = list(range(len(xs)))
    if indexing == "xy":
        axes[0], axes[1] = 1, 0
    flat = [b.emit("ravel", (x,), node, None) for x in xs]
    dims: list[ir.Operand] = [ir.Const("1")] * len(xs)
    for f, axis in zip(flat, axes, strict=True):
        dims[axis] = b.emit("size", (f,), node, None)
    grid = b.pack(dims, node)
    grids: list[ir.Operand] = []
    for i, (f, axis) in enumerate(zip(flat, axes, strict=True)):
        lay = [ir.Const("-1" if k == axis else "1") for k in range(len(xs))]
        laid = b.emit("reshape", (f, b.pack(lay, node)), node, None)
        spread = b.emit("broadcast_to", (laid, grid), node, None)
        named = names[i] if len(names) == len(xs) else None
        copy = b.emit("copy", (spread,), node, named)  # as NumPy copies
        b.fresh_memory(copy.name)
        grids.append(copy)
    return b.pack(grids, node, name)


LOWERED: dict[str, Callable[[Any, str, cst.Call, str | None], ir.Operand]] = {
    "numpy.meshgrid": _meshgrid,
    "divmod": _divmod,
    "numpy.divmod": _divmod,
    **{f"numpy.{f}": _split for f in ("split", "array_split", "hsplit")},
    **{f"numpy.{f}": _split for f in ("vsplit", "dsplit")},
    "numpy.gradient": _gradient,
    **{f"numpy.{f}": _stacked for f in ("vstack", "row_stack", "column_stack")},
    "numpy.hstack": _stacked,
    "numpy.dstack": _stacked,
    "numpy.diagflat": _diagflat,
    "numpy.append": _append,
    "numpy.array": _array,
    "numpy.asarray": _array,
    "numpy.select": _select,
    **{f"numpy.{u}.reduce": _reduce for u in _REDUCES},
}


def concatenator(b: Any, what: str, node: cst.Subscript, name: str | None):
    """``np.r_[a, b, 1:4]`` and ``np.c_[a, b]`` as concatenate."""
    items: list[ir.Operand] = []
    for el in node.slice:
        s = el.slice
        if isinstance(s, cst.Slice):
            bounds = [
                None if p is None else _literal(b.expr(p))
                for p in (s.lower, s.upper, s.step)
            ]
            if not all(p is None or _is_int(p) for p in bounds):
                raise b.mod.error(
                    f"a slice inside {_short(what)}[...] needs integer literal bounds",
                    s,
                    "write the range as np.arange(lo, hi, step) with numbers",
                )
            lo, hi, step = bounds
            if hi is None:
                raise b.mod.error(
                    f"a slice inside {_short(what)}[...] needs an end",
                    s,
                    "write the range with both bounds, 1:10",
                )
            items.append(ir.Const(f"np.arange({lo or 0}, {hi}, {step or 1})"))
            continue
        value = b.expr(s.value)  # type: ignore[attr-defined]
        if isinstance(value, ir.Const) and isinstance(_literal(value), str):
            raise b.mod.error(
                f"a string directive inside {_short(what)}[...] is not supported",
                s,
                "write np.concatenate([...], axis=...) for what it means",
            )
        items.append(b.as_array(value, node))
    if what == "numpy.c_":
        return _joined(
            b, [_column(b, x, node) for x in items], node, name, ir.Const("-1")
        )
    ones = [b.emit("atleast_1d", (x,), node, None) for x in items]
    return _joined(b, ones, node, name, None)


#: Index-expression spellings lowered here.
CONCATENATORS = ("numpy.r_", "numpy.c_")
