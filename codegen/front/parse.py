"""Parse pass: Python source -> `ir.Function`, statically, with libcst.

Contract:

* input: the text of one file and the name of a top-level ``def`` in it; the
  file is never imported or executed;
* output: an `ir.Function` whose body lists one primitive step per operation,
  in evaluation order, each carrying the location and the text of the user's
  statement; nested expressions become named intermediates (``L_sub`` for the
  subtraction inside ``L = ...``), re-bound names become SSA versions
  (``x_1``) and calls to straight-line helpers of the same file are inlined;
* errors: every unsupported construct in the function raises, together, as
  `CodegenErrors`, each located at its node with a hint naming what is
  supported instead.

The tables below map source constructs to rule-table keys; an op this pass can
emit is always in `codegen.core.rules.RULES` (the table tests check it). Reading the
file (imports, top-level names, syntax errors) is `codegen/source.py`; NumPy
constructs are `codegen/parse_arrays.py` and `codegen/parse_windows.py`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cache

import libcst as cst

from codegen.core import ir
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.rules import (
    NONDIFF,
    OPERATORS,
    RULES,
    RUNTIME_CALLS,
    bind,
    runtime_helpers,
)
from codegen.errors import CodegenError, CodegenErrors
from codegen.front.parse_aliases import Aliases
from codegen.front.parse_arrays import NUMPY_CALLS, ArrayExpressions, check_dots
from codegen.front.parse_stacking import LOWERED
from codegen.front.source import (  # noqa: F401 - list_functions is part of this module's API
    MAX_NESTING,
    _check_nesting,
    _default_function,
    _dotted,
    _is_int_annotation,
    _load_module,
    _Module,
    _recursion_room,
    _user_names,
    list_functions,
)

# Operator spellings: libcst node -> symbol; the symbol's primitive comes
# from the declarations (`codegen.core.rules.OPERATORS`).
_BINARY_SYMBOLS: dict[type[cst.BaseBinaryOp], str] = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.Power: "**",
    cst.MatrixMultiply: "@",
    cst.FloorDivide: "//",  # integer sizes only: no gradient
    cst.Modulo: "%",
}
_AUGMENTED_SYMBOLS: dict[type[cst.BaseAugOp], str] = {
    cst.AddAssign: "+",
    cst.SubtractAssign: "-",
    cst.MultiplyAssign: "*",
    cst.DivideAssign: "/",
    cst.PowerAssign: "**",
    cst.MatrixMultiplyAssign: "@",
    cst.ModuloAssign: "%",
}
_COMPARE_SYMBOLS: dict[type[cst.BaseCompOp], str] = {
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.Equal: "==",
    cst.NotEqual: "!=",
}
BINARY_OPS = {k: OPERATORS[s] for k, s in _BINARY_SYMBOLS.items()}
AUGMENTED_OPS = {k: OPERATORS[s] for k, s in _AUGMENTED_SYMBOLS.items()}
COMPARE_OPS = {k: OPERATORS[s] for k, s in _COMPARE_SYMBOLS.items()}

#: Calls by canonical dotted name (after resolving imports) -> op.
CALLS: dict[str, str] = {**DECLARED_CALLS, **NUMPY_CALLS}

#: Module attributes that are constants.
CONSTANTS: dict[str, str] = {
    "math.pi": "math.pi",
    "math.e": "math.e",
    "math.inf": "math.inf",
}

_SIGMOID_OPS = ("neg", "exp", "add", "div")


class _Builder(Aliases, ArrayExpressions):
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
        self.dots: list[tuple[str, cst.CSTNode]] = []
        self.tuple_items: dict[str, tuple[ir.Operand, ...]] = {}
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
        #: The functions being inlined, outermost first (recursion, depth).
        self.chain: tuple[str, ...] = ()
        self.display = ""

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
    ) -> ir.Var:
        self.check_tuple_operands(op, args, node)
        key = (op, tuple(args), tuple(kwargs))
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
            self.mod.loc(node),
            self.source,
            display=target,
            intermediate=name is None,
        )
        self.steps.append(step)
        self.note_memory(step)
        held = args[0] if op == "copy" and args else None
        if isinstance(held, ir.Var) and held.name in self.tuple_items:
            self.tuple_items[target] = self.tuple_items[held.name]  # u = t
        return ir.Var(target)

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
                self.names += [n.value for n in _names_in(node.target)]

            def visit_AugAssign(self, node: cst.AugAssign) -> None:
                self.names += [n.value for n in _names_in(node.target)]

            def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
                self.names += [n.value for n in _names_in(node.target)]

        found = Targets()
        stmt.visit(found)
        for name in found.names:
            self.env.setdefault(name, ir.Var(name))

    # ----- statements -----

    def statement(self, stmt: cst.BaseStatement) -> bool:
        """Flatten one statement; returns True for the final return."""
        if not isinstance(stmt, cst.SimpleStatementLine):
            raise _unsupported_statement(self.mod, stmt)
        self.source = self.mod.module.code_for_node(stmt).strip()
        done = False
        for small in stmt.body:
            if done:
                raise self.mod.error("code after 'return' is not supported", small)
            done = self.small_statement(small)
        return done

    def small_statement(self, small: cst.BaseSmallStatement) -> bool:
        if isinstance(small, cst.Expr) and isinstance(
            small.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return False  # docstring or a string comment
        if isinstance(small, cst.Assign):
            self.assign(small)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.bind(small.target, small.value, small)
        elif isinstance(small, cst.AugAssign):
            self.aug_assign(small)
        elif isinstance(small, cst.Return):
            return True
        elif isinstance(small, cst.Pass):
            pass
        elif isinstance(small, cst.Del):  # frees memory; later uses are errors
            for name in _names_in(small.target):
                self.env.pop(name.value, None)
        else:
            raise _unsupported_statement(self.mod, small)
        return False

    def assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1:
            raise self.mod.error(
                "chained assignment is not supported",
                node,
                "assign one name per statement: 'a = expr' then 'b = a'",
            )
        self.bind(node.targets[0].target, node.value, node)

    def bind(
        self, target: cst.BaseExpression, value: cst.BaseExpression, node: cst.CSTNode
    ) -> None:
        if isinstance(target, (cst.Tuple, cst.List)):
            self.unpack(target, value)
            return
        if isinstance(target, cst.Subscript):
            self.display = _dotted(target.value) or "item"
            self.set_item(target, value, node, self.target_name)
            return
        if not isinstance(target, cst.Name):
            raise self.mod.error(
                f"assignment to '{self.mod.module.code_for_node(target)}' is not supported",
                target,
                "assign to a plain name; in-place updates of arrays and attributes "
                "are not differentiable here",
            )
        self.display = target.value
        self.env[target.value] = self.expr(value, self.target_name(target.value))

    def aug_assign(self, node: cst.AugAssign) -> None:
        op = AUGMENTED_OPS.get(type(node.operator))
        if op is None:
            raise self.mod.error(
                f"augmented assignment '{node.operator.__class__.__name__}' is not supported",
                node.operator,
                "supported: += -= *= /= **=",
            )
        if isinstance(node.target, cst.Subscript):
            self.display = _dotted(node.target.value) or "item"
            self.set_item(node.target, node.value, node, self.target_name, op)
            return
        if not isinstance(node.target, cst.Name):
            raise self.mod.error(
                "augmented assignment to an attribute is not supported",
                node.target,
                "write 'a = a + b' with a plain name",
            )
        self.display = node.target.value
        left = self.name(node.target)
        self.in_place(left, node, node.target.value)
        right = self.expr(node.value)
        self.env[node.target.value] = self.emit(
            op, (left, right), node, self.target_name(node.target.value)
        )
        new = self.env[node.target.value]
        assert isinstance(new, ir.Var)
        self.alias(new.name, (left,))  # the same array

    def unpack(self, target: cst.Tuple | cst.List, value: cst.BaseExpression) -> None:
        """`N, D = X.shape` (values without gradient), or a tuple of values
        (``a, b = x * 2, y``), whose items are bound one by one."""
        names = []
        for el in target.elements:
            if not isinstance(el.value, cst.Name) or isinstance(el, cst.StarredElement):
                raise self.mod.error("only names can be unpacked into", el.value)
            names.append(el.value.value)
        self.display = names[0]
        base = self.expr(value)
        if isinstance(base, ir.Var) and base.name in self.tuple_items:
            items = self.tuple_items[base.name]
            if len(items) != len(names):
                raise self.mod.error(
                    f"cannot unpack {len(items)} values into {len(names)} names",
                    target,
                )
            for name, item in zip(names, items, strict=True):
                self.env[name] = item
                if isinstance(item, ir.Const):  # a = 1.0 in a, b = 1.0, x
                    self.env[name] = self.emit(
                        "const", (item,), target, self.target_name(name)
                    )
            return
        for i, name in enumerate(names):
            var = self.emit(
                "item", (base, ir.Const(str(i))), target, self.target_name(name)
            )
            self.env[name] = var
        self.check_unpack(base, value)

    def check_unpack(self, base: ir.Operand, node: cst.CSTNode) -> None:
        """Refuse unpacking of differentiable values (no gradient through tuples)."""
        step = next(
            (
                s
                for s in self.steps
                if isinstance(base, ir.Var) and s.target == base.name
            ),
            None,
        )
        if step is None or step.op not in ("shape", "shape_of"):
            raise self.mod.error(
                "tuple unpacking is only supported for shapes",
                node,
                "unpack shapes ('N, D = X.shape'); assign other values one by one",
            )

    def returned(self, stmt: cst.BaseStatement) -> ir.Operand:
        assert isinstance(stmt, cst.SimpleStatementLine)
        ret = stmt.body[-1]
        assert isinstance(ret, cst.Return)
        if ret.value is None:
            raise self.mod.error("'return' needs a value", ret)
        if isinstance(ret.value, cst.Tuple):
            if self.prefix:  # a helper: its caller takes one value
                raise self.mod.error(
                    "a helper returning several values is not supported",
                    ret.value,
                    "return one value from a helper; call one helper per value",
                )
            return self.outputs(ret.value)
        self.display = "out"
        if isinstance(ret.value, cst.Name):
            result = self.expr(ret.value)
        else:
            result = self.expr(ret.value, self.fresh("out"))
        if isinstance(result, ir.Var) and result.name in self.tuple_items:
            if isinstance(ret.value, cst.Call):  # return np.split(x, 3)
                return self.listed(result, ret.value)
            raise self.mod.error(
                "returning a tuple bound to a name is not supported",
                ret.value,
                "list the outputs in the return: 'return a, b'",
            )
        return result

    def listed(self, result: ir.Var, node: cst.CSTNode) -> ir.Operand:
        """``return np.split(x, 3)``: a call giving a list of arrays returns
        one output per piece (in a helper: the tuple, for its caller)."""
        if self.prefix:
            return result
        names: list[str] = []
        for item in self.tuple_items[result.name]:
            if not isinstance(item, ir.Var) or item.name in names:
                raise self.mod.error(
                    "a returned list must hold distinct computed arrays",
                    node,
                    "return the arrays as 'return a, b'",
                )
            names.append(item.name)
        if len(names) > 1:
            self.several = tuple(names)
        return ir.Var(names[0])

    def outputs(self, value: cst.Tuple) -> ir.Operand:
        """``return a, b``: the function has several outputs (cs231n's
        ``return next_h, next_c``); each is a name, bound once, returned once."""
        names: list[str] = []
        for k, el in enumerate(value.elements):
            self.display = f"out{k}"
            operand = (
                self.expr(el.value)
                if isinstance(el.value, cst.Name)
                else self.expr(el.value, self.fresh(f"out{k}"))
            )
            if not isinstance(operand, ir.Var):
                raise self.mod.error(
                    "an output is a constant: nothing to differentiate", el.value
                )
            if operand.name in names:
                raise self.mod.error(
                    f"'{operand.name}' is returned twice",
                    el.value,
                    "return each value once",
                )
            names.append(operand.name)
        if len(names) == 1:
            return ir.Var(names[0])
        self.several = tuple(names)
        return ir.Var(names[0])

    # ----- expressions -----

    def name(self, node: cst.Name) -> ir.Operand:
        if node.value in self.env:
            return self.env[node.value]
        if node.value in self.mod.literals:
            self.constants[node.value] = self.mod.literals[node.value]
            return ir.Const(node.value)
        if node.value in ("True", "False", "None"):
            return ir.Const(node.value)
        if node.value in self.mod.bound:
            raise self.mod.error(
                f"the module-level name '{node.value}' is not a constant codegen can "
                f"read: {self.mod.bound[node.value]}",
                node,
                "codegen reads module-level names bound once, to a number literal "
                "('SCALE = -1.5'); a name bound twice has whichever value ran last: "
                "bind it once, or pass it as a parameter",
            )
        raise self.mod.error(
            f"name '{node.value}' is not defined in the function",
            node,
            "use parameters, names assigned earlier in the function, or module-level "
            "numeric constants",
        )

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

    def expr_Integer(self, node: cst.Integer, name: str | None) -> ir.Operand:
        return ir.Const(node.value)

    def expr_Float(self, node: cst.Float, name: str | None) -> ir.Operand:
        return ir.Const(node.value)

    def expr_UnaryOperation(
        self, node: cst.UnaryOperation, name: str | None
    ) -> ir.Operand:
        inner = self.expr(node.expression)
        if isinstance(node.operator, cst.Plus):
            return inner
        if isinstance(node.operator, cst.Minus):
            if isinstance(inner, ir.Const):
                return self.folded(node, f"(-{_paren(inner.text)})")
            return self.emit("neg", (inner,), node, name)
        raise _unsupported_expression(self.mod, node)

    def expr_BinaryOperation(
        self, node: cst.BinaryOperation, name: str | None
    ) -> ir.Operand:
        op = BINARY_OPS.get(type(node.operator))
        if op is None:
            raise self.mod.error(
                f"operator '{node.operator._get_token()}' is not supported",  # type: ignore[attr-defined]
                node.operator,
                "supported operators: + - * / ** @ % // (on sizes) and unary -",
            )
        left = self.expr(node.left)
        right = self.expr(node.right)
        if isinstance(left, ir.Const) and isinstance(right, ir.Const):
            token = self.mod.module.code_for_node(node.operator).strip()
            return self.folded(
                node, f"({_paren(left.text)} {token} {_paren(right.text)})"
            )
        return self.emit(op, (left, right), node, name)

    def folded(self, node: cst.CSTNode, composed: str) -> ir.Const:
        """A constant expression: at the top level the user's own text (flat, as
        written, so long chains stay shallow); inside an inlined helper the text
        `composed` from the operands, since there a parameter name stands for
        the caller's constant and means nothing in the generated module."""
        if self.prefix:
            return ir.Const(composed)
        return ir.Const(_paren(self.mod.module.code_for_node(node).strip()))

    def expr_Comparison(self, node: cst.Comparison, name: str | None) -> ir.Operand:
        if len(node.comparisons) != 1:
            raise self.mod.error("chained comparisons are not supported", node)
        target = node.comparisons[0]
        op = COMPARE_OPS.get(type(target.operator))
        if op is None:
            raise self.mod.error(
                "this comparison is not supported",
                target.operator,
                "supported: < <= > >= == !=",
            )
        left = self.expr(node.left)
        right = self.expr(target.comparator)
        return self.emit(op, (left, right), node, name)

    def expr_Call(self, node: cst.Call, name: str | None) -> ir.Operand:
        dotted = _dotted(node.func)
        if (
            dotted in RUNTIME_CALLS
        ):  # helpers of generated modules: a backward re-parses
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
        if canonical in LOWERED:  # np.split, np.vstack, np.array, ...
            return LOWERED[canonical](self, canonical, node, name)
        op = CALLS.get(canonical or "")
        if op is None:
            what = canonical or self.mod.module.code_for_node(node.func)
            raise self.mod.error(
                f"no adjoint rule for '{what}'",
                node,
                "supported calls: "
                + ", ".join(sorted(_short(c) for c in CALLS))
                + ", and straight-line functions defined in the same file",
            )
        return self.call_op(op, canonical or "", node, name)

    def inline(self, helper: str, node: cst.Call, name: str | None) -> ir.Operand:
        """Inline a same-file straight-line helper (or recognise the sigmoid)."""
        if helper in self.chain:
            path = " -> ".join((*self.chain[self.chain.index(helper) :], helper))
            raise self.mod.error(
                f"'{helper}' calls itself ({path}): recursion is not supported", node
            )
        if len(self.chain) > MAX_HELPER_DEPTH:
            raise self.mod.error(
                f"helper calls nest more than {MAX_HELPER_DEPTH} deep"
                f" ({self.chain[0]} -> ... -> {self.chain[-1]} -> {helper})",
                node,
                f"at most {MAX_HELPER_DEPTH} helpers may call one another in a chain;"
                " merge some of them",
            )
        if self.mod.defs[helper].asynchronous is not None:
            raise self.mod.error(
                f"'{helper}' is an async function", node, "call plain functions only"
            )
        for arg in node.args:
            if arg.star or arg.keyword is not None:
                raise self.mod.error("helper calls take positional arguments only", arg)
        args = [self.expr(a.value) for a in node.args]
        if helper in self.mod.rebound:
            raise self.mod.error(
                f"the helper '{helper}' is bound more than once in the file",
                node,
                "give each top-level function and value its own name",
            )
        fdef = self.mod.defs[helper]
        inner = _Builder(self.mod, prefix=f"{helper}_", depth=self.depth + 1)
        inner.chain = (*self.chain, helper)
        inner.taken = self.taken
        inner.constants = self.constants
        inner.dots = self.dots
        inner.tuple_items = self.tuple_items
        inner.memory, inner.read_only, inner.parent = self.memory, self.read_only, self
        params = _params(self.mod, fdef)
        if len(params) != len(args):
            raise self.mod.error(
                f"'{helper}' takes {len(params)} argument(s), got {len(args)}", node
            )
        for p, a in zip(params, args, strict=True):
            inner.env[p.name] = a
        result = _build_body(inner, fdef)
        if _is_sigmoid(inner.steps, args):
            for s in inner.steps:
                self.taken.discard(s.target)
            return self.emit("sigmoid", args, node, name)
        site = self.source
        for s in inner.steps:
            self.steps.append(
                replace(s, source=f"{s.source}  (in {helper}, called as: {site})")
            )
        return result

    def expr_Attribute(self, node: cst.Attribute, name: str | None) -> ir.Operand:
        dotted = _dotted(node)
        canonical = self.mod.canonical(dotted) if dotted else ""
        if canonical in CONSTANTS:
            return ir.Const(CONSTANTS[canonical])
        lowered = self.array_attribute(node, canonical, name)
        if lowered is None:
            raise self.mod.error(
                f"attribute '{canonical}' is not supported",
                node,
                "supported: .T, .shape, .size, .ndim, np.newaxis and the constants "
                "math.pi, math.e, np.pi, np.e, np.inf",
            )
        return lowered


