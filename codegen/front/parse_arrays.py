"""NumPy constructs for the parse pass: calls with keywords, methods,
attributes, subscripts and the functional update ``x[idx] = v``.

`ArrayExpressions` is mixed into the parse pass's builder; it relies on the
builder's ``expr``, ``emit``, ``mod`` and ``env``. The tables map source
spellings to rule-table keys (every value is a key of `codegen.core.rules.RULES`).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from codegen.core import ir
from codegen.core.rules import ATTRIBUTES as DECLARED_ATTRIBUTES
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.rules import METHODS as DECLARED_METHODS
from codegen.core.rules import RULES
from codegen.core.shapes import ranks
from codegen.front.parse_calls import Slot, bind, signature_of
from codegen.front.parse_stacking import CONCATENATORS, concatenator
from codegen.front.parse_windows import (
    check_pad,
    pooled,
    strided_windows,
)
from codegen.front.source import _dotted

if TYPE_CHECKING:
    from codegen.front.source import _Module

#: numpy functions (canonical ``numpy.<name>``) -> op, from the declarations.
NUMPY_CALLS: dict[str, str] = {
    **{k: v for k, v in DECLARED_CALLS.items() if k.startswith("numpy.")},
    "len": "len",
}

#: ``x.<method>(...)`` -> op; x becomes the first operand.
METHODS: dict[str, str] = dict(DECLARED_METHODS)

#: ``x.<attribute>`` -> op.
ATTRIBUTES: dict[str, str] = dict(DECLARED_ATTRIBUTES)

#: Module attributes that are constants.
NUMPY_CONSTANTS: dict[str, str] = {
    "numpy.newaxis": "None",
    "numpy.pi": "np.pi",
    "numpy.e": "np.e",
    "numpy.inf": "np.inf",
}


def _slice_text(parts: Sequence[ir.Operand]) -> str:
    """``lo:hi`` or ``lo:hi:step`` from constant bounds (None prints empty)."""
    texts = [
        "" if isinstance(p, ir.Const) and p.text == "None" else p.text  # type: ignore[union-attr]
        for p in parts
    ]
    return ":".join(texts if texts[2] else texts[:2])


def _short(canonical: str) -> str:
    return canonical.replace("numpy.", "np.")


def _literal(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _is_string(text: str) -> bool:
    """True for the text of a string literal (``'a'``, ``"a"``, ``b"a"``)."""
    try:
        return isinstance(ast.literal_eval(text), (str, bytes))
    except (ValueError, SyntaxError):
        return False


def check_dots(
    mod: _Module, fn: ir.Function, dots: Sequence[tuple[str, cst.CSTNode]]
) -> None:
    """Refuse ``np.dot`` unless it is ``@``: for operands of ranks 1 and 2
    (and a 1-d operand with any array). A 0-d operand multiplies, and for
    N-d operands np.dot sums over the last axis of a and the second-to-last
    of b, pairing every batch of a with every batch of b."""
    if not dots:
        return
    rank = ranks(fn)
    steps = {s.target: s for s in fn.body}
    for target, node in dots:
        rx, ry = (_operand_rank(rank, a) for a in steps[target].args)
        if (rx in (1, 2) and ry in (1, 2)) or (
            rx is not None and ry is not None and min(rx, ry) == 1
        ):
            continue
        known = "unknown" if rx is None or ry is None else f"{rx} and {ry}"
        raise mod.error(
            f"np.dot of operands whose ranks are {known}: codegen takes np.dot "
            "only where it equals '@' (operands of rank 1 or 2)",
            node,
            'annotate the operands\' shapes (Float[np.ndarray, "N D"]), or write '
            "'a @ b', np.tensordot or np.einsum for what you mean",
        )


def _operand_rank(rank: dict[str, int | None], o: ir.Operand) -> int | None:
    if isinstance(o, ir.Var):
        return rank.get(o.name)
    return 0 if _literal(o.text) is not None else None


def check_einsum(mod: _Module, spec: ir.Operand, n: int, node: cst.CSTNode) -> None:
    """Refuse einsum specs whose adjoint is not an einsum of the same kind."""
    hint = (
        "write an explicit spec like 'ij,jk->ik' with each operand's letters distinct"
    )
    if not isinstance(spec, ir.Const):
        raise mod.error("the einsum spec must be a string literal", node, hint)
    try:
        text = ast.literal_eval(spec.text)
    except (ValueError, SyntaxError):
        raise mod.error(
            "the einsum spec must be a string literal", node, hint
        ) from None
    text = str(text).replace(" ", "")
    if "->" not in text or "." in text:
        raise mod.error(
            f"einsum spec {spec.text} needs an explicit '->' and no '...'", node, hint
        )
    ins, out = text.split("->")
    parts = ins.split(",")
    if len(parts) != n:
        raise mod.error(
            f"einsum spec {spec.text} names {len(parts)} operands, got {n}", node
        )
    for i, p in enumerate(parts):
        others = out + "".join(q for k, q in enumerate(parts) if k != i)
        if len(set(p)) != len(p) or any(c not in others for c in p):
            raise mod.error(
                f"einsum operand {i} ('{p}') repeats a letter or sums over a letter "
                "no other operand has",
                node,
                hint,
            )


class ArrayExpressions:
    """Builder methods for the NumPy constructs (mixed into the parse builder)."""

    mod: _Module
    env: dict[str, ir.Operand]
    steps: list[ir.Assign]
    #: ``np.dot`` steps (target, call), for `check_dots`.
    dots: list[tuple[str, cst.CSTNode]]
    #: Targets of `tuple` steps -> their items (``t = a, b``).
    tuple_items: dict[str, tuple[ir.Operand, ...]]

    def expr(self, node: cst.BaseExpression, name: str | None = None) -> ir.Operand:
        raise NotImplementedError

    def emit(
        self,
        op: str,
        args: Sequence[ir.Operand],
        node: cst.CSTNode,
        name: str | None,
        kwargs: Sequence[tuple[str, ir.Operand]] = (),
    ) -> ir.Var:
        raise NotImplementedError

    def in_place(self, name: ir.Operand, node: cst.CSTNode, what: str) -> None:
        raise NotImplementedError

    def alias(self, target: str, sources: Sequence[ir.Operand]) -> None:
        raise NotImplementedError

    def fresh_memory(self, target: str) -> None:
        raise NotImplementedError

    # ----- calls -----

    def call_op(
        self,
        op: str,
        what: str,
        node: cst.Call,
        name: str | None,
        receiver: ir.Operand | None = None,
    ) -> ir.Operand:
        """Lower ``what(args...)`` (or ``receiver.what(...)``) to one `op` step."""
        slots = signature_of(what, receiver is not None)
        if slots is None:
            args, kwargs = self.plain_operands(op, what, node, receiver)
        else:
            values = self.signature_operands(op, what, slots, node, receiver)
            if op == "clip":
                return self.clip(values, node, name)
            rule = RULES[op]
            fixed = [i for i in rule.inputs if not i.startswith("*")]
            for missing in (i for i in fixed if i not in values):
                raise self.mod.error(
                    f"'{_short(what)}' needs its '{missing}' operand", node
                )
            args = [values[i] for i in fixed]
            args += values.get("*", [])
            kwargs = {k: values[k] for k in rule.keywords if k in values}
        if "keepdims" in kwargs:
            kwargs["keepdims"] = self.keepdims(kwargs["keepdims"], node)
        axis = kwargs.get("axis")
        flat = isinstance(axis, ir.Const) and axis.text == "None"
        if op in ("concatenate", "stack") and flat:  # concatenate flattens
            raise self.mod.error(
                f"'{_short(what)}' with axis=None is not supported",
                node,
                "give an integer axis (flatten first with .reshape(-1))",
            )
        if op == "einsum":
            check_einsum(self.mod, args[0], len(args) - 1, node)
            if len(args) > 2:  # contract pairwise through BLAS, not in one C loop
                kwargs.setdefault("optimize", ir.Const("True"))
        if op == "pad":
            check_pad(self.mod, kwargs, node)
        op = pooled(op, args, kwargs, self.steps)
        rule = RULES[op]
        if receiver is None and what in ("max", "min"):  # builtin max(a, b, c)
            acc = args[0]
            for i, nxt in enumerate(args[1:], start=2):
                pair = (acc, nxt)
                acc = self.emit(op, pair, node, name if i == len(args) else None)
                self.alias(acc.name, pair)  # it returns one of them
            return acc
        ordered = tuple((k, kwargs[k]) for k in rule.keywords if k in kwargs)
        result = self.emit(op, args, node, name, ordered)
        if op == "copy":  # np.copy(x), x.copy(): a new array
            self.fresh_memory(result.name)
        if what in ("numpy.dot", "dot"):  # checked once ranks are known
            self.dots.append((result.name, node))
        return result

    def plain_operands(
        self, op: str, what: str, node: cst.Call, receiver: ir.Operand | None
    ) -> tuple[list[ir.Operand], dict[str, ir.Operand]]:
        """Operands of a call without a NumPy signature (builtins, `math`,
        ``np.einsum``, ``np.arange``, runtime helpers): positional operands
        in the rule's order, and the rule's keywords by name."""
        rule = RULES[op]
        args: list[ir.Operand] = [] if receiver is None else [receiver]
        kwargs: dict[str, ir.Operand] = {}
        for arg in node.args:
            if arg.star:
                raise self.mod.error("star-arguments are not supported", arg)
            if arg.keyword is None:
                args.append(self.expr(arg.value))
                continue
            key = arg.keyword.value
            if key not in rule.keywords:
                allowed = ", ".join(rule.keywords) or "none"
                raise self.mod.error(
                    f"keyword '{key}' is not supported for '{_short(what)}'",
                    arg,
                    f"supported keywords: {allowed}",
                )
            kwargs[key] = self.expr(arg.value)
        fixed = [i for i in rule.inputs if not i.startswith("*")]
        builtin_nary = what in ("max", "min")  # max(a, b, c): folded pairwise
        if rule.variadic is None and len(args) > len(fixed) and not builtin_nary:
            raise self.mod.error(f"too many arguments for '{_short(what)}'", node)
        if len(args) < len(fixed):
            raise self.mod.error(
                f"'{_short(what)}' takes {len(fixed)} operand(s) here, got "
                f"{len(args)}",
                node,
            )
        return args, kwargs

    def signature_operands(
        self,
        op: str,
        what: str,
        slots: tuple[Slot, ...],
        node: cst.Call,
        receiver: ir.Operand | None,
    ) -> dict[str, Any]:
        """The operands of a NumPy call by rule input or keyword name, its
        arguments bound as NumPy binds them; ``"*"`` holds the variadic ones."""
        values: dict[str, Any] = {} if receiver is None else {"x": receiver}
        variadic: list[ir.Operand] = []
        packed: dict[str, list[ir.Operand]] = {}
        for slot, arg in bind(self.mod, what, slots, node):
            assert slot.operand is not None
            diff = slot.operand in RULES[op].diff
            if slot.spread:
                variadic += self.array_sequence(arg.value, what)
            elif slot.rest and slot.operand == RULES[op].variadic:
                variadic.append(self.expr(arg.value))
            elif slot.rest:
                packed.setdefault(slot.operand, []).append(self.expr(arg.value))
            elif diff:  # np.mean((a, b)) is np.mean(np.stack((a, b)))
                values[slot.operand] = self.as_array(self.expr(arg.value), arg)
            else:
                values[slot.operand] = self.expr(arg.value)
        for key, parts in packed.items():  # x.reshape(N, D) or x.reshape((N, D))
            values[key] = parts[0] if len(parts) == 1 else self.pack(parts, node)
        values["*"] = variadic
        return values

    def array_sequence(self, value: cst.BaseExpression, what: str) -> list[ir.Operand]:
        """The arrays of ``np.concatenate([a, b])``: a list or tuple literal,
        or a name bound to one."""
        if isinstance(value, (cst.List, cst.Tuple)):
            return [self.as_array(i, value) for i in self.items(value)]
        if isinstance(value, cst.Name):
            seq = self.expr(value)
            if isinstance(seq, ir.Var) and seq.name in self.tuple_items:
                return [self.as_array(i, value) for i in self.tuple_items[seq.name]]
        raise self.mod.error(
            f"'{_short(what)}' takes a list or tuple literal of arrays here",
            value,
            f"write {_short(what)}([a, b], axis=...) with the arrays listed",
        )

    def clip(
        self, values: dict[str, Any], node: cst.Call, name: str | None
    ) -> ir.Operand:
        """``np.clip(x, lo, hi)``; with one bound None (or left out) it is
        ``np.maximum(x, lo)`` or ``np.minimum(x, hi)``, whose ties send the
        gradient to x, as clip's bounds are inclusive."""
        x = values["x"]
        lo, hi = (values.get(k, ir.Const("None")) for k in ("lo", "hi"))
        none = [isinstance(b, ir.Const) and b.text == "None" for b in (lo, hi)]
        if all(none):
            raise self.mod.error(
                "np.clip needs a lower or an upper bound",
                node,
                "give a bound, or drop the clip",
            )
        if none[0]:
            return self.emit("minimum", (x, hi), node, name)
        if none[1]:
            return self.emit("maximum", (x, lo), node, name)
        return self.emit("clip", (x, lo, hi), node, name)

    def keepdims(self, value: ir.Operand, node: cst.CSTNode) -> ir.Operand:
        """``keepdims`` as the literal True or False (``keepdims=1`` is True)."""
        literal = _literal(value.text) if isinstance(value, ir.Const) else None
        if isinstance(literal, (bool, int)):
            return ir.Const(str(bool(literal)))
        raise self.mod.error(
            "keepdims must be a constant True or False",
            node,
            "write keepdims=True or keepdims=False",
        )

    def pack(
        self, parts: Sequence[ir.Operand], node: cst.CSTNode, name: str | None = None
    ) -> ir.Operand:
        """A tuple operand: a constant when every part is, else a `tuple` step
        whose items are remembered (`tuple_items`), so that ``t[0]`` picks one
        statically and a NumPy call stacks them."""
        if all(isinstance(p, ir.Const) for p in parts):
            texts = [p.text for p in parts]  # type: ignore[union-attr]
            return ir.Const(
                "(" + ", ".join(texts) + ("," if len(texts) == 1 else "") + ")"
            )
        var = self.emit("tuple", parts, node, name)
        self.tuple_items[var.name] = tuple(parts)
        return var

    def items(self, node: cst.Tuple | cst.List) -> list[ir.Operand]:
        for el in node.elements:
            if isinstance(el, cst.StarredElement):
                raise self.mod.error(
                    "star-expressions are not supported", el, "list the items"
                )
        return [self.expr(el.value) for el in node.elements]

    def as_array(self, operand: ir.Operand, node: cst.CSTNode) -> ir.Operand:
        """A differentiable operand of a NumPy function: a tuple or list of
        values is the array NumPy makes of it, ``np.stack`` of its items."""
        if not isinstance(operand, ir.Var) or operand.name not in self.tuple_items:
            return operand
        items = [self.as_array(i, node) for i in self.tuple_items[operand.name]]
        return self.emit("stack", items, node, None)

    def method_call(
        self, node: cst.Call, attr: cst.Attribute, name: str | None
    ) -> ir.Operand:
        method = attr.attr.value
        op = METHODS.get(method)
        if op is None:
            raise self.mod.error(
                f"no adjoint rule for the method '.{method}()'",
                node,
                "supported methods: " + ", ".join(f".{m}()" for m in sorted(METHODS)),
            )
        receiver = self.expr(attr.value)
        return self.call_op(op, method, node, name, receiver)

    # ----- attributes, tuples, subscripts -----

    def array_attribute(
        self, node: cst.Attribute, canonical: str, name: str | None
    ) -> ir.Operand | None:
        if canonical in NUMPY_CONSTANTS:
            return ir.Const(NUMPY_CONSTANTS[canonical])
        op = ATTRIBUTES.get(node.attr.value)
        head = canonical.split(".")[0]
        if op is None or head in ("numpy", "math"):
            return None
        return self.emit(op, (self.expr(node.value),), node, name)

    def expr_Tuple(self, node: cst.Tuple, name: str | None) -> ir.Operand:
        return self.pack(self.items(node), node, name)

    def expr_List(self, node: cst.List, name: str | None) -> ir.Operand:
        parts = self.items(node)
        if not all(isinstance(p, ir.Const) for p in parts):
            return self.pack(parts, node, name)  # used as a tuple of values
        return ir.Const("[" + ", ".join(p.text for p in parts) + "]")  # type: ignore[union-attr]

    def expr_SimpleString(self, node: cst.SimpleString, name: str | None) -> ir.Operand:
        return ir.Const(node.value)

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
            if isinstance(value, (cst.List, cst.Tuple)):
                parts.append(self.index_array(value))
                fancy = True
                continue
            part = self.expr(value)
            if isinstance(part, ir.Const) and _is_string(part.text):
                raise self.mod.error(
                    f"indexing with the string key {part.text} is not supported",
                    value,
                    "codegen differentiates arrays and numbers, not dicts or records: "
                    "pass each entry as its own parameter",
                )
            fancy = fancy or isinstance(part, ir.Var)
            parts.append(part)
        return parts, fancy

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
        parts, fancy = self.index_parts(node)
        return self.emit("gather" if fancy else "getitem", (base, *parts), node, name)

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
        k = None
        if isinstance(only, cst.Index):
            index = self.expr(only.value)
            k = _literal(index.text) if isinstance(index, ir.Const) else None
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
