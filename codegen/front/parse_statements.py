"""Statements of the forward: assignments (also to subscripts and by
unpacking), augmented assignments and the final ``return`` of one value or
several, flattened by `Statements` into the builder's steps; `build_body`
flattens a whole ``def``, collecting every error."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import libcst as cst
import libcst.matchers as m

from codegen.core import ir
from codegen.core.prims.linalg_decomp import SEVERAL
from codegen.core.rules import OPERATORS
from codegen.errors import CodegenError, CodegenErrors
from codegen.front.builder import BuilderBase
from codegen.front.generated_forms import add_matmul_call, float_dispatch, real_check
from codegen.front.parse_loops import branch, unroll
from codegen.front.signature import (
    names_in,
)
from codegen.front.source import (
    _dotted,
    _Module,
)
from codegen.front.spellings import AUGMENTED_OPS


class Statements(BuilderBase):
    """The builder's statements."""

    def statement(self, stmt: cst.BaseStatement) -> bool:
        """Flatten one statement; returns True for the final return."""
        if float_dispatch(stmt):
            return False  # NumPy's steps below compute the same values
        if isinstance(stmt, cst.For):  # a loop whose items the source names
            unroll(self, stmt)
            return False
        if isinstance(stmt, cst.If):  # a condition the source decides
            branch(self, stmt)
            return False
        if not isinstance(stmt, cst.SimpleStatementLine):
            raise _unsupported_statement(self.mod, stmt)
        self.line = self.mod.lines.get(stmt)
        self.source = self.mod.statement_text(stmt)
        if self.loop_note:  # which iteration of an unrolled loop
            self.source += f"  # {self.loop_note}"
        done = False
        mark = len(self.mod.written_over)
        try:
            for small in stmt.body:
                if done:
                    raise self.mod.error("code after 'return' is not supported", small)
                done = self.small_statement(small)
        finally:
            for name in self.mod.written_over[mark:]:  # see parse_calls.bind
                self.env.pop(name, None)
            del self.mod.written_over[mark:]
        return done

    def small_statement(self, small: cst.BaseSmallStatement) -> bool:
        if isinstance(small, cst.Expr) and isinstance(
            small.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            return False  # docstring or a string comment
        if isinstance(small, cst.Expr) and real_check(small.value):
            return False  # a generated forward's check of its inputs
        if isinstance(small, cst.Expr) and add_matmul_call(small.value):
            self.add_matmul(small)
        elif isinstance(small, cst.Expr) and self.is_call(small.value, "numpy.add.at"):
            self.add_at(small.value)  # type: ignore[arg-type]
        elif isinstance(small, cst.Expr) and m.matches(small.value, _APPEND):
            self.append(small.value, self.target_name)  # type: ignore[arg-type]
        elif isinstance(small, cst.Expr) and m.matches(small.value, _EXTEND):
            call = small.value
            assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
            assert isinstance(call.func.value, cst.Name)
            if not self.extend(
                call.func.value, call.args[0].value, call, self.target_name
            ):
                raise self.mod.error(
                    f"'{call.func.value.value}' is not a list the function builds, "
                    "so it has no extend here",
                    call,
                    "start it as a list written out (hs = []) in the function",
                )
        elif isinstance(small, cst.Assign):
            self.assign(small)
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            self.bind(small.target, small.value, small)
        elif isinstance(small, cst.AugAssign):
            self.aug_assign(small)
        elif isinstance(small, cst.Return):
            return True
        elif isinstance(small, (cst.Pass, cst.Assert)):
            pass  # an assert checks what the caller passes; it computes nothing
        elif isinstance(small, cst.Del):  # frees memory; later uses are errors
            for name in names_in(small.target):
                self.env.pop(name.value, None)
        else:
            raise _unsupported_statement(self.mod, small)
        return False

    def assign(self, node: cst.Assign) -> None:
        first, *others = (t.target for t in node.targets)
        if others and not all(isinstance(t, cst.Name) for t in (first, *others)):
            raise self.mod.error(
                "chained assignment is supported to plain names only",
                node,
                "assign one target per statement: 'a[0] = expr' then 'b = a[0]'",
            )
        self.bind(first, node.value, node)
        for target in others:  # a = b = v: one object, bound left to right
            assert isinstance(first, cst.Name)
            self.bind(target, first, node)

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
        if op == "add" and self.extend(node.target, node.value, node, self.target_name):
            return  # hs += [h]: the list extended
        self.update(node.target, op, lambda: self.expr(node.value), node)

    def update(
        self,
        target: cst.Name,
        op: str,
        right: Callable[[], ir.Operand],
        node: cst.CSTNode,
    ) -> None:
        """``target op= right()``: an in-place update of a plain name, the new
        binding the same array as the old (its `right` read after the check
        that the update is allowed)."""
        self.display = target.value
        left = self.name(target)
        self.in_place(left, node, target.value)
        self.env[target.value] = self.emit(
            op, (left, right()), node, self.target_name(target.value)
        )
        new = self.env[target.value]
        assert isinstance(new, ir.Var)
        self.alias(new.name, (left,))  # the same array

    def is_call(self, node: cst.BaseExpression, canonical: str) -> bool:
        dotted = _dotted(node.func) if isinstance(node, cst.Call) else None
        return dotted is not None and self.mod.canonical(dotted) == canonical

    def add_at(self, node: cst.Call) -> None:
        """``np.add.at(x, index, v)``: x updated in place, v added at index
        with repeated indices adding up; x a plain name, as for ``x += v``."""
        args = node.args
        if len(args) != 3 or any(a.keyword is not None or a.star for a in args):
            raise self.mod.error(
                "np.add.at takes three arguments here", node, "np.add.at(x, index, v)"
            )
        target = args[0].value
        if not isinstance(target, cst.Name):
            raise self.mod.error(
                "np.add.at updates a plain name here",
                target,
                "bind the array to a name first",
            )
        self.display = target.value
        left = self.name(target)
        self.in_place(left, node, target.value)
        index, value = self.expr(args[1].value), self.expr(args[2].value)
        new = self.emit(
            "add_at", (left, index, value), node, self.target_name(target.value)
        )
        self.env[target.value] = new
        self.alias(new.name, (left,))  # the same array

    def add_matmul(self, node: cst.Expr) -> None:
        """Generated code's ``_add_matmul(g, a, b)`` (`codegen.core.add_matmul`):
        ``g += a @ b``, done a block of rows at a time; read as that update
        (second order)."""
        call = node.value
        assert isinstance(call, cst.Call)
        target, a, b = (arg.value for arg in call.args)
        assert isinstance(target, cst.Name)

        def product() -> ir.Operand:
            return self.emit(OPERATORS["@"], (self.expr(a), self.expr(b)), call, None)

        self.update(target, OPERATORS["+"], product, node)

    def unpack(self, target: cst.Tuple | cst.List, value: cst.BaseExpression) -> None:
        """`N, D = X.shape` (values without gradient), or a tuple of values
        (``a, b = x * 2, y``), whose items are bound one by one."""
        names = []
        for el in target.elements:
            if not isinstance(el.value, cst.Name) or isinstance(el, cst.StarredElement):
                raise self.mod.error("only names can be unpacked into", el.value)
            names.append(el.value.value)
        literal = isinstance(value, (cst.Tuple, cst.List)) and not any(
            isinstance(el, cst.StarredElement) for el in value.elements
        )
        if literal and len(value.elements) == len(names):  # type: ignore[attr-defined]
            # ``i, f = a[:, :H], a[:, H:]``: each value named after its target,
            # bound only once all are computed (``a, b = b, a`` swaps)
            done = []
            for name, el in zip(names, value.elements, strict=True):  # type: ignore[attr-defined]
                self.display = name
                item = self.expr(el.value, self.target_name(name))
                if isinstance(item, ir.Const):  # a = 1.0 in a, b = 1.0, x
                    item = self.emit("const", (item,), el.value, self.target_name(name))
                done.append(item)
            self.env.update(zip(names, done, strict=True))
            return
        self.display = names[0]
        called = _dotted(value.func) if isinstance(value, cst.Call) else None
        if called is not None and self.mod.canonical(called) in (
            *SEVERAL,
            "numpy.meshgrid",
        ):  # u, s, vh = np.linalg.svd(x): the steps get the names
            self.unpack_names = tuple(self.target_name(n) for n in names)
        base = self.expr(value)
        self.unpack_names = ()
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
                "unpacking this value is not supported (it could be an array, whose"
                " first axis Python would unpack)",
                node,
                "index it ('a, b = x[0], x[1]'); what unpacks is a shape ('N, D ="
                " X.shape'), a tuple of values, and a call giving several values"
                " (np.split, np.linalg.svd)",
            )

    def returned(self, stmt: cst.BaseStatement) -> ir.Operand:
        assert isinstance(stmt, cst.SimpleStatementLine)
        ret = stmt.body[-1]
        assert isinstance(ret, cst.Return)
        if ret.value is None:
            raise self.mod.error("'return' needs a value", ret)
        if isinstance(ret.value, cst.Tuple):
            if self.prefix:  # a helper: a tuple its caller unpacks or indexes
                return self.pack(self.items(ret.value), ret.value)
            return self.outputs(ret.value)
        self.display = "out"
        if isinstance(ret.value, cst.Name):
            result = self.expr(ret.value)
        else:
            result = self.expr(ret.value, self.fresh("out"))
        if isinstance(result, ir.Var) and result.name in self.tuple_items:
            if self.prefix:  # a helper's tuple: its caller unpacks it
                return result
            # return np.split(x, 3), a list the function built (hs), t = (a, b)
            return self.listed(result, ret.value)
        return result

    def listed(self, result: ir.Var, node: cst.CSTNode) -> ir.Operand:
        """``return np.split(x, 3)``, ``return hs`` (a list the function
        built) or ``return t`` (``t = a, b``): one output per item, returned as
        a tuple (in a helper: the tuple, for its caller)."""
        if self.prefix:
            return result
        names: list[str] = []
        for item in self.tuple_items[result.name]:
            if not isinstance(item, ir.Var) or item.name in names:
                raise self.mod.error(
                    "a returned list or tuple must hold distinct computed values",
                    node,
                    "return each value once, computed: 'return a, b'",
                )
            names.append(item.name)
        self.several = tuple(names)  # one piece: a tuple of one, as a list of one
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
            if operand.name in self.tuple_items:  # its backward would drop it
                raise self.mod.error(
                    "a tuple inside the returned tuple is not supported",
                    el.value,
                    "return every value in the one tuple, 'return a, b, c'; a"
                    " cs231n-style cache need not be returned: f_forward makes one",
                )
            if operand.name in names:
                raise self.mod.error(
                    f"'{self.mod.module.code_for_node(el.value).strip()}' is returned"
                    " twice",
                    el.value,
                    "return each value once",
                )
            names.append(operand.name)
        self.several = tuple(names)  # one: return (v,), a tuple of one
        return ir.Var(names[0])

    # ----- expressions -----


