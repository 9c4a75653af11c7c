"""Python lists the forward builds and assigns items into (``vals = [0.0] *
T``, then ``vals[t] = ...`` in an unrolled loop): the list with that item
replaced, the value kept as Python keeps it (an array would convert it to
its dtype). What Python would change elsewhere is refused: a list another
name, list or caller also holds, and an array item updated in place that
something else holds."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import libcst as cst

from codegen.core import ir
from codegen.core.prims.linalg_decomp import FIELDS
from codegen.core.rules import NONDIFF, RULES, bind
from codegen.front.parse_arrays import ArrayExpressions
from codegen.front.parse_loops import static_number, static_value
from codegen.front.parse_stacking import _is_int


class Lists(ArrayExpressions):
    """The builder's item assignments into lists."""

    #: Names of an inlined helper start with it (``g_``); "" in the function.
    prefix: str

    def list_items(
        self, base: ir.Operand, what: str, target: cst.CSTNode
    ) -> list[ir.Operand] | None:
        """The items of a Python list the source builds (``[0, 0]``, ``[0.0] *
        T``, ``[a, b]``), or None for anything that is not a list. Refused:
        a list of a length known only at run time, a tuple, and a list
        another name, list or caller also holds (Python changes it there too)."""
        if not isinstance(base, ir.Var):
            return None
        if base.name in self.packed_lists:
            items = list(self.tuple_items[base.name])
        else:
            value = self.sequence(base)
            if value is None:
                return None
            if isinstance(value, tuple):
                raise self.mod.error("a tuple's items cannot be assigned", target)
            if value is _UNKNOWN:
                raise self.mod.error(
                    f"item assignment into the list '{what}', whose length is known "
                    "only at run time",
                    target,
                    "give its length as a number or a module constant ([0.0] * T), "
                    "or assign into an array (np.zeros(n))",
                )
            assert isinstance(value, list)
            items = [ir.Const(repr(v)) for v in value]
        group = _same_object(self.steps, base.name)
        held = [n for n, v in self.env.items() if n != what and _names([v]) & group]
        held += [t for t, parts in self.tuple_items.items() if _names(parts) & group]
        if self.prefix and not group & {s.target for s in self.steps}:
            held.append("the caller")
        if held:
            raise self.mod.error(
                f"item assignment into the list '{what}', which "
                f"{held[0] if held[0] == 'the caller' else repr(held[0])} also holds",
                target,
                "Python changes it there too; build a new list instead",
            )
        return items

    def append(self, node: cst.Call, fresh: Any) -> None:
        """``hs.append(h)`` on a list the forward builds (``hs = []``): the
        list with one item more, as in Python; on anything else, refused."""
        assert isinstance(node.func, cst.Attribute)
        name = node.func.value
        assert isinstance(name, cst.Name)
        base = self.expr(name)
        items = self.list_items(base, name.value, node)
        if items is None:
            raise self.mod.error(
                f"'{name.value}' is not a list the function builds, so it has no "
                "append here",
                node,
                "start it as a list written out (hs = []) in the function",
            )
        items.append(self.expr(node.args[0].value))
        self.env[name.value] = self.list_of(items, node, fresh(name.value))

    def sequence(self, base: ir.Var) -> object:
        """What `base` is as a Python sequence: the list or tuple of its
        items, `_UNKNOWN` for a list of a length known only at run time, or
        None when it is not one."""
        text = self.const_text.get(base.name)
        if text is not None:
            return _sequence(self, text)
        step = next((s for s in reversed(self.steps) if s.target == base.name), None)
        listed = step is not None and (
            any(
                isinstance(a, ir.Const) and _sequence(self, a.text) is not None
                for a in step.args
            )
            or bool(_names(step.args) & self.packed_lists)
        )
        return _UNKNOWN if listed and step.op in ("mul", "add") else None  # type: ignore[union-attr]

    def set_list_item(
        self,
        base_name: str,
        items: list[ir.Operand],
        target: cst.Subscript,
        value: cst.BaseExpression,
        node: cst.CSTNode,
        fresh: Any,
        op: str | None,
    ) -> None:
        """``vals[k] = v`` on a list: the list with item k replaced (Python
        keeps v as it is, where an array would convert it to its dtype)."""
        only = target.slice[0].slice if len(target.slice) == 1 else None
        found = static_value(self, only.value) if isinstance(only, cst.Index) else None
        k = found if isinstance(found, int) and not isinstance(found, bool) else None
        if k is None or not -len(items) <= k < len(items):
            raise self.mod.error(
                "an item of a list can only be assigned at a constant integer "
                f"in range(-{len(items)}, {len(items)})",
                target,
                "index it with a number or a loop item, or build an array "
                "(np.zeros(n)) and assign into that",
            )
        new = self.expr(value)
        if op is not None:  # hs[0] += v: in place when the item is an array
            self.item_in_place(items, k, target, base_name)
            new = self.emit(op, (items[k], new), node, None)
        items[k] = new
        self.env[base_name] = self.list_of(items, node, fresh(base_name))

    def check_tuple_operands(
        self, op: str, args: Sequence[ir.Operand], node: cst.CSTNode
    ) -> None:
        """Refuse a tuple of values where an op differentiates an array: Python
        would repeat or concatenate it (``t * 2``, ``t + t``) or fail."""
        if op in NONDIFF or op == "copy":
            return
        rule = RULES[op]
        for input_name, operand, _ in bind(rule, args):
            if (
                input_name in rule.diff
                and isinstance(operand, ir.Var)
                and operand.name in self.tuple_items
            ):
                raise self.mod.error(
                    "a tuple of values is not an array here",
                    node,
                    "index it with a constant (t[0]), or make an array of it with "
                    "np.stack(t)",
                )

    def sequence_items(
        self, operand: ir.Operand
    ) -> tuple[type, list[ir.Operand]] | None:
        """The kind (list or tuple) and the items of a sequence the source
        builds (``[h0]``, ``(a, b)``, ``[0.0] * T``), or None."""
        if isinstance(operand, ir.Var) and operand.name in self.tuple_items:
            kind = list if operand.name in self.packed_lists else tuple
            return kind, list(self.tuple_items[operand.name])
        text = operand.text if isinstance(operand, ir.Const) else None
        if isinstance(operand, ir.Var):  # a name bound to a constant list
            text = self.const_text.get(operand.name)
        listed = text is not None and text[:1] in "[("  # a number is none
        value = _sequence(self, text) if listed else None  # type: ignore[arg-type]
        if isinstance(value, (list, tuple)):
            return type(value), [ir.Const(repr(v)) for v in value]
        return None

    def concatenated(
        self,
        op: str,
        left: ir.Operand,
        right: ir.Operand,
        node: cst.CSTNode,
        name: str | None,
    ) -> ir.Operand | None:
        """``hs + [h]``: a new list (or tuple) of both sides' items, as Python
        concatenates them; None when neither side is a sequence of values
        (numbers and constant lists fold as written)."""
        if op != "add" or (isinstance(left, ir.Const) and isinstance(right, ir.Const)):
            return None
        a, b = self.sequence_items(left), self.sequence_items(right)
        if a is None or b is None:
            return None
        if a[0] is not b[0]:
            raise self.mod.error(
                f"'+' of a {a[0].__name__} and a {b[0].__name__}: Python refuses it",
                node,
                "concatenate two lists or two tuples",
            )
        if a[0] is tuple:
            return self.pack(a[1] + b[1], node, name)
        return self.list_of(a[1] + b[1], node, name)

    def extend(
        self, target: cst.Name, value: cst.BaseExpression, node: cst.CSTNode, fresh: Any
    ) -> bool:
        """``hs += [h]`` or ``hs.extend([h])`` on a list the forward builds: the
        list with the items added, as in Python; False when `target` names no
        such list."""
        base = self.expr(target)
        items = self.list_items(base, target.value, node)
        if items is None:
            return False
        added = self.sequence_items(self.expr(value))
        if added is None:
            raise self.mod.error(
                f"'{target.value}' is a list: it can be extended here only by a list "
                "or tuple the source writes out",
                value,
                f"write {target.value}.append(v) or {target.value} += [a, b]",
            )
        self.env[target.value] = self.list_of(
            items + added[1], node, fresh(target.value)
        )
        return True

    def named_field(self, node: cst.Attribute) -> ir.Operand | None:
        """``np.linalg.svd(x).S``, ``res.logabsdet``: the output NumPy 2 names
        so, of a call with several outputs; None for any other attribute."""
        if not any(node.attr.value in names for names in FIELDS.values()):
            return None
        base = node.value
        if isinstance(base, cst.Name) and base.value not in self.env:
            return None  # a module's attribute
        value = self.expr(base)
        fields = self.fields.get(value.name, ()) if isinstance(value, ir.Var) else ()
        if node.attr.value not in fields:
            return None
        return self.tuple_items[value.name][fields.index(node.attr.value)]  # type: ignore[union-attr]

    def list_of(
        self, items: list[ir.Operand], node: cst.CSTNode, name: str | None
    ) -> ir.Operand:
        """The list of `items`, a new binding `name` of the list."""
        if all(isinstance(i, ir.Const) for i in items):
            text = "[" + ", ".join(i.text for i in items) + "]"  # type: ignore[union-attr]
            return self.emit("const", (ir.Const(text),), node, name)
        packed = self.pack(items, node, name)
        self.packed_lists.add(packed.name)  # type: ignore[union-attr]
        return packed

    def item_in_place(
        self, items: list[ir.Operand], k: int, target: cst.Subscript, base: str
    ) -> None:
        """``hs[k] op= v`` updates the item itself when it is an array: refused
        where another item, name or the caller also holds it."""
        item = items[k]
        if not isinstance(item, ir.Var):
            return
        others = [o for j, o in enumerate(items) if j != k]
        if any(self.shares(item, o) for o in others):
            raise self.mod.error(
                f"in-place update of an item of '{base}' that another item also is",
                target,
                f"Python changes both; write '{base}[{k}] = {base}[{k}] + ...'",
            )
        self.in_place(item, target, base)

    def shares(self, a: ir.Operand, b: ir.Operand) -> bool:
        raise NotImplementedError  # codegen.front.parse_aliases