@cache
def _runtime_helpers() -> frozenset[str]:
    """Names of the helpers generated modules define (templates/runtime/)."""
    return frozenset(runtime_helpers())


def _short(canonical: str) -> str:
    return canonical.replace("numpy.", "np.")


def _names_in(node: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for el in node.elements for n in _names_in(el.value)]
    return []


def _paren(text: str) -> str:
    """Parenthesise constant text unless it is a plain literal or name."""
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def _is_sigmoid(steps: Sequence[ir.Assign], args: Sequence[ir.Operand]) -> bool:
    """True when a helper computes 1 / (1 + exp(-x)) of its single argument."""
    if len(args) != 1 or tuple(s.op for s in steps) != _SIGMOID_OPS:
        return False
    neg, exp, add, div = steps
    ones = {"1", "1.0", "1."}

    def is_one(o: ir.Operand) -> bool:
        return isinstance(o, ir.Const) and o.text in ones

    def is_var(o: ir.Operand, s: ir.Assign) -> bool:
        return isinstance(o, ir.Var) and o.name == s.target

    return (
        neg.args == (args[0],)
        and exp.args[0] == ir.Var(neg.target)
        and sorted((is_one(a), is_var(a, exp)) for a in add.args)
        == [(False, True), (True, False)]
        and is_one(div.args[0])
        and is_var(div.args[1], add)
    )


