"""The parse builder's core: SSA names, emitting steps, and expressions.

`BuilderBase` flattens expressions into primitive steps (`emit`), one per
operation, naming intermediates after the statement's target (``L_sub``) and
re-bound names as SSA versions (``x_1``). Statements are
`codegen.front.parse_statements`, inlined helper calls
`codegen.front.parse_inline`; the NumPy constructs and the alias checks are
mixed in from `parse_arrays` and `parse_aliases`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import libcst as cst
import libcst.matchers as m

from codegen.core import ir
from codegen.core.prims.linalg_decomp import SEVERAL
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.rules import (
    NONDIFF,
    RUNTIME_CALLS,
    runtime_helpers,
    suggest,
)
from codegen.errors import CodegenError
from codegen.front import (
    parse_array_api,
    parse_lists,
    parse_scalars,
    parse_stacking,
    parse_statistics,
)
from codegen.front.parse_aliases import Aliases
from codegen.front.parse_arrays import NUMPY_CALLS
from codegen.front.parse_indexing import Indexing
from codegen.front.parse_loops import choose, comprehension
from codegen.front.signature import names_in
from codegen.front.source import _dotted, _Module
from codegen.front.spellings import BINARY_OPS, COMPARE_OPS

#: Spellings written as other primitives, by canonical name -> lowering.
LOWERED = {
    **parse_stacking.LOWERED,
    **parse_statistics.LOWERED,
    **parse_scalars.LOWERED,
    **parse_array_api.LOWERED,
    **parse_lists.LOWERED,
}

#: Calls by canonical dotted name (after resolving imports) -> op.
CALLS: dict[str, str] = {**DECLARED_CALLS, **NUMPY_CALLS}

#: Module attributes that are constants.
CONSTANTS: dict[str, str] = {
    "math.pi": "math.pi",
    "math.e": "math.e",
    "math.inf": "math.inf",
    "math.tau": "math.tau",
}

_SIGMOID_OPS = ("neg", "exp", "add", "div")


class BuilderBase(Aliases, Indexing):
    """Flattens one function body into primitive steps: state, names, steps
    and expressions (statements and helpers are the subclasses')."""

    """Flattens one function body into primitive steps."""

    def __init__(self, mod: _Module, prefix: str = "", depth: int = 0) -> None:
        self.mod = mod
        self.prefix = prefix
        #: The outputs of ``return a, b`` (empty for one output).
        self.several: tuple[str, ...] = ()
        #: The function's parameters (none while inlining a helper).
        self.params: tuple[ir.Param, ...] = ()
        self.depth = depth
        self.steps: list[ir.Assign] = []
        self.env: dict[str, ir.Operand] = {}
        self.errors: list[CodegenError] = []
        self.taken: set[str] = set()
        self.bound: set[str] = set()
        self.constants: dict[str, str] = {}
        self.tuple_items: dict[str, tuple[ir.Operand, ...]] = {}
        #: NumPy 2's names of a tuple's items (``res.S`` of np.linalg.svd).
        self.fields: dict[str, tuple[str, ...]] = {}
        #: The `tuple_items` written as lists (``idx = [k, 0]``): an index array
        #: when used as an index, where a tuple is a tuple of indices.
        self.packed_lists: set[str] = set()
        #: Names bound to a constant (``idx = (2, 2, 0)``) -> its text.
        self.const_text: dict[str, str] = {}
        #: Values without gradient already computed, by (op, operands).
        self.pure: dict[tuple[object, ...], str] = {}
        #: Last numeric suffix handed out per base name (see `fresh`).
        self.suffixes: dict[str, int] = {}
        #: What may share memory with what (see `codegen.parse_aliases`).
        self.memory: dict[str, frozenset[str]] = {}
        self.read_only: set[str] = set()
        self.external: set[str] = set()
        self.parent: Aliases | None = None
        self.source = ""
        #: The items of the unrolled loops being flattened (``t = 2``), or "".
        self.loop_note = ""
        #: Names unrolled loops bound to their items (read as the item).
        self.loop_names: set[str] = set()
        #: The line of the statement being flattened, when it sits on one.
        self.line: int | None = None
        #: The functions being inlined, outermost first (recursion, depth).
        self.chain: tuple[str, ...] = ()
        self.display = ""
        #: Module constants the generated function binds a name of (a
        #: parameter or local): read there by value, not by their hidden name.
        self.hidden: frozenset[str] = frozenset()
        #: Parameters that are dicts of settings, read by constant keys only.
        self.settings: set[str] = set()

    # ----- names -----

    def fresh(self, base: str) -> str:
        """A new SSA name based on `base`, clashing with nothing seen."""
        base = f"{self.prefix}{base}"
        k = self.suffixes.get(
            base, 0
        )  # start past the last suffix: linear, not quadratic
        name = f"{base}_{k}" if k else base
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.suffixes[base] = k
        self.taken.add(name)
        return name

    def emit(
        self,
        op: str,
        args: Sequence[ir.Operand],
        node: cst.CSTNode,
        name: str | None,
        kwargs: Sequence[tuple[str, ir.Operand]] = (),
        scalar: bool = False,
    ) -> ir.Var:
        self.check_tuple_operands(op, args, node)
        for a in args if op != "entry" else ():
            if isinstance(a, ir.Var) and a.name in self.settings:
                raise self.mod.error(
                    f"'{a.name}' is a dict of settings: codegen reads its entries"
                    " by constant keys only",
                    node,
                    f"read an entry with {a.name}['key'] and use that value",
                )
        key = (op, tuple(args), tuple(kwargs), scalar)
        if name is None and op in NONDIFF and key in self.pure:
            return ir.Var(self.pure[key])  # np.arange(N) twice: computed once
        target = name or self.fresh(f"{self.display}_{op}")
        if op in NONDIFF:
            self.pure[key] = target
        step = ir.Assign(
            target,
            op,
            tuple(args),
            tuple(kwargs),
            self.mod.step_loc(node, self.line),
            self.source,
            display=target,
            intermediate=name is None,
            scalar=scalar,
        )
        self.steps.append(step)
        self.note_memory(step)
        if op == "const" and args and isinstance(args[0], ir.Const):
            self.const_text[target] = args[0].text
        else:
            self.const_text.pop(target, None)
        held = args[0] if op == "copy" and args else None
        if isinstance(held, ir.Var) and held.name in self.tuple_items:
            self.tuple_items[target] = self.tuple_items[held.name]  # u = t
            if held.name in self.packed_lists:
                self.packed_lists.add(target)
        return ir.Var(target)

    def target_name(self, name: str) -> str:
        """The SSA name for a binding of user name `name`: the name itself the
        first time (so the output reads like the source), a fresh one after."""
        if self.prefix or name in self.env or name in self.bound:
            return self.fresh(name)
        self.bound.add(name)
        return name

    def poison(self, stmt: cst.BaseStatement) -> None:
        """Bind the names a failed statement assigns, so that their later uses
        raise no second error (one mistake, one message)."""

        class Targets(cst.CSTVisitor):
            def __init__(self) -> None:
                self.names: list[str] = []

            def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
                self.names += [n.value for n in names_in(node.target)]

            def visit_AugAssign(self, node: cst.AugAssign) -> None:
                self.names += [n.value for n in names_in(node.target)]

            def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
                self.names += [n.value for n in names_in(node.target)]

        found = Targets()
        stmt.visit(found)
        for name in found.names:
            self.env.setdefault(name, ir.Var(name))

    def name(self, node: cst.Name) -> ir.Operand:
        if node.value in self.env:
            return self.env[node.value]
        if node.value in self.mod.literals:
            if node.value in self.hidden:  # the function binds the name itself
                return ir.Const(self.mod.literals[node.value])
            self.constants[node.value] = self.mod.literals[node.value]
            return ir.Const(node.value)
        if node.value in self.mod.arrays:
            return self.array_constant(node)
        written = self.mod.flags.get(node.value, self.mod.sequences.get(node.value))
        if written is not None:  # USE_BIAS = True, IDX = [0, 0, 2]: as written
            return ir.Const(written)
        if node.value in ("True", "False", "None", "float", "int", "bool"):
            return ir.Const(node.value)  # the builtin types: x.astype(float)
        if node.value in self.mod.bound:
            raise self.mod.error(
                f"the module-level name '{node.value}' is not a constant codegen can "
                f"read: {self.mod.bound[node.value]}",
                node,
                "codegen reads module-level names bound once, to a number or a tuple "
                "of numbers ('SCALE = -1.5'); a name bound twice has whichever value "
                "ran last: bind it once, or pass it as a parameter",
            )
        raise self.mod.error(
            f"name '{node.value}' is not defined in the function",
            node,
            "use parameters, names assigned earlier in the function, or module-level "
            "numeric constants",
        )

    def array_constant(self, node: cst.Name) -> ir.Operand:
        """A module-level array of numbers: defined once at the top of the
        generated module and read through a step of its own, a value without
        gradient whose rank the rules do not assume (a `Const` is a number)."""
        text = self.mod.arrays[node.value]
        if node.value not in self.hidden:
            self.constants[node.value] = text
            text = node.value
        value = self.emit("const", (ir.Const(text),), node, None)
        self.external.add(value.name)  # the module holds it: no in-place update
        return value

    def expr(self, node: cst.BaseExpression, name: str | None = None) -> ir.Operand:
        """Flatten `node`; the outermost step is named `name` when given."""
        handler = getattr(self, f"expr_{type(node).__name__}", None)
        if handler is None:
            raise _unsupported_expression(self.mod, node)
        result: ir.Operand = handler(node, name)
        if name is not None and (not isinstance(result, ir.Var) or result.name != name):
            op = "const" if isinstance(result, ir.Const) else "copy"
            result = self.emit(op, (result,), node, name)
        return result

    def expr_Name(self, node: cst.Name, name: str | None) -> ir.Operand:
        return self.name(node)

    def expr_IfExp(self, node: cst.IfExp, name: str | None) -> ir.Operand:
        return choose(self, node, name)

    def expr_ListComp(self, node: cst.ListComp, name: str | None) -> ir.Operand:
        return comprehension(self, node)

    def expr_GeneratorExp(self, node: cst.GeneratorExp, name: str | None) -> ir.Operand:
        return comprehension(self, node)

    def expr_Integer(self, node: cst.Integer, name: str | None) -> ir.Operand:
        return ir.Const(node.value)

    def expr_Float(self, node: cst.Float, name: str | None) -> ir.Operand:
        return ir.Const(node.value)

    def expr_UnaryOperation(
        self, node: cst.UnaryOperation, name: str | None
    ) -> ir.Operand:
        inner = self.expr(node.expression)
        if isinstance(node.operator, cst.Plus):
            if not isinstance(inner, ir.Var):
                return inner
            copy = self.emit("copy", (inner,), node, name)  # +x: a new array
            self.fresh_memory(copy.name)
            return copy
        if isinstance(node.operator, cst.Minus):
            if isinstance(inner, ir.Const):
                return self.folded(node, f"(-{_paren(inner.text)})")
            return self.emit("neg", (inner,), node, name)
        if isinstance(node.operator, cst.Not):  # a mask: no gradient
            return self.emit("logical_not", (inner,), node, name)
        if isinstance(node.operator, cst.BitInvert):  # ~mask: no gradient
            return self.emit("invert", (inner,), node, name)
        raise _unsupported_expression(self.mod, node)

    def expr_BinaryOperation(
        self, node: cst.BinaryOperation, name: str | None
    ) -> ir.Operand:
        op = BINARY_OPS.get(type(node.operator))
        if op is None:
            raise self.mod.error(
                f"operator '{node.operator._get_token()}' is not supported",  # type: ignore[attr-defined]
                node.operator,
                "supported operators: + - * / ** @ % // (on sizes), & | ^ (on masks)"
                " and unary - and ~",
            )
        left = self.expr(node.left)
        right = self.expr(node.right)
        joined = self.concatenated(op, left, right, node, name)  # hs + [h]
        if joined is not None:
            return joined
        if isinstance(left, ir.Const) and isinstance(right, ir.Const):
            token = self.mod.module.code_for_node(node.operator).strip()
            return self.folded(
                node, f"({_paren(left.text)} {token} {_paren(right.text)})"
            )
        return self.emit(op, (left, right), node, name)

    def reads_loop_name(self, node: cst.CSTNode, tuples: bool = False) -> bool:
        """Whether `node` reads a loop's name (or a module tuple: `tuples`)."""
        tup = set(self.mod.sequences) - set(self.env) if tuples else set()
        return any(
            n.value in self.loop_names or n.value in tup
            for n in m.findall(node, m.Name())
            if isinstance(n, cst.Name)
        )

    def folded(self, node: cst.CSTNode, composed: str) -> ir.Const:
        """A constant expression: at the top level the user's own text (flat, as
        written, so long chains stay shallow); else the text `composed` from the
        operands: in a helper a parameter's name, in a loop its name and a
        module tuple's name mean nothing in the generated module."""
        if self.prefix or self.loop_note or self.reads_loop_name(node, True):
            return ir.Const(composed)  # a loop's name: its item, not its name
        return ir.Const(_paren(self.mod.module.code_for_node(node).strip()))

    def expr_Comparison(self, node: cst.Comparison, name: str | None) -> ir.Operand:
        left = self.expr(node.left)
        tests: list[ir.Operand] = []
        for target in node.comparisons:  # a < b < c: both, b once
            op = COMPARE_OPS.get(type(target.operator))
            if op is None:
                raise self.mod.error(
                    "this comparison is not supported",
                    target.operator,
                    "supported: < <= > >= == !=",
                )
            right = self.expr(target.comparator)
            last = len(node.comparisons) == 1
            tests.append(self.emit(op, (left, right), node, name if last else None))
            left = right
        result = tests[0]
        for k, test in enumerate(tests[1:], start=2):
            final = name if k == len(tests) else None
            result = self.emit("logical_and", (result, test), node, final)
        return result

    def expr_Call(self, node: cst.Call, name: str | None) -> ir.Operand:
        dotted = _dotted(node.func)
        if dotted in RUNTIME_CALLS:  # generated helpers: a backward re-parses
            return self.call_op(RUNTIME_CALLS[dotted], dotted, node, name)
        if dotted in _runtime_helpers() and dotted not in self.env:
            raise self.mod.error(
                f"no adjoint rule for '{dotted}', a runtime helper of generated code",
                node,
                "a second derivative through this helper's op is not supported yet "
                "(see the README's 'Second order')",
            )
        if dotted is not None and dotted in self.mod.defs and dotted not in self.env:
            return self.inline(dotted, node, name)
        head = dotted.split(".")[0] if dotted else ""
        if isinstance(node.func, cst.Attribute) and (
            head in self.env or head not in self.mod.aliases
        ):
            return self.method_call(node, node.func, name)
        canonical = self.mod.canonical(dotted) if dotted else None
        if canonical == "numpy.take":  # an index along an axis
            return self.take(canonical, node, name)
        if canonical in LOWERED and dotted not in self.env:  # np.split, sum, ...
            return LOWERED[canonical](self, canonical, node, name)
        if canonical in SEVERAL or canonical == "numpy.linalg.eig":
            return self.several_outputs(canonical, node, name)
        op = CALLS.get(canonical or "")
        if op is None:
            what = canonical or self.mod.module.code_for_node(node.func)
            raise self.mod.error(
                f"no adjoint rule for '{what}'", node, suggest(what, CALLS)
            )
        return self.call_op(op, canonical or "", node, name)

    def inline(self, helper: str, node: cst.Call, name: str | None) -> ir.Operand:
        raise NotImplementedError  # codegen.front.parse_inline.Builder

    def expr_Attribute(self, node: cst.Attribute, name: str | None) -> ir.Operand:
        dotted = _dotted(node)
        canonical = self.mod.canonical(dotted) if dotted else ""
        if canonical in CONSTANTS:
            return ir.Const(CONSTANTS[canonical])
        lowered = self.named_field(node) or self.array_attribute(node, canonical, name)
        if lowered is None:
            what = canonical or self.mod.module.code_for_node(node).strip()
            raise self.mod.error(
                f"attribute '{what}' is not supported",
                node,
                "supported: .T, .shape, .size, .ndim, np.newaxis and the constants "
                "math.pi, math.e, math.tau, np.pi, np.e, np.inf",
            )
        return lowered


@cache
def _runtime_helpers() -> frozenset[str]:
    """Names of the helpers generated modules define (templates/runtime/)."""
    return frozenset(runtime_helpers())


def _short(canonical: str) -> str:
    return canonical.replace("numpy.", "np.")


def _paren(text: str) -> str:
    """Parenthesise constant text unless it is a plain literal or name."""
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def _unsupported_expression(mod: _Module, node: cst.CSTNode) -> CodegenError:
    text = mod.module.code_for_node(node).strip().splitlines()[0]
    kind = type(node).__name__
    return mod.error(
        f"'{text}' ({kind}) is not supported",
        node,
        "supported: names, numbers, + - * / **, comparisons, and calls to "
        "supported functions",
    )