def _names(operands: Sequence[ir.Operand]) -> set[str]:
    return {o.name for o in operands if isinstance(o, ir.Var)}


#: A list whose length only the run knows (``[0.0] * len(x)``).
_UNKNOWN = object()


def _same_object(steps: Sequence[ir.Assign], name: str) -> set[str]:
    """`name` and every name bound to the same object by plain rebinding
    (``b = a``), both ways."""
    pairs = [
        (s.target, s.args[0].name)
        for s in steps
        if s.op == "copy" and s.args and isinstance(s.args[0], ir.Var)
    ]
    group = {name}
    grown = True
    while grown:
        grown = False
        for a, b in pairs:
            if (a in group) != (b in group):
                group |= {a, b}
                grown = True
    return group


def _sequence(b: Any, text: str) -> object:
    """The list or tuple a constant's text spells (``[0, 0]``, ``[0.0] * 3``,
    ``[0.0] * T`` with T a module constant, ``[0.0] + [1.0]``); `_UNKNOWN`
    for a list of a length the source does not give; None for anything else."""
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError):
        return None

    def value(node: ast.expr) -> object:
        if isinstance(node, (ast.List, ast.Tuple)):
            found = ir.literal(ast.unparse(node))
            return found if isinstance(found, (list, tuple)) else None
        if not isinstance(node, ast.BinOp):
            return None
        left, right = value(node.left), value(node.right)
        if isinstance(node.op, ast.Add):
            if _UNKNOWN in (left, right):
                return _UNKNOWN
            both = isinstance(left, list) and isinstance(right, list)
            both = both or (isinstance(left, tuple) and isinstance(right, tuple))
            return left + right if both else None  # type: ignore[operator]
        if not isinstance(node.op, ast.Mult):
            return None
        seq, count = (left, node.right) if left is not None else (right, node.left)
        if seq is None:
            return None
        number = static_number(b, ast.unparse(count))
        if seq is _UNKNOWN or not _is_int(number):
            return _UNKNOWN
        return seq * number  # type: ignore[operator]

    return value(tree)


def _length(b: Any, canonical: str, node: cst.Call, name: str | None) -> ir.Operand:
    """``len(hs)`` of a list or tuple the source builds: the number; of an
    array, the `len` step (its first axis, known at run time)."""
    only = node.args[0].value if len(node.args) == 1 else None
    items = b.sequence_items(b.expr(only)) if isinstance(only, cst.Name) else None
    if items is not None:
        return ir.Const(str(len(items[1])))
    return b.call_op("len", canonical, node, name)


LOWERED = {"len": _length}