def _unsupported_statement(mod: _Module, node: cst.CSTNode) -> CodegenError:
    kind = {
        cst.If: "'if' statements",
        cst.For: "'for' loops",
        cst.While: "'while' loops",
        cst.With: "'with' blocks",
        cst.Try: "'try' blocks",
        cst.FunctionDef: "nested functions",
        cst.ClassDef: "class definitions",
        cst.Global: "'global' statements",
        cst.Nonlocal: "'nonlocal' statements",
        cst.Del: "'del' statements",
        cst.Expr: "expression statements",
        cst.Raise: "'raise'",
        cst.Assert: "'assert'",
        cst.Import: "imports inside the function",
        cst.ImportFrom: "imports inside the function",
    }.get(type(node), f"'{type(node).__name__}' statements")
    return mod.error(
        f"{kind} are not supported",
        node,
        "the forward must be straight-line: assignments and one final 'return'",
    )


def _unsupported_expression(mod: _Module, node: cst.CSTNode) -> CodegenError:
    text = mod.module.code_for_node(node).strip().splitlines()[0]
    kind = type(node).__name__
    return mod.error(
        f"'{text}' ({kind}) is not supported",
        node,
        "supported: names, numbers, + - * / **, comparisons, and calls to "
        "supported functions",
    )


def _params(mod: _Module, fdef: cst.FunctionDef) -> list[ir.Param]:
    p = fdef.params
    for bad in (p.star_arg, p.star_kwarg):
        if isinstance(bad, cst.Param):
            raise mod.error(
                "star-parameters are not supported", bad, "list every parameter"
            )
    if p.kwonly_params or p.posonly_params:
        node = (p.kwonly_params or p.posonly_params)[0]
        raise mod.error(
            "keyword-only and positional-only parameters are not supported", node
        )
    out = []
    for param in p.params:
        ann = (
            mod.module.code_for_node(param.annotation.annotation).strip()
            if param.annotation
            else None
        )
        default = (
            mod.module.code_for_node(param.default).strip() if param.default else None
        )
        out.append(ir.Param(param.name.value, ann, _is_int_annotation(ann), default))
    return out


