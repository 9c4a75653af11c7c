"""NumPy 2's array-API spellings, read as the primitives they are.

Names that are another name for a NumPy function (``np.concat`` is
``np.concatenate``, ``np.acos`` is ``np.arccos``) are renamed when a call's
name is resolved (`codegen.front.spellings.RENAMED`). The functions that
differ are lowered here:

* ``np.linalg.trace`` and ``np.linalg.diagonal``: over the last two axes;
* ``np.matrix_transpose(x)``: ``x.mT``, ``np.swapaxes(x, -1, -2)``;
* ``np.vecdot(x, y, axis=-1)`` (and ``np.linalg.vecdot``): ``np.sum(x * y, axis)``;
* ``np.linalg.vector_norm(x, axis, keepdims, ord)``: ``np.linalg.norm`` of
  x flattened (no axis) or along one axis, a vector norm for every ord;
* ``np.linalg.matrix_norm(x, keepdims, ord)``: ``np.linalg.norm`` over the
  last two axes;
* ``np.cumulative_sum`` / ``np.cumulative_prod``: cumsum / cumprod;
* ``np.astype(x, dtype)``: ``x.astype(dtype)``; ``np.positive(x)``: a copy;
* ``np.float_power(x, y)``: ``np.power(np.float64(x), y)``;
* ``np.logspace(start, stop, num)``: ``base ** np.linspace(start, stop, num)``;
* ``np.where(condition)`` alone: ``np.nonzero(condition)``;
* ``np.triu_indices``, ``np.tril_indices``, ``np.diag_indices`` and
  ``np.ix_``: the tuple of index arrays, as its items (so ``i, j =
  np.triu_indices(n, 1)`` unpacks).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from codegen.core import ir
from codegen.core.rules import RULES
from codegen.front.parse_stacking import _arguments as _bound
from codegen.front.parse_stacking import _is_int, _literal, _needed, _short

#: NumPy signatures of the spellings lowered here.
SIGNATURES: dict[str, str] = {
    "numpy.linalg.trace": "x, /, *, offset, dtype=?",
    "numpy.linalg.diagonal": "x, /, *, offset",
    "numpy.matrix_transpose": "x, /",
    "numpy.linalg.matrix_transpose": "x, /",
    "numpy.vecdot": "x1=x, x2=y, /, out=?, *, axes=!, axis, keepdims=!, casting=!, "
    "order=!, dtype=?, subok=!, signature=!",
    "numpy.linalg.vecdot": "x1=x, x2=y, /, *, axis",
    "numpy.linalg.vector_norm": "x, /, *, axis, keepdims, ord",
    "numpy.linalg.matrix_norm": "x, /, *, keepdims, ord",
    **{
        f"numpy.cumulative_{f}": "x, /, *, axis, dtype=?, out=?, include_initial"
        for f in ("sum", "prod")
    },
    "numpy.astype": "x, dtype, /, *, copy, device=?",
    "numpy.positive": "x, /, out=?",
    "numpy.float_power": "x1=x, x2=y, /, out=?",
    "numpy.logspace": "start, stop, num, endpoint, base, dtype=?, axis=!",
}


def _arguments(b: Any, what: str, node: cst.Call) -> dict[str, cst.Arg]:
    return _bound(b, what, node, SIGNATURES)


def _operand(b: Any, args: dict[str, cst.Arg], key: str, what: str, node: cst.Call):
    return b.as_array(b.expr(_needed(b, args, key, what, node)), node)


def _given(
    b: Any, args: dict[str, cst.Arg], *keys: str
) -> list[tuple[str, ir.Operand]]:
    return [(k, b.expr(args[k].value)) for k in keys if k in args]


def _last_two(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.linalg.trace / diagonal: np.trace / np.diagonal of the last two axes."""
    args = _arguments(b, what, node)
    x = _operand(b, args, "x", what, node)
    op = what.split(".")[-1]
    kwargs = _given(b, args, "offset")
    kwargs += [("axis1", ir.Const("-2")), ("axis2", ir.Const("-1"))]
    return b.emit(op, (x,), node, name, kwargs)


def _matrix_transpose(b: Any, what: str, node: cst.Call, name: str | None):
    x = _operand(b, _arguments(b, what, node), "x", what, node)
    return b.emit("matrix_transpose", (x,), node, name)


