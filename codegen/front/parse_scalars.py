"""Python's builtins and `math`'s functions of several numbers: the spellings
whose primitive depends on how they are called.

* ``sum([a, b, c], start)``: a chain of additions, left to right as Python
  adds; ``math.prod([a, b, c], start=s)`` a chain of products;
* ``max([a, b, c])`` and ``min(...)`` of one list: as ``max(a, b, c)``,
  folded pairwise (Python keeps the first of equal values);
* ``math.fsum([...])`` one step of its items (the correctly rounded sum);
* ``math.hypot(x, y)`` the `hypot` primitive, of one or three and more
  values `hypot_n`; ``math.log(x)`` `log`, ``math.log(x, b)`` `log_base`;
  ``round(x)`` an int, ``round(x, n)`` a float.

A list is a list or tuple literal, or a name holding a tuple of values
(a comprehension of a known length included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from codegen.core import ir

_HINT = "list the values: {what}([a, b, c])"


def listed(b: Any, value: cst.BaseExpression, what: str) -> list[ir.Operand] | None:
    """The items of `value` when it is a list of values, else None."""
    if isinstance(value, (cst.List, cst.Tuple)):
        return list(b.items(value))
    found = b.sequence_items(b.expr(value))  # a name, hs[1:], hs + [h], ...
    return None if found is None else found[1]


def _sequence(
    b: Any, node: cst.Call, what: str, keyword: str
) -> tuple[list[ir.Operand], ir.Operand | None]:
    """(the items, the start) of ``what(items, start)``: the start as the
    second positional argument or the keyword `keyword`."""
    args = list(node.args)
    start: ir.Operand | None = None
    second = args[1] if len(args) == 2 and not args[1].star else None
    if second and (second.keyword is None or second.keyword.value == keyword):
        start = b.expr(second.value)
        args = args[:1]
    if len(args) != 1 or args[0].keyword is not None or args[0].star:
        raise b.mod.error(
            f"{what} takes one list and a start here",
            node,
            _HINT.format(what=what.split()[-1]),
        )
    items = listed(b, args[0].value, what)
    if items is None:
        raise b.mod.error(
            f"{what} takes a list or tuple of values here",
            args[0].value,
            _HINT.format(what=what.split()[-1]),
        )
    return items, start


def _chain(
    b: Any, op: str, unit: str, node: cst.Call, name: str | None, what: str, key: str
) -> ir.Operand:
    """``what(items, start)`` as ``start op item0 op item1 ...``, left to
    right; the start (`unit` by default) is left out before two items or
    more, where ``unit op item0`` is item0 itself (one item gets a new value,
    as Python's does)."""
    items, start = _sequence(b, node, what, key)
    if start is None and len(items) != 1:
        if not items:
            return ir.Const(unit)
        acc, items = items[0], items[1:]
    else:
        acc = ir.Const(unit) if start is None else start
    for i, item in enumerate(items, start=1):
        acc = b.emit(op, (acc, item), node, name if i == len(items) else None)
    return acc


def _sum(b: Any, canonical: str, node: cst.Call, name: str | None) -> ir.Operand:
    return _chain(b, "add", "0", node, name, "builtin sum", "start")


def _prod(b: Any, canonical: str, node: cst.Call, name: str | None) -> ir.Operand:
    # math.prod multiplies as Python does, left to right, from start=1
    return _chain(b, "mul", "1", node, name, "math.prod", "start")


def _fsum(b: Any, canonical: str, node: cst.Call, name: str | None) -> ir.Operand:
    items, start = _sequence(b, node, "math.fsum", "")
    if start is not None:
        raise b.mod.error("math.fsum takes one list", node)
    if not items:
        return ir.Const("0.0")
    return b.emit("fsum", items, node, name, scalar=True)


def _extreme(b: Any, canonical: str, node: cst.Call, name: str | None) -> ir.Operand:
    """``max(a, b, c)``, and ``max([a, b, c])`` as that."""
    args = node.args
    if len(args) != 1 or args[0].keyword is not None or args[0].star:
        return b.call_op(canonical, canonical, node, name)
    items = listed(b, args[0].value, canonical)
    if not items:
        raise b.mod.error(
            f"{canonical} of one value takes a list or tuple of values here",
            args[0].value,
            f"list the values, {canonical}([a, b, c]), or write {canonical}(a, b)",
        )
    return fold_pairwise(b, canonical, items, node, name)


def fold_pairwise(
    b: Any, op: str, items: list[ir.Operand], node: cst.Call, name: str | None
) -> ir.Operand:
    """Python's ``max(a, b, c)`` as ``max(max(a, b), c)``: the first of equal
    values, as Python keeps it."""
    acc = items[0]
    for i, nxt in enumerate(items[1:], start=2):
        pair = (acc, nxt)
        acc = b.emit(op, pair, node, name if i == len(items) else None)
        b.alias(acc.name, pair)  # it returns one of them
    return acc


def _by_count(
    ops: dict[int, str], other: str
) -> Callable[[Any, str, cst.Call, str | None], ir.Operand]:
    """A spelling whose primitive is `ops`[number of arguments], else `other`."""

    def lower(b: Any, canonical: str, node: cst.Call, name: str | None) -> ir.Operand:
        if not node.args:
            raise b.mod.error(f"'{canonical}' needs an operand here", node)
        return b.call_op(ops.get(len(node.args), other), canonical, node, name)

    return lower


LOWERED: dict[str, Callable[[Any, str, cst.Call, str | None], ir.Operand]] = {
    "sum": _sum,
    "max": _extreme,
    "min": _extreme,
    "math.prod": _prod,
    "math.fsum": _fsum,
    "math.hypot": _by_count({2: "hypot"}, "hypot_n"),
    "math.log": _by_count({1: "log"}, "log_base"),
    "round": _by_count({1: "builtin_round"}, "builtin_round_to"),
}