#: ``hs.append(h)``: one argument, by position.
_APPEND = m.Call(
    func=m.Attribute(value=m.Name(), attr=m.Name("append")),
    args=[m.Arg(keyword=None, star="")],
)
_EXTEND = m.Call(
    func=m.Attribute(value=m.Name(), attr=m.Name("extend")),
    args=[m.Arg(keyword=None, star="")],
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
        cst.Raise: "'raise' statements",
        cst.Assert: "'assert' statements",
        cst.Import: "imports inside the function",
        cst.ImportFrom: "imports inside the function",
    }.get(type(node), f"'{type(node).__name__}' statements")
    return mod.error(
        f"{kind} are not supported",
        node,
        "the forward must be straight-line: assignments and one final 'return'",
    )


def build_body(b: Statements, fdef: cst.FunctionDef) -> ir.Operand:
    """Flatten `fdef`'s body into `b`; returns the returned operand."""
    body = fdef.body
    if not isinstance(body, cst.IndentedBlock):
        body_stmts: Sequence[cst.BaseStatement] = [
            cst.SimpleStatementLine(body=body.body)  # type: ignore[arg-type]
        ]
    else:
        body_stmts = body.body
    result: ir.Operand | None = None
    b.mod.map_lines(fdef)
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
    b.line = None  # what follows is in no statement of this body
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