def _vecdot(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.vecdot(x, y, axis): the sum of x * y along axis (real values)."""
    args = _arguments(b, what, node)
    x, y = (_operand(b, args, k, what, node) for k in ("x", "y"))
    axis = _given(b, args, "axis") or [("axis", ir.Const("-1"))]
    return b.emit("sum", (b.emit("mul", (x, y), node, None),), node, name, axis)


def _norm(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """vector_norm over x flattened or one axis; matrix_norm over the last two."""
    args = _arguments(b, what, node)
    x = _operand(b, args, "x", what, node)
    kwargs = dict(_given(b, args, "ord", "keepdims"))
    if "keepdims" in kwargs:
        kwargs["keepdims"] = b.keepdims(kwargs["keepdims"], node)
    if what.endswith("matrix_norm"):
        kwargs.setdefault("ord", ir.Const("'fro'"))
        kwargs["axis"] = ir.Const("(-2, -1)")
    else:
        axis = b.expr(args["axis"].value) if "axis" in args else ir.Const("None")
        value = _literal(axis)
        if isinstance(value, tuple) and len(value) == 1:
            value, axis = value[0], ir.Const(str(value[0]))
        if isinstance(axis, ir.Const) and axis.text == "None":
            if _literal(kwargs.get("keepdims", ir.Const("False"))):
                raise b.mod.error(
                    f"'{_short(what)}' with keepdims and no axis is not supported",
                    node,
                    "give the axis, or reshape the result",
                )
            x = b.emit("ravel", (x,), node, None)
        elif not _is_int(value):
            raise b.mod.error(
                f"'{_short(what)}' needs its axis as an integer literal or None here",
                args["axis"],
                "give one axis (a norm over several axes: reshape them into one)",
            )
        else:
            kwargs["axis"] = axis
    ordered = tuple((k, kwargs[k]) for k in RULES["norm"].keywords if k in kwargs)
    return b.emit("norm", (x,), node, name, ordered)


def _cumulative(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.cumulative_sum / cumulative_prod without include_initial."""
    args = _arguments(b, what, node)
    x = _operand(b, args, "x", what, node)
    if "include_initial" in args and _literal(b.expr(args["include_initial"].value)):
        raise b.mod.error(
            f"'{_short(what)}' with include_initial=True is not supported",
            args["include_initial"],
            "concatenate the initial value yourself",
        )
    op = "cumsum" if what.endswith("sum") else "cumprod"
    return b.emit(op, (x,), node, name, _given(b, args, "axis"))


def _astype(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    args = _arguments(b, what, node)
    x = _operand(b, args, "x", what, node)
    dtype = b.expr(_needed(b, args, "dtype", what, node))
    return b.emit("astype", (x, dtype), node, name, _given(b, args, "copy"))


def _positive(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    x = _operand(b, _arguments(b, what, node), "x", what, node)
    copy = b.emit("copy", (x,), node, name)
    b.fresh_memory(copy.name)
    return copy


def _float_power(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.float_power(x, y): the power computed in float64."""
    args = _arguments(b, what, node)
    x, y = (b.expr(_needed(b, args, k, what, node)) for k in ("x", "y"))
    return b.emit("pow", (b.emit("float64", (x,), node, None), y), node, name)


def _logspace(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.logspace(start, stop, num, endpoint, base) as NumPy computes it:
    base ** np.linspace(start, stop, num, endpoint)."""
    args = _arguments(b, what, node)
    ends = [b.expr(_needed(b, args, k, what, node)) for k in ("start", "stop")]
    kwargs = _given(b, args, "num", "endpoint")
    exponents = b.emit("linspace", ends, node, None, kwargs)
    base = b.expr(args["base"].value) if "base" in args else ir.Const("10.0")
    return b.emit("pow", (base, exponents), node, name)


def _where(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.where(c, x, y); np.where(c) alone is np.nonzero(c)."""
    if len(node.args) == 1:
        return b.call_op("nonzero", "numpy.nonzero", node, name)
    return b.call_op("where", what, node, name)


def _index_tuple(b: Any, what: str, node: cst.Call, name: str | None):
    """An index builder's tuple, as the items its call fixes the count of."""
    op = what.split(".")[-1]
    whole = b.call_op(op, what, node, None)
    if op == "ix_":
        count = len(node.args)
        if any(a.star for a in node.args):
            raise b.mod.error("np.ix_ of star-arguments is not supported", node)
    elif op == "diag_indices":
        ndim = [a for k, a in enumerate(node.args) if a.keyword is None and k == 1]
        ndim += [a for a in node.args if a.keyword and a.keyword.value == "ndim"]
        value = _literal(b.expr(ndim[0].value)) if ndim else 2
        if not _is_int(value):
            raise b.mod.error(
                "np.diag_indices needs its ndim as an integer literal here", node
            )
        count = int(value)  # type: ignore[call-overload]
    else:
        count = 2
    parts = [
        b.emit("item", (whole, ir.Const(str(k))), node, None) for k in range(count)
    ]
    return b.pack(parts, node, name)


#: Spellings lowered here -> lowering(builder, canonical name, call, name).
LOWERED: dict[str, Callable[[Any, str, cst.Call, str | None], ir.Operand]] = {
    "numpy.linalg.trace": _last_two,
    "numpy.linalg.diagonal": _last_two,
    "numpy.matrix_transpose": _matrix_transpose,
    "numpy.linalg.matrix_transpose": _matrix_transpose,
    "numpy.vecdot": _vecdot,
    "numpy.linalg.vecdot": _vecdot,
    "numpy.linalg.vector_norm": _norm,
    "numpy.linalg.matrix_norm": _norm,
    "numpy.cumulative_sum": _cumulative,
    "numpy.cumulative_prod": _cumulative,
    "numpy.astype": _astype,
    "numpy.positive": _positive,
    "numpy.float_power": _float_power,
    "numpy.logspace": _logspace,
    "numpy.where": _where,
    "numpy.triu_indices": _index_tuple,
    "numpy.tril_indices": _index_tuple,
    "numpy.diag_indices": _index_tuple,
    "numpy.ix_": _index_tuple,
}