def _build_body(b: _Builder, fdef: cst.FunctionDef) -> ir.Operand:
    """Flatten `fdef`'s body into `b`; returns the returned operand."""
    body = fdef.body
    if not isinstance(body, cst.IndentedBlock):
        body_stmts: Sequence[cst.BaseStatement] = [
            cst.SimpleStatementLine(body=body.body)  # type: ignore[arg-type]
        ]
    else:
        body_stmts = body.body
    result: ir.Operand | None = None
    for i, stmt in enumerate(body_stmts):
        try:
            if b.statement(stmt):
                if i != len(body_stmts) - 1:
                    raise b.mod.error(
                        "code after 'return' is not supported", body_stmts[i + 1]
                    )
                result = b.returned(stmt)
        except CodegenErrors as errs:
            b.errors.extend(errs.errors)
            b.poison(stmt)
        except CodegenError as err:
            b.errors.append(err)
            b.poison(stmt)
        except RecursionError:
            b.errors.append(b.mod.error("expression is nested too deeply", stmt))
            b.poison(stmt)
    if result is None and not b.errors:
        raise b.mod.error(
            f"function '{fdef.name.value}' has no final 'return'",
            fdef.name,
            "end the function with 'return <value>'",
        )
    if b.errors:
        raise CodegenErrors(b.errors)
    assert result is not None
    return result


