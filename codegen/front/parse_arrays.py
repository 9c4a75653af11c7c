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
from codegen.core.prims.linalg_decomp import SEVERAL
from codegen.core.rules import ATTRIBUTES as DECLARED_ATTRIBUTES
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.rules import METHODS as DECLARED_METHODS
from codegen.core.rules import RULES, suggest
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


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_sublists(
    mod: _Module, node: cst.Call
) -> tuple[str, list[cst.BaseExpression]] | None:
    """``np.einsum(x, (0, 1), y, (1, 2), (0, 2))``, the sublist form: its spec
    string (``"ab,bc->ac"``) and the operand expressions; None for the
    string form. Sublists must be literal tuples or lists of integers and
    ``...`` (or ``Ellipsis``)."""
    args = list(node.args)
    if not args or args[0].keyword is not None:
        return None
    if _is_string(mod.module.code_for_node(args[0].value)):
        return None
    if len(args) < 2 or not isinstance(args[1].value, (cst.Tuple, cst.List)):
        return None  # not a sublist: the spec check refuses it

    def letters(arg: cst.Arg) -> str:
        text = mod.module.code_for_node(arg.value)
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            tree = None
        if isinstance(tree, (ast.Tuple, ast.List)):
            out = ""
            for el in tree.elts:
                if (
                    isinstance(el, ast.Constant)
                    and el.value is Ellipsis
                    or isinstance(el, ast.Name)
                    and el.id == "Ellipsis"
                ):
                    out += "..."
                elif (
                    isinstance(el, ast.Constant)
                    and isinstance(el.value, int)
                    and not isinstance(el.value, bool)
                    and 0 <= el.value < len(_LETTERS)
                ):
                    out += _LETTERS[el.value]
                else:
                    break
            else:
                return out
        raise mod.error(
            "an einsum sublist must be a literal tuple of axis numbers (0 to 51) "
            "and '...'",
            arg,
            "write the sublist out, as in np.einsum(x, (0, 1), (1, 0)), or give a "
            "spec string such as 'ij->ji'",
        )

    for arg in args:
        if arg.star or arg.keyword is not None:
            raise mod.error(
                "np.einsum in sublist form takes positional arguments only",
                arg,
                "write np.einsum(x, (0, 1), y, (1, 2), (0, 2)), or a spec string",
            )
    operands = [a.value for a in args[0::2]]
    ins = [letters(a) for a in args[1::2]]
    out = None
    if len(args) % 2:  # a trailing output sublist
        out, operands = letters(args[-1]), operands[:-1]
        ins = ins[: len(operands)]
    spec = ",".join(ins) + ("" if out is None else "->" + out)
    return spec, operands


def einsum_spec(mod: _Module, spec: ir.Operand, n: int, node: cst.CSTNode) -> str:
    """The explicit form of an einsum spec (``"ij,k->ijk"`` for ``"ij,k"``:
    the letters used once, sorted, after any ``...``), refusing what NumPy
    would refuse. Letters may repeat within an operand (a diagonal) or be
    summed within one operand only; ``...`` broadcasts."""
    hint = "write a spec like 'ij,jk->ik' (letters, '...', and one '->')"
    if not isinstance(spec, ir.Const) or not _is_string(spec.text):
        raise mod.error("the einsum spec must be a string literal", node, hint)
    text = str(ast.literal_eval(spec.text)).replace(" ", "")
    ins, arrow, out = text.partition("->")
    parts = ins.split(",")
    if len(parts) != n:
        raise mod.error(
            f"einsum spec {spec.text} names {len(parts)} operands, got {n}", node
        )
    for p in [*parts, out]:
        if p.count("...") > 1 or any(c not in _LETTERS for c in p.replace("...", "")):
            raise mod.error(
                f"einsum spec {spec.text}: '{p}' is not letters with at most one '...'",
                node,
                hint,
            )
    used = "".join(p.replace("...", "") for p in parts)
    if not arrow:
        once = sorted(c for c in set(used) if used.count(c) == 1)
        dots = "..." if any("..." in p for p in parts) else ""
        out = dots + "".join(once)
    letters = out.replace("...", "")
    if len(set(letters)) != len(letters) or any(c not in used for c in letters):
        raise mod.error(
            f"einsum spec {spec.text}: the output '{out}' repeats a letter or names "
            "one no operand has",
            node,
            hint,
        )
    if "..." in out and not any("..." in p for p in parts):
        raise mod.error(f"einsum spec {spec.text}: '...' in the output only", node)
    return ",".join(parts) + "->" + out


class ArrayExpressions:
    """Builder methods for the NumPy constructs (mixed into the parse builder)."""

    mod: _Module
    env: dict[str, ir.Operand]
    steps: list[ir.Assign]
    #: Targets of `tuple` steps -> their items (``t = a, b``).
    tuple_items: dict[str, tuple[ir.Operand, ...]]
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
            if _literal(text) is None:
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
        if canonical == "numpy.linalg.svd" and _literal(flags["compute_uv"]) is False:
            return self.emit("svd_s", (x,), node, name)
        full = ir.Const(str(bool(_literal(flags.get("full_matrices", "1")))))
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
        return self.pack(items, node, None if names else name)

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
        if op in ("concatenate", "stack") and flat:  # concatenate flattens
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

    def builtin_sum(self, node: cst.Call, name: str | None) -> ir.Operand:
        """Python's ``sum([a, b, c], start)``: ``start + a + b + c`` as a chain
        of additions, left to right as Python adds (start 0 is left out, as
        0 + a equals a, except with one item: ``0 + a`` is a new value)."""
        hint = "write sum([a, b, c]) with the items listed, or a + b + c"
        args = list(node.args)
        start: ir.Operand | None = None
        second = args[1] if len(args) == 2 and not args[1].star else None
        if second and (second.keyword is None or second.keyword.value == "start"):
            start = self.expr(second.value)
            args = args[:1]
        if len(args) != 1 or args[0].keyword is not None or args[0].star:
            raise self.mod.error(
                "builtin sum takes one list and a start here", node, hint
            )
        value = args[0].value
        if isinstance(value, (cst.List, cst.Tuple)):
            items = self.items(value)
        elif (
            isinstance(value, cst.Name)
            and isinstance(seq := self.expr(value), ir.Var)
            and seq.name in self.tuple_items
        ):
            items = list(self.tuple_items[seq.name])
        else:
            raise self.mod.error(
                "builtin sum takes a list or tuple literal here", value, hint
            )
        if start is None and len(items) != 1:
            if not items:
                return ir.Const("0")
            acc, items = items[0], items[1:]
        else:
            acc = ir.Const("0") if start is None else start
        for i, item in enumerate(items, start=1):
            acc = self.emit("add", (acc, item), node, name if i == len(items) else None)
        return acc

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
        if isinstance(base, ir.Var) and base.name in self.settings:
            return self.setting(base, node, name)
        parts, fancy = self.index_parts(node)
        return self.emit("gather" if fancy else "getitem", (base, *parts), node, name)

    def setting(self, base: ir.Var, node: cst.Subscript, name: str | None) -> ir.Var:
        """``conv_param["stride"]``: an entry of a dict of settings, a value
        without gradient (its type and shape are whatever the caller passes)."""
        index = node.slice[0].slice if len(node.slice) == 1 else None
        key = self.expr(index.value) if isinstance(index, cst.Index) else None
        if not (isinstance(key, ir.Const) and _is_string(key.text)):
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
