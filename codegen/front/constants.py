"""Module-level constants: the names a file binds exactly once, at import,
to a number, a tuple or list of numbers, an np.array of numbers, or a flag,
read from its `ast` (the file is never run). Any other binding, a second
one, or a change in place (``W[0] = 4.0``, ``W.append(1.0)``) makes a name
no constant: codegen cannot tell which value a call would see."""

from __future__ import annotations

import ast
import warnings
from typing import Any

from codegen.core import ir
from codegen.front.computed import computed
from codegen.front.syntax import array_literal, numbers_literal, walked

#: Methods that change a list or an array in place.
_MUTATORS = frozenset(
    {"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse"}
    | {"fill", "resize", "itemset", "put", "partition", "setflags"}
)


class _TopLevelBindings(ast.NodeVisitor):
    """Every binding of a name in the module's own scope, in source order: the
    statements that run at import (also inside ``if``/``for``/``try`` blocks),
    imports, ``def`` and ``class`` names, and ``global`` declarations in
    functions (which may re-bind the name when called). Names are NFKC
    normalised by `ast`, as Python reads them."""

    def __init__(self) -> None:
        #: (name, line, the number literal it is bound to, or None)
        self.bindings: list[tuple[str, int, ast.expr | None]] = []
        #: (name, line) -> the expression a plain assignment binds it to
        self.values: dict[tuple[str, int], ast.expr] = {}
        #: lines of ``from m import *`` (may bind any name)
        self.star_imports: list[int] = []
        #: the names numpy is imported as (``import numpy as np``)
        self.numpy: set[str] = set()
        #: name -> the first line reading it at import (not inside a function)
        self.reads: dict[str, int] = {}

    def bind(self, name: str, node: ast.AST, value: ast.expr | None = None) -> None:
        flag = isinstance(value, ast.Constant) and isinstance(value.value, bool)
        constant = value is not None and (
            numbers_literal(value) or array_literal(value, self.numpy) or flag
        )
        literal = value if constant else None
        self.bindings.append((name, getattr(node, "lineno", 0), literal))
        if value is not None:
            self.values[(name, getattr(node, "lineno", 0))] = value

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        if len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name):
                self.bind(target.id, target, value)
                return
            if (  # S, T = 5.0, 1.0
                isinstance(target, (ast.Tuple, ast.List))
                and isinstance(value, (ast.Tuple, ast.List))
                and len(target.elts) == len(value.elts)
                and all(isinstance(t, ast.Name) for t in target.elts)
            ):
                for t, v in zip(target.elts, value.elts, strict=True):
                    self.bind(t.id, t, v)  # type: ignore[attr-defined]
                return
        for target in node.targets:
            self.visit(target)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.bind(node.id, node)
        else:  # B = A, np.copyto(A, ...): an array read at import may change
            self.reads.setdefault(node.id, getattr(node, "lineno", 0))

    def visit_Subscript(self, node: ast.Subscript | ast.Attribute) -> None:
        """``W[0] = 4.0`` (or ``W.attr = ...``) at module level changes W: no
        longer the constant it was bound to."""
        base = node.value
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            base = base.value
        if isinstance(node.ctx, (ast.Store, ast.Del)) and isinstance(base, ast.Name):
            self.bind(base.id, node)
        self.generic_visit(node)

    visit_Attribute = visit_Subscript

    def visit_Expr(self, node: ast.Expr) -> None:
        """``W.append(1.0)``, ``W.sort()``, ``A.fill(0.0)`` change W in place."""
        call = node.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.attr in _MUTATORS
            and call.func.value.id not in self.numpy
        ):
            self.bind(call.func.value.id, node)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:  # 'S: float' alone binds nothing
            self.visit(node.value)
            if isinstance(node.target, ast.Name):
                self.bind(node.target.id, node.target, node.value)
            else:
                self.visit(node.target)

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                self.star_imports.append(node.lineno)
            else:
                self.bind(alias.asname or alias.name.split(".")[0], node)
                if isinstance(node, ast.Import) and alias.name == "numpy":
                    self.numpy.add(alias.asname or "numpy")

    visit_ImportFrom = visit_Import

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.bind(node.name, node)
        for inner in walked(node):  # its body runs later, in its own scope
            if isinstance(inner, ast.Global):
                for name in inner.names:
                    self.bind(name, inner)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.visit_FunctionDef(node)  # type: ignore[arg-type]

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def visit_comprehension(self, node: ast.comprehension) -> None:
        # the loop variable is local to the comprehension; ':=' inside is not
        self.visit(node.iter)
        for cond in node.ifs:
            self.visit(cond)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.bind(node.name, node)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.bind(node.name, node)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.bind(node.name, node)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        if node.rest:
            self.bind(node.rest, node)
        self.generic_visit(node)