#: Deepest chain of helpers calling one another that is inlined.
MAX_HELPER_DEPTH = 20
#: Module names generated code uses: a local of that name would hide them.
_MODULE_NAMES = frozenset({"np", "math"})


def _runtime_names() -> set[str]:
    from codegen.core.rules import templates_dir

    return {p.stem for p in (templates_dir() / "runtime").glob("_*.j2")}


def _checked_params(mod: _Module, fdef: cst.FunctionDef) -> list[ir.Param]:
    """`_params`, refusing what the generated signature cannot repeat safely:
    async functions and defaults that are not literals.
    A default naming a module constant gets the constant's value."""
    if fdef.asynchronous is not None:
        raise mod.error(
            "async functions are not supported",
            fdef.asynchronous,
            "differentiate a plain 'def'",
        )
    params = _params(mod, fdef)  # a parameter named twice: source.py refuses
    return [
        replace(p, default=_default_text(mod, node.default)) if node.default else p
        for p, node in zip(params, fdef.params.params, strict=True)
    ]


_DEFAULT_HINT = (
    "defaults may be numbers, strings, True, False, None, tuples of them,"
    " + - * / // % on numbers, and module constants bound to numbers"
)


def _default_text(mod: _Module, node: cst.BaseExpression) -> str:
    """The default's source with module constants replaced by their values;
    a located error for anything that would compute or look up at import."""
    numeric = (cst.Integer, cst.Float, cst.Imaginary)
    arith = (
        cst.Add,
        cst.Subtract,
        cst.Multiply,
        cst.Divide,
        cst.FloorDivide,
        cst.Modulo,
    )

    def number(n: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(n, numeric):
            return n
        if isinstance(n, cst.Name) and n.value in mod.literals:
            return cst.parse_expression(mod.literals[n.value])
        if isinstance(n, cst.UnaryOperation) and isinstance(
            n.operator, (cst.Minus, cst.Plus)
        ):
            inner = number(n.expression)
            return inner and n.with_changes(expression=inner)
        if isinstance(n, cst.BinaryOperation) and isinstance(n.operator, arith):
            left, right = number(n.left), number(n.right)
            return left and right and n.with_changes(left=left, right=right)
        return None

    def value(n: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(n, cst.SimpleString) or (
            isinstance(n, cst.Name) and n.value in ("True", "False", "None")
        ):
            return n
        if isinstance(n, cst.Tuple):
            elements = [value(e.value) for e in n.elements]
            if all(elements) and not any(
                isinstance(e, cst.StarredElement) for e in n.elements
            ):
                return n.with_changes(
                    elements=[
                        e.with_changes(value=v)
                        for e, v in zip(n.elements, elements, strict=True)
                    ]
                )
            return None
        return number(n)

    done = value(node)
    if done is None:
        text = mod.module.code_for_node(node).strip().splitlines()[0]
        raise mod.error(f"the default '{text}' is not supported", node, _DEFAULT_HINT)
    return " ".join(mod.module.code_for_node(done).split())


def _check_module_names(
    mod: _Module, fdef: cst.FunctionDef, name: str, constants: dict[str, str]
) -> None:
    """Refuse module constants the generated module's own definitions would
    hide: its three functions and codegen's runtime helpers."""
    taken = {f"{name}_forward", f"{name}_backward", f"{name}_value_and_grad"}
    clash = sorted(set(constants) & (taken | _runtime_names()))
    if not clash:
        return

    class Find(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: cst.Name | None = None

        def visit_Name(self, node: cst.Name) -> None:
            if self.found is None and node.value == clash[0]:
                self.found = node

    finder = Find()
    fdef.visit(finder)
    raise mod.error(
        f"the module constant '{clash[0]}' has the name of a function the"
        " generated module defines",
        finder.found or fdef.name,
        "rename the constant",
    )


def _check_reserved(mod: _Module, fdef: cst.FunctionDef) -> None:
    """Refuse binding a name that generated modules define as a runtime helper
    (``_unbroadcast``) or use for a module (``np``, ``math``): a parameter or
    variable so named would shadow it."""
    reserved = _runtime_names() | _MODULE_NAMES
    clash: list[tuple[str, ir.Loc]] = []
    tree = mod.ast_def(fdef.name.value)
    if tree is not None:  # names bound, not calls: a backward calls them
        for node in ast.walk(tree):
            if isinstance(node, ast.arg) and node.arg in reserved:
                clash.append((node.arg, mod.ast_loc(node, len(node.arg))))
            elif (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Store)
                and node.id in reserved
            ):
                clash.append((node.id, mod.ast_loc(node, len(node.id))))
        clash.sort(key=lambda c: (c[1].line, c[1].col))
    else:
        clash = [
            (n.value, mod.loc(n)) for n in _bound_names(fdef) if n.value in reserved
        ]
    if clash:
        name, loc = clash[0]
        what = (
            "for modules (generated modules import numpy as np and math)"
            if name in _MODULE_NAMES
            else "for codegen's runtime helpers"
        )
        raise CodegenError(
            f"the name '{name}' is reserved {what}",
            loc,
            "rename it",
            mod.filename,
            mod.source,
        )


def _bound_names(fdef: cst.FunctionDef) -> list[cst.Name]:
    """Names `fdef` binds (parameters, assignment targets), by libcst."""
    names: list[cst.Name] = []

    class Find(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            names.append(node.name)

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            names.extend(_names_in(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            names.extend(_names_in(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            names.extend(_names_in(node.target))

    fdef.visit(Find())
    return names


def parse(
    source: str, filename: str = "<string>", func: str | None = None
) -> ir.Function:
    """Parse `func` (or the file's only public function) from `source`.

    Raises:
        CodegenError: the source has a syntax error or `func` is missing.
        CodegenErrors: one or more constructs in the function are unsupported.
    """
    with _recursion_room():
        return _parse(source, filename, func)


def _parse(source: str, filename: str, func: str | None) -> ir.Function:
    mod = _load_module(source, filename)
    name = func or _default_function(mod)
    fdef = mod.defs.get(name)
    if fdef is None:
        known = ", ".join(sorted(mod.defs)) or "none"
        raise CodegenError(
            f"no function '{name}' at the top level of {filename}",
            None,
            f"functions defined there: {known}",
            filename,
            source,
        )
    for deco in fdef.decorators:
        raise mod.error("decorated functions are not supported", deco)
    if name in mod.rebound:
        raise mod.error(
            f"the name '{name}' is bound more than once in the file",
            fdef.name,
            "give each top-level function and value its own name",
        )
    _check_reserved(mod, fdef)
    b = _Builder(mod)
    b.chain = (name,)
    params = _checked_params(mod, fdef)
    b.taken = _user_names(fdef, mod) | {p.name for p in params}
    for p in params:
        b.env[p.name] = ir.Var(p.name)
    b.params = tuple(params)  # their annotated ranks (np.gradient(x))
    b.external = {p.name for p in params}  # the caller holds them
    result = _build_body(b, fdef)
    if isinstance(result, ir.Const):
        raise mod.error(
            "the function returns a constant: nothing to differentiate", fdef.name
        )
    _check_module_names(mod, fdef, name, b.constants)
    doc = fdef.get_docstring()
    used = {a.op for a in b.steps}
    array = any(v.split(".")[0] == "numpy" for v in mod.aliases.values())
    fn = ir.Function(
        name=name,
        params=tuple(params),
        body=tuple(b.steps),
        result=result.name,
        outputs=b.several,
        text=source,
        imports=tuple(mod.imports),
        doc=doc,
        filename=filename,
        user_names=frozenset(b.taken),
        array=array or bool(used & _ARRAY_ONLY),
        constants=tuple(sorted(b.constants.items())),
    )
    check_dots(mod, fn, b.dots)
    return fn


_ARRAY_ONLY: set[str] = set()
