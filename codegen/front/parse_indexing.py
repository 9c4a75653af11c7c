"""Subscripts for the parse pass: basic, integer-array and ellipsis indices,
``np.s_`` index objects, items of tuples, entries of dicts of settings, and
the functional update ``x[idx] = v``. `Indexing` extends `ArrayExpressions`
and is mixed into the parse builder."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst

from codegen.core import ir
from codegen.front.parse_lists import Lists
from codegen.front.parse_loops import static_value
from codegen.front.parse_stacking import (
    CONCATENATORS,
    _arguments,
    _is_int,
    _literal,
    _needed,
    concatenator,
)
from codegen.front.parse_windows import (
    strided_windows,
)
from codegen.front.source import _dotted

if TYPE_CHECKING:
    pass

from codegen.front.parse_arrays import (
    _slice_text,
)


def _as_list_text(text: str) -> str | None:
    """A tuple literal's text as the list NumPy makes of it inside an index
    (``(0, (1, 1))`` -> ``[0, [1, 1]]``); None for any other text."""

    def listed(v: object) -> object:
        return [listed(i) for i in v] if isinstance(v, tuple) else v

    value = ir.literal(text)
    return repr(listed(value)) if isinstance(value, tuple) else None


class Indexing(Lists):
    """The builder's subscripts."""

    def index_parts(self, node: cst.Subscript) -> tuple[list[ir.Operand], bool]:
        """The operands of an index and whether it is advanced (NumPy's
        integer-array or mask indexing, whose adjoint must add repeats).

        ``x[(i, j)]`` is ``x[i, j]``; a list or tuple literal inside an index
        (``x[[0, 0, 1]]``, ``x[:, [1, 1]]``, ``x[(0, 0),]``) is an index array,
        and so is a name that is not proven a Python int."""
        elements: list[cst.BaseSlice] = [el.slice for el in node.slice]
        only = node.slice[0] if len(node.slice) == 1 else None
        if (
            only is not None
            and isinstance(only.slice, cst.Index)
            and isinstance(only.slice.value, cst.Tuple)
            and not isinstance(only.comma, cst.Comma)
        ):  # x[(i, j)] is x[i, j]
            for el in only.slice.value.elements:
                if isinstance(el, cst.StarredElement):
                    raise self.mod.error("star-expressions are not supported", el)
            elements = [cst.Index(el.value) for el in only.slice.value.elements]
        parts: list[ir.Operand] = []
        fancy = False
        for s in elements:
            if isinstance(s, cst.Slice):
                bounds = [
                    ir.Const("None") if b is None else self.expr(b)
                    for b in (s.lower, s.upper, s.step)
                ]
                if all(isinstance(b, ir.Const) for b in bounds):
                    parts.append(ir.Const(_slice_text(bounds)))
                else:
                    parts.append(self.emit("slice", bounds, s, None))
                continue
            value = s.value  # type: ignore[attr-defined]
            if isinstance(value, cst.Ellipsis):  # x[..., 0]: NumPy fills the axes
                if ir.Const("...") in parts:
                    raise self.mod.error(
                        "an index can only have a single ellipsis ('...')", value
                    )
                parts.append(ir.Const("..."))
                continue
            if isinstance(value, (cst.List, cst.Tuple)):
                parts.append(self.index_array(value))
                fancy = True
                continue
            part = self.expr(value)
            if isinstance(part, ir.Const) and ir.is_string(part.text):
                raise self.mod.error(
                    f"indexing with the string key {part.text} is not supported",
                    value,
                    "codegen differentiates arrays and numbers, not dicts or records: "
                    "pass each entry as its own parameter",
                )
            among = len(elements) > 1 or isinstance(node.slice[0].comma, cst.Comma)
            part, advanced = self.index_operand(part, value, among)
            fancy = fancy or advanced
            parts.append(part)
        return parts, fancy

    def index_operand(
        self, part: ir.Operand, node: cst.CSTNode, among: bool
    ) -> tuple[ir.Operand, bool]:
        """An index part not written as a literal, and whether it is an index
        array. A list (a helper's argument ``[2, 0, 2]``, a name bound to
        ``[k, k, 0]``) is one, and so is a tuple among other parts or before
        a comma (``x[idx,]``), as NumPy reads them; a lone tuple is NumPy's
        tuple of indices, and a name not proven a Python int may be an array."""
        if isinstance(part, ir.Const):
            if part.text.startswith("["):
                return part, True
            listed = _as_list_text(part.text) if among else None
            return (part, False) if listed is None else (ir.Const(listed), True)
        if part.name in self.tuple_items and (among or part.name in self.packed_lists):
            return self.as_array(part, node), True
        known = self.const_text.get(part.name) if among else None
        listed = None if known is None else _as_list_text(known)
        return (part, True) if listed is None else (ir.Const(listed), True)

    def index_array(self, node: cst.List | cst.Tuple) -> ir.Operand:
        """A list or tuple literal inside an index: NumPy reads it as an
        integer (or boolean) array, written here as a list literal."""
        items: list[ir.Operand] = []
        for el in node.elements:
            if isinstance(el, cst.StarredElement):
                raise self.mod.error("star-expressions are not supported", el)
            if isinstance(el.value, (cst.List, cst.Tuple)):
                items.append(self.index_array(el.value))
            else:
                items.append(self.expr(el.value))
        if all(isinstance(i, ir.Const) for i in items):
            return ir.Const("[" + ", ".join(i.text for i in items) + "]")  # type: ignore[union-attr]
        return self.emit("stack", items, node, None)

    def take(self, what: str, node: cst.Call, name: str | None) -> ir.Operand:
        """``np.take(x, indices, axis)`` is the index ``x[:, indices]`` (``axis``
        full slices first; a negative axis counts from the end, ``x[..., indices,
        :]``), so repeated indices add in the adjoint; axis=None takes from x
        flattened."""
        args = _arguments(self, what, node)
        x = self.as_array(self.expr(_needed(self, args, "x", what, node)), node)
        where = _needed(self, args, "indices", what, node)
        if isinstance(where, (cst.List, cst.Tuple)):
            indices = self.index_array(where)
        else:
            indices = self.expr(where)
        given = args["axis"].value if "axis" in args else None
        flat = given is None or (isinstance(given, cst.Name) and given.value == "None")
        axis = None if given is None else _literal(self.expr(given))
        if not flat and (not isinstance(axis, int) or isinstance(axis, bool)):
            raise self.mod.error(
                "np.take needs a literal integer axis (or None) here",
                args["axis"],
                "write the axis as a number, or index: x[:, indices]",
            )
        mode = _take_mode(self, args)  # 'wrap', 'clip': the index NumPy reads
        if mode or not _int_literal(indices):  # booleans count as 0 and 1, no mask
            if flat:
                count = self.emit("size", (x,), node, None)
            else:
                shape = self.emit("shape_of", (x,), node, None)
                count = self.emit("item", (shape, ir.Const(str(axis))), node, None)
            span = self.emit("arange", (count,), node, None)
            given_mode = (("mode", ir.Const(repr(mode))),) if mode else ()
            indices = self.emit("take", (span, indices), node, None, given_mode)
        full: ir.Operand = ir.Const(":")
        parts: list[ir.Operand] = [indices]
        if flat:
            x = self.emit("ravel", (x,), node, None)
        elif isinstance(axis, int) and axis >= 0:
            parts = [full] * axis + parts
        elif isinstance(axis, int):
            parts = [ir.Const("..."), indices] + [full] * (-axis - 1)
        return self.emit("gather", (x, *parts), node, name)

    def expr_Subscript(self, node: cst.Subscript, name: str | None) -> ir.Operand:
        fused = strided_windows(self, node, name)
        if fused is not None:
            return fused
        dotted = _dotted(node.value)
        if dotted is not None and self.mod.canonical(dotted) == "numpy.s_":
            return self.index_object(node, name)
        if dotted is not None and self.mod.canonical(dotted) in CONCATENATORS:
            return concatenator(self, self.mod.canonical(dotted), node, name)
        base = self.expr(node.value)
        if isinstance(base, ir.Var) and base.name in self.tuple_items:
            return self.tuple_item(base, node)
        if isinstance(base, ir.Var) and base.name in self.settings:
            return self.setting(base, node, name)
        parts, fancy = self.index_parts(node)
        return self.emit("gather" if fancy else "getitem", (base, *parts), node, name)

    def setting(self, base: ir.Var, node: cst.Subscript, name: str | None) -> ir.Var:
        """``conv_param["stride"]``: an entry of a dict of settings, a value
        without gradient (its type and shape are whatever the caller passes)."""
        index = node.slice[0].slice if len(node.slice) == 1 else None
        key = self.expr(index.value) if isinstance(index, cst.Index) else None
        if not (isinstance(key, ir.Const) and ir.is_string(key.text)):
            raise self.mod.error(
                f"'{base.name}' is a dict of settings: index it with one string"
                " literal",
                node,
                f"write {base.name}['key']",
            )
        return self.emit("entry", (base, key), node, name)

    def index_object(self, node: cst.Subscript, name: str | None) -> ir.Operand:
        """``np.s_[a, 1:]``, as generated backwards write indices: a constant
        when every part is a basic one, else an `index` step (an inactive
        value), so that indexing with it counts as advanced (repeats add)."""
        parts, fancy = self.index_parts(node)
        if not fancy and all(isinstance(p, ir.Const) for p in parts):
            texts = ", ".join(p.text for p in parts)  # type: ignore[union-attr]
            return ir.Const(f"np.s_[{texts}]")
        return self.emit("index", parts, node, name)

    def tuple_item(self, base: ir.Var, node: cst.Subscript) -> ir.Operand:
        """``(a, b)[0]`` or ``t[-1]`` with a constant index: the item itself."""
        items = self.tuple_items[base.name]
        only = node.slice[0].slice if len(node.slice) == 1 else None
        if isinstance(only, cst.Slice):  # hs[1:], hs[::-1]: a list (or tuple)
            return self.tuple_slice(base, items, only, node)
        k = None
        if isinstance(only, cst.Index):  # a number the source decides (t - 1)
            k = static_value(self, only.value)
        if (
            not isinstance(k, int)
            or isinstance(k, bool)
            or not -len(items) <= k < len(items)
        ):
            raise self.mod.error(
                "a tuple of values can only be indexed with a constant integer "
                f"in range(-{len(items)}, {len(items)})",
                node,
                "index it with a number (t[0]), or stack it into an array first "
                "(np.stack(t))",
            )
        return items[k]

    def tuple_slice(
        self,
        base: ir.Var,
        items: tuple[ir.Operand, ...],
        part: cst.Slice,
        node: cst.Subscript,
    ) -> ir.Operand:
        bounds = [
            None if b is None else static_value(self, b)
            for b in (part.lower, part.upper, part.step)
        ]
        if not all(b is None or _is_int(b) for b in bounds):
            raise self.mod.error(
                "a list or tuple of values can only be sliced by numbers the source "
                "decides",
                part,
                "slice it with numbers or module constants (hs[1:], hs[::-1])",
            )
        if bounds[2] == 0:
            raise self.mod.error("slice step cannot be zero", part)
        picked = list(items[slice(*bounds)])  # type: ignore[arg-type]
        if base.name in self.packed_lists:
            return self.list_of(picked, node, None)
        return self.pack(picked, node)

    def set_item(
        self,
        target: cst.Subscript,
        value: cst.BaseExpression,
        node: cst.CSTNode,
        fresh: Any,
        op: str | None = None,
    ) -> None:
        """``x[idx] = v`` (or ``x[idx] op= v``) as a functional update: a new
        version of x equal to the old one except at idx."""
        if not isinstance(target.value, cst.Name):
            raise self.mod.error(
                "only a plain name can be indexed on the left", target.value
            )
        base_name = target.value.value
        base = self.expr(target.value)
        items = self.list_items(base, base_name, target)
        if items is not None:  # vals = [0.0] * 3; vals[i] = ...: a list's item
            self.set_list_item(base_name, items, target, value, node, fresh, op)
            return
        self.in_place(base, node, base_name)
        parts, fancy = self.index_parts(target)
        new = self.expr(value)
        if op is not None:
            old = self.emit(
                "gather" if fancy else "getitem", (base, *parts), target, None
            )
            new = self.emit(op, (old, new), node, None)
        self.env[base_name] = self.emit(
            "setitem", (base, new, *parts), node, fresh(base_name)
        )


def _int_literal(operand: ir.Operand) -> bool:
    """A literal integer or (nested) list of them, never a boolean."""

    def ints(v: object) -> bool:
        if isinstance(v, (list, tuple)):
            return all(ints(i) for i in v)
        return _is_int(v)

    return isinstance(operand, ir.Const) and ints(_literal(operand))


def _take_mode(b: Any, args: dict[str, cst.Arg]) -> str:
    """np.take's mode= as written: "" for 'raise' (an index, as x[i] reads
    it), else 'wrap' or 'clip'."""
    if "mode" not in args:
        return ""
    value = args["mode"].value
    text = value.evaluated_value if isinstance(value, cst.SimpleString) else None
    if text not in ("raise", "wrap", "clip"):
        raise b.mod.error(
            "np.take's mode must be the string 'raise', 'wrap' or 'clip' here",
            value,
            "write the mode as a literal string",
        )
    return "" if text == "raise" else str(text)