def scan_constants(mod: Any) -> None:
    """Fill `mod.literals` (of a `codegen.front.source._Module`) with the names the file binds exactly once, to a
    number literal, and `mod.bound` with every other top-level name. A name
    bound twice (``S = 2.0; S += 1.0``, ``if c: S = 5.0``) has the value of
    whichever binding ran last, which reading the file cannot tell."""
    tree = mod.syntax  # the file's ast, parsed once
    if tree is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(mod.source.removeprefix("\ufeff"), "<source>")
    scan = _TopLevelBindings()
    for stmt in tree.body:
        scan.visit(stmt)
    # one walk of the whole file, only when it binds a module array
    arrays = any(isinstance(literal, ast.Call) for _, _, literal in scan.bindings)
    changed = _changed_anywhere(tree) if arrays else {}
    seen: dict[str, list[tuple[int, ast.expr | None]]] = {}
    for name, line, literal in scan.bindings:
        seen.setdefault(name, []).append((line, literal))
    for name, found in seen.items():
        (line, literal), *others = found
        after_star = any(star > line for star in scan.star_imports)
        read = scan.reads.get(name, 0)
        if isinstance(literal, ast.Call) and name in changed:
            mod.bound[name] = (
                f"an array the file may change (line {changed[name]}: a write into "
                "it, a name bound to it, or a class body or default reading it)"
            )
        elif isinstance(literal, ast.Call) and read > line:
            mod.bound[name] = (
                f"an array read at import (line {read}), where it may be changed "
                "(B = A; B[0] = 7.0): read it only in functions"
            )
        elif isinstance(literal, ast.Call) and not others and not after_star:
            call = ast.Call(
                ast.Attribute(ast.Name("np"), literal.func.attr),  # type: ignore[attr-defined]
                literal.args,
                literal.keywords,
            )
            mod.arrays[name] = ast.unparse(call)
        elif isinstance(getattr(literal, "value", None), bool) and not (
            others or after_star
        ):
            mod.flags[name] = ast.unparse(literal)  # type: ignore[arg-type]
        elif isinstance(literal, ast.Tuple) and not (others or after_star):
            mod.sequences[name] = ast.unparse(literal)
        elif isinstance(literal, ast.List) and not (others or after_star):
            mod.bound[name] = (  # any function may change it (W[0] = 7.0)
                f"bound at line {line} to a list, which can change between calls;"
                " make it a tuple or an np.array"
            )
        elif literal is not None and not others and not after_star:
            mod.literals[name] = ast.unparse(literal)
        elif others:
            mod.bound[name] = f"bound again at line {others[0][0]}"
            mod.rebound.add(name)
        elif after_star:
            mod.bound[name] = "possibly bound again by a later 'import *'"
        elif _computed(mod, name, scan.values.get((name, line))):
            pass  # H = 4 * D: its value, as Python computes it
        else:
            mod.bound[name] = (
                f"bound at line {line} to a value that is not a number, a list or"
                " tuple of numbers, or an np.array of numbers"
            )


#: NumPy functions that write into their first argument.
_WRITERS = frozenset(
    {"copyto", "put", "place", "putmask", "fill_diagonal", "shuffle", "at"}
)


def _changed_anywhere(tree: ast.Module) -> dict[str, int]:
    """Names some code of the file may change in place, wherever it runs (a
    function called at import, or by the caller, a class body, a default):
    written into (``A[0] = 9.0``, ``A.fill(0)``, ``np.copyto(A, ...)``,
    ``out=A``), bound to another name (``B = A``, ``B = A.T``: a view), or
    read in a class body or a default, which run at import -> a line."""
    out: dict[str, int] = {}

    def base(node: ast.AST) -> str | None:
        while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
            node = node.func if isinstance(node, ast.Call) else node.value
        return node.id if isinstance(node, ast.Name) else None

    def note(node: ast.AST | None, at: ast.AST) -> None:
        name = base(node) if node is not None else None
        if name is not None:
            out.setdefault(name, getattr(at, "lineno", 0))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(
            node.ctx, (ast.Store, ast.Del)
        ):
            note(node, node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in _MUTATORS:
                note(node.func.value, node)
            if node.func.attr in _WRITERS and node.args:
                note(node.args[0], node)
        if isinstance(node, ast.Call):
            for k in node.keywords:
                if k.arg == "out":
                    note(k.value, node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            value = node.value  # B = A, B = A[1:], B = A.T: the same array
            sliced = isinstance(value, ast.Subscript) and any(
                isinstance(n, ast.Slice) for n in ast.walk(value.slice)
            )
            if isinstance(value, (ast.Name, ast.Attribute)) or sliced:
                note(value, node)
        elif isinstance(node, ast.ClassDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name):
                    note(inner, inner)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for default in (*node.args.defaults, *node.args.kw_defaults):
                for inner in ast.walk(default) if default is not None else ():
                    if isinstance(inner, ast.Name):
                        note(inner, inner)
    return out


def _computed(mod: Any, name: str, value: ast.expr | None) -> bool:
    """Record `name`, bound to a number (or tuple of numbers) computed from
    numbers and earlier constants (`codegen.front.computed`), as that
    constant; False when `value` computes none."""
    if value is None:
        return False
    known = {
        k: ir.literal(v) for k, v in (*mod.literals.items(), *mod.sequences.items())
    }
    found = computed(value, known, mod.canonical)
    if found is None:
        return False
    table = mod.sequences if isinstance(found, tuple) else mod.literals
    table[name] = repr(found)
    return True
