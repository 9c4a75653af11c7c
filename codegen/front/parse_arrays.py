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
from codegen.core.rules import PACKED, RULES
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

#: Methods whose several positional arguments form one tuple operand.
_PACKED = PACKED

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
        rule = RULES[op]
        args: list[ir.Operand] = [] if receiver is None else [receiver]
        kwargs: dict[str, ir.Operand] = {}
        for arg in node.args:
            if arg.star:
                raise self.mod.error("star-arguments are not supported", arg)
            if arg.keyword is None:
                args.extend(self.call_operands(op, arg.value))
                continue
            key = arg.keyword.value
            if key not in rule.keywords:
                allowed = ", ".join(rule.keywords) or "none"
                raise self.mod.error(
                    f"keyword '{key}' is not supported for '{what}'",
                    arg,
                    f"supported keywords: {allowed}",
                )
            kwargs[key] = self.expr(arg.value)
        if receiver is not None and what in _PACKED and len(args) > 2:
            args = [args[0], self.pack(args[1:], node)]
        fixed = [i for i in rule.inputs if not i.startswith("*")]
        builtin_nary = what in ("max", "min")  # max(a, b, c): folded pairwise below
        if rule.variadic is None and len(args) > len(fixed) and not builtin_nary:
            extra = args[len(fixed) :]
            if len(extra) > len(rule.keywords) - len(kwargs):
                raise self.mod.error(f"too many arguments for '{what}'", node)
            free = [k for k in rule.keywords if k not in kwargs]
            kwargs.update(zip(free, extra, strict=False))
            args = args[: len(fixed)]
        if len(args) < len(fixed):
            raise self.mod.error(
                f"'{what}' takes {len(fixed)} operand(s) here, got {len(args)}", node
            )
        if op == "einsum":
            check_einsum(self.mod, args[0], len(args) - 1, node)
            if len(args) > 2:  # contract pairwise through BLAS, not in one C loop
                kwargs.setdefault("optimize", ir.Const("True"))
        if op == "pad":
            check_pad(self.mod, kwargs, node)
        op = pooled(op, args, kwargs, self.steps)
        rule = RULES[op]
        if op in ("maximum", "minimum") and len(args) > 2:  # builtin max(a, b, c)
            acc = args[0]
            for i, nxt in enumerate(args[1:], start=2):
                acc = self.emit(op, (acc, nxt), node, name if i == len(args) else None)
            return acc
        ordered = tuple((k, kwargs[k]) for k in rule.keywords if k in kwargs)
        return self.emit(op, args, node, name, ordered)

    def call_operands(self, op: str, value: cst.BaseExpression) -> list[ir.Operand]:
        """Operands of one positional argument: a list literal spreads for
        concatenate and stack."""
        if op in ("concatenate", "stack") and isinstance(value, (cst.List, cst.Tuple)):
            return [self.expr(el.value) for el in value.elements]
        return [self.expr(value)]

    def pack(self, parts: Sequence[ir.Operand], node: cst.CSTNode) -> ir.Operand:
        """A tuple operand: a constant when every part is, else a `tuple` step."""
        if all(isinstance(p, ir.Const) for p in parts):
            texts = [p.text for p in parts]  # type: ignore[union-attr]
            return ir.Const(
                "(" + ", ".join(texts) + ("," if len(texts) == 1 else "") + ")"
            )
        return self.emit("tuple", parts, node, None)

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
        return self.pack([self.expr(el.value) for el in node.elements], node)

    def expr_List(self, node: cst.List, name: str | None) -> ir.Operand:
        parts = [self.expr(el.value) for el in node.elements]
        if not all(isinstance(p, ir.Const) for p in parts):
            raise self.mod.error(
                "lists of arrays are only supported as the operands of np.concatenate "
                "and np.stack",
                node,
                "use a tuple (a, b) for shapes and axes",
            )
        return ir.Const("[" + ", ".join(p.text for p in parts) + "]")  # type: ignore[union-attr]

    def expr_SimpleString(self, node: cst.SimpleString, name: str | None) -> ir.Operand:
        return ir.Const(node.value)

    def index_parts(self, node: cst.Subscript) -> tuple[list[ir.Operand], bool]:
        """The operands of an index and whether it is fancy (array-valued)."""
        parts: list[ir.Operand] = []
        fancy = False
        for el in node.slice:
            s = el.slice
            if isinstance(s, cst.Slice):
                bounds = [
                    ir.Const("None") if b is None else self.expr(b)
                    for b in (s.lower, s.upper, s.step)
                ]
                if all(isinstance(b, ir.Const) for b in bounds):
                    parts.append(ir.Const(_slice_text(bounds)))
                else:
                    parts.append(self.emit("slice", bounds, s, None))
            else:
                part = self.expr(s.value)  # type: ignore[union-attr,attr-defined]
                fancy = fancy or isinstance(part, ir.Var)
                parts.append(part)
        return parts, fancy

    def expr_Subscript(self, node: cst.Subscript, name: str | None) -> ir.Operand:
        fused = strided_windows(self, node, name)
        if fused is not None:
            return fused
        dotted = _dotted(node.value)
        if dotted is not None and self.mod.canonical(dotted) == "numpy.s_":
            return self.index_object(node, name)
        base = self.expr(node.value)
        parts, fancy = self.index_parts(node)
        return self.emit("gather" if fancy else "getitem", (base, *parts), node, name)

    def index_object(self, node: cst.Subscript, name: str | None) -> ir.Operand:
        """``np.s_[a, 1:]``, as generated backwards write indices: a constant
        when every part is one, else an `index` step (an inactive value)."""
        parts, _ = self.index_parts(node)
        if all(isinstance(p, ir.Const) for p in parts):
            texts = ", ".join(p.text for p in parts)  # type: ignore[union-attr]
            return ir.Const(f"np.s_[{texts}]")
        return self.emit("index", parts, node, name)

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
