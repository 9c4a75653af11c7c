"""Reshaping in Fortran order, lowered to C-order steps.

``x.reshape(s, order='F')`` reads and writes entries with the first index
fastest: it is ``x.T.reshape(s[::-1]).T`` (the full transpose reverses the
axes, so C order of ``x.T`` is F order of x), and ``x.ravel(order='F')``
(``x.flatten(order='F')``, ``np.ravel(x, 'F')``) is ``x.T.ravel()``. The
gradient then comes from the transpose's and the reshape's own rules.
``order='C'`` is the default; 'A' and 'K' depend on the array's memory layout,
which the source does not show, and are refused.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from codegen.core import ir
from codegen.front.parse_stacking import _literal


def fortran_order(
    b: Any, op: str, values: dict[str, Any], node: cst.Call, name: str | None
) -> ir.Operand | None:
    """The reshape, ravel or flatten of `values` in the order it names; None
    for C order (the caller goes on as without it)."""
    order = _literal(values.pop("order"))
    if order == "C":
        return None
    if order != "F":
        raise b.mod.error(
            "order= must be the string 'C' or 'F' here",
            node,
            "'A' and 'K' follow the array's memory layout, which codegen does "
            "not see; write order='C' or order='F'",
        )
    flipped = b.emit("transpose", (values["x"],), node, None)
    if op in ("ravel", "flatten"):
        return b.emit(op, (flipped,), node, name)
    shape = _reversed(b, values["shape"], node)
    return b.emit(
        "transpose", (b.emit("reshape", (flipped, shape), node, None),), node, name
    )


def _reversed(b: Any, shape: ir.Operand, node: cst.Call) -> ir.Operand:
    """`shape` with its sizes in reverse order: a literal, or a tuple whose
    items the parse knows (``x.reshape(N, -1, order='F')``)."""
    value = _literal(shape)
    if isinstance(value, int):
        return shape
    if isinstance(value, tuple):
        return ir.Const(repr(value[::-1]))
    items = b.tuple_items.get(shape.name) if isinstance(shape, ir.Var) else None
    if items is None:
        raise b.mod.error(
            "reshape with order='F' needs its shape written out here",
            node,
            "write the sizes in the call: x.reshape(N, D, order='F')",
        )
    return b.pack(list(items)[::-1], node)
