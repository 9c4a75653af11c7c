"""NumPy constructs for the parse pass: calls with keywords and NumPy's
signatures, methods, attributes, tuples and lists (subscripts are
`codegen.front.parse_indexing`, einsum specs `codegen.front.parse_einsum`).

`ArrayExpressions` is mixed into the parse pass's builder; it relies on the
builder's ``expr``, ``emit``, ``mod`` and ``env``. The tables map source
spellings to rule-table keys (every value is a key of `codegen.core.rules.RULES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import libcst as cst

from codegen.core import ir
from codegen.core.prims.linalg_decomp import FIELDS, SEVERAL
from codegen.core.rules import ATTRIBUTES as DECLARED_ATTRIBUTES
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.rules import METHODS as DECLARED_METHODS
from codegen.core.rules import RULES, suggest
from codegen.front.parse_calls import Slot, bind, signature_of
from codegen.front.parse_einsum import einsum_spec, einsum_sublists
from codegen.front.parse_order import fortran_order
from codegen.front.parse_scalars import fold_pairwise
from codegen.front.parse_statistics import masked
from codegen.front.parse_windows import (
    check_pad,
    pooled,
)

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
    "numpy.nan": "np.nan",
    # dtypes, for x.astype(np.float32) and dtype= keywords
    **{
        f"numpy.{t}": f"np.{t}"
        for t in ("float64", "float32", "float16", "int64", "int32", "int8")
        + ("uint8", "bool_", "intp")
    },
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


class ArrayExpressions:
    """Builder methods for the NumPy constructs (mixed into the parse builder)."""

    mod: _Module
    env: dict[str, ir.Operand]
    steps: list[ir.Assign]
    #: Targets of `tuple` steps -> their items (``t = a, b``).
    tuple_items: dict[str, tuple[ir.Operand, ...]]
    #: The `tuple_items` written as lists.
    packed_lists: set[str]
    fields: dict[str, tuple[str, ...]]  # NumPy 2's names of the items
    #: Names bound to a constant -> its text.
    const_text: dict[str, str]
    #: Parameters that are dicts of settings (``conv_param["stride"]``).
    settings: set[str]

    def expr(self, node: cst.BaseExpression, name: str | None = None) -> ir.Operand:
        raise NotImplementedError

    def emit(
        self,
        op: str,
        args: Sequence[ir.Operand],
        node: cst.CSTNode,
        name: str | None,
        kwargs: Sequence[tuple[str, ir.Operand]] = (),
        scalar: bool = False,
    ) -> ir.Var:
        raise NotImplementedError

    def in_place(self, name: ir.Operand, node: cst.CSTNode, what: str) -> None:
        raise NotImplementedError

    def alias(self, target: str, sources: Sequence[ir.Operand]) -> None:
        raise NotImplementedError

    def fresh_memory(self, target: str) -> None:
        raise NotImplementedError

    #: The names a tuple unpacking binds (``u, s, vh = np.linalg.svd(x)``).
    unpack_names: Sequence[str] = ()

    # ----- calls -----

    def several_outputs(
        self, canonical: str, node: cst.Call, name: str | None
    ) -> ir.Operand:
        """``np.linalg.svd(x)`` and the other calls with several outputs: one
        step per output, its own primitive, packed into a tuple whose items
        ``u, s, vh = ...`` or ``...[1]`` pick (steps no output needs are
        dropped later). The flags must be literals."""
        shown = _short(canonical)
        names = list(self.unpack_names)  # before the operands: they may unpack too
        self.unpack_names = ()
        if canonical == "numpy.linalg.eig":
            raise self.mod.error(
                "np.linalg.eig is not supported: its eigenvalues and eigenvectors "
                "are complex in general, and codegen is real-valued",
                node,
                "for a symmetric matrix use np.linalg.eigh (real eigenvalues, "
                "orthonormal eigenvectors)",
            )
        ops, params = SEVERAL[canonical]
        flags = dict(params)
        x: ir.Operand | None = None
        for k, arg in enumerate(node.args):
            if arg.star:
                raise self.mod.error("star-arguments are not supported", arg)
            key = arg.keyword.value if arg.keyword is not None else None
            if key is None and k == 0:
                x = self.expr(arg.value)
                continue
            if key is None:
                if k > len(params):
                    raise self.mod.error(f"too many arguments for '{shown}'", arg)
                key = params[k - 1][0]
            if key in ("a", "A") and x is None:
                x = self.expr(arg.value)
                continue
            if key not in flags:
                allowed = ", ".join(p for p, _ in params) or "none"
                raise self.mod.error(
                    f"keyword '{key}' is not supported for '{shown}'",
                    arg,
                    f"supported: {allowed}",
                )
            text = self.mod.module.code_for_node(arg.value).strip()
            if ir.literal(text) is None:
                raise self.mod.error(
                    f"'{key}' of '{shown}' must be a literal", arg.value
                )
            flags[key] = text
        if x is None:
            raise self.mod.error(f"'{shown}' needs its matrix operand", node)
        x = self.as_array(x, node)
        if flags.get("hermitian", "False") != "False":
            raise self.mod.error(
                f"'{shown}' with hermitian=True is not supported",
                node,
                "leave hermitian out (for a symmetric matrix, np.linalg.eigh)",
            )
        if canonical == "numpy.linalg.svd" and ir.literal(flags["compute_uv"]) is False:
            return self.emit("svd_s", (x,), node, name)
        full = ir.Const(str(bool(ir.literal(flags.get("full_matrices", "1")))))
        uplo = ir.Const(flags.get("UPLO", "'L'"))
        extra = {
            "svd_u": (full,),
            "svd_vh": (full,),
            "eigh_w": (uplo,),
            "eigh_v": (uplo,),
        }
        items = []
        for k, op in enumerate(ops):
            target = names[k] if len(names) == len(ops) else None
            items.append(self.emit(op, (x, *extra.get(op, ())), node, target))
        packed = self.pack(items, node, None if names else name)
        if isinstance(packed, ir.Var):  # res.S, as NumPy 2 names the outputs
            self.fields[packed.name] = FIELDS[canonical]
        return packed

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
        sublists = einsum_sublists(self.mod, node) if op == "einsum" else None
        if sublists is not None:  # np.einsum(x, (0, 1), (1, 0)): a spec string
            spec, exprs = sublists
            args = [ir.Const(f'"{spec}"'), *(self.expr(e) for e in exprs)]
            kwargs: dict[str, ir.Operand] = {}
        elif slots is None:
            args, kwargs = self.plain_operands(op, what, node, receiver)
        else:
            values = self.signature_operands(op, what, slots, node, receiver)
            if "order" in values:  # x.reshape(s, order='F'): codegen.front.parse_order
                lowered = fortran_order(self, op, values, node, name)
                if lowered is not None:
                    return lowered
            if "where" in values:  # np.sum(x, where=m): of the entries m selects
                return masked(self, op, values, node, name)
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
        order = kwargs.get("ord")
        if (
            op == "norm"
            and isinstance(order, ir.Const)
            and order.text in self.mod.literals
        ):
            kwargs["ord"] = ir.Const(self.mod.literals[order.text])  # ord = 2 above
        axis = kwargs.get("axis")
        flat = isinstance(axis, ir.Const) and axis.text == "None"
        if op == "concatenate" and flat:  # of the arrays flattened
            args = [self.emit("ravel", (a,), node, None) for a in args]
            kwargs["axis"] = ir.Const("0")
        elif op in ("sort", "partition") and flat:  # of x flattened
            args = [self.emit("ravel", (args[0],), node, None), *args[1:]]
            kwargs["axis"] = ir.Const("-1")
        elif op == "stack" and flat:
            raise self.mod.error(
                f"'{_short(what)}' with axis=None is not supported",
                node,
                "give an integer axis (flatten first with .reshape(-1))",
            )
        if op == "einsum":
            text = einsum_spec(self.mod, args[0], len(args) - 1, node)
            args = [ir.Const(f'"{text}"'), *args[1:]]
            if len(args) > 2:  # contract pairwise through BLAS, not in one C loop
                kwargs.setdefault("optimize", ir.Const("True"))
        if op == "pad":
            op = check_pad(self.mod, kwargs, node)
        op = pooled(op, args, kwargs, self.steps)
        rule = RULES[op]
        if receiver is None and what in ("max", "min"):  # builtin max(a, b, c)
            return fold_pairwise(self, op, args, node, name)
        ordered = tuple((k, kwargs[k]) for k in rule.keywords if k in kwargs)
        scalar = what.startswith("math.") and bool(rule.forward)  # as written
        result = self.emit(op, args, node, name, ordered, scalar=scalar)
        if op == "copy":  # np.copy(x), x.copy(): a new array
            self.fresh_memory(result.name)
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
        or a name or expression bound to one (``hs[::-1]``, ``hs + [h]``)."""
        if isinstance(value, (cst.List, cst.Tuple)):
            return [self.as_array(i, value) for i in self.items(value)]
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
        literal = ir.literal(value.text) if isinstance(value, ir.Const) else None
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
                suggest(method, METHODS, "method"),
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
            packed = self.pack(parts, node, name)  # used as a tuple of values
            if isinstance(packed, ir.Var):  # or, in an index, as an index array
                self.packed_lists.add(packed.name)
            return packed
        return ir.Const("[" + ", ".join(p.text for p in parts) + "]")  # type: ignore[union-attr]

    def expr_SimpleString(self, node: cst.SimpleString, name: str | None) -> ir.Operand:
        return ir.Const(node.value)
