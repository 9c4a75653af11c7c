"""Reading a source file for the parse pass: libcst tree and positions,
imports, top-level functions and constants, and syntax errors located
exactly; never importing or running the file.

Contract: `load_module(source, filename)` returns a `Module` (what the file
says about names) or raises a located `CodegenError`; `list_functions` gives
the file's entry points (top-level functions no other function calls).
"""

from __future__ import annotations

import ast
import contextlib
import gc
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from codegen.core import ir
from codegen.errors import CodegenError


def _dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


@dataclass
class _Module:
    """What the whole file tells about names: imports and helper functions."""

    source: str
    filename: str
    module: cst.Module
    positions: Callable[[cst.CSTNode], CodeRange]
    #: local name -> canonical dotted name (``np`` -> ``numpy``).
    aliases: dict[str, str] = field(default_factory=dict)
    #: import statements to repeat in the generated module.
    imports: list[str] = field(default_factory=list)
    #: top-level function definitions by name.
    defs: dict[str, cst.FunctionDef] = field(default_factory=dict)
    #: top-level names bound to literal constants.
    literals: dict[str, str] = field(default_factory=dict)
    #: The same file as an `ast` tree: walking it is far cheaper than
    #: libcst's visitors, so whole-function scans use it.
    syntax: ast.Module | None = None

    def ast_def(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The top-level `def name` in `syntax` (the last one, as in `defs`)."""
        found = None
        for stmt in self.syntax.body if self.syntax else ():
            is_def = isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            if is_def and stmt.name == name:
                found = stmt
        return found

    def ast_loc(self, node: ast.expr | ast.arg, width: int) -> ir.Loc:
        """The `Loc` of an `ast` node (its column counts bytes; ours, characters)."""
        lines = re.split(r"\r\n|\r|\n", self.source)  # Python's line ends only
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        col = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace"))
        return ir.Loc(node.lineno, col, node.lineno, col + width)

    def loc(self, node: cst.CSTNode) -> ir.Loc:
        r = self.positions(node)
        return ir.Loc(r.start.line, r.start.column, r.end.line, r.end.column)

    def error(
        self, message: str, node: cst.CSTNode, hint: str | None = None
    ) -> CodegenError:
        return CodegenError(message, self.loc(node), hint, self.filename, self.source)

    def canonical(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head, head)
        return f"{base}.{rest}" if rest else base


def _syntax_error(source: str, filename: str, exc: Exception) -> CodegenError:
    """A located syntax error; positions come from `ast`, which are exact."""
    try:
        with warnings.catch_warnings():  # the error is the message, not warnings
            warnings.simplefilter("ignore")
            ast.parse(source, filename)
    except SyntaxError as err:
        line = err.lineno or 1
        col = max((err.offset or 1) - 1, 0)
        end = max((err.end_offset or err.offset or 1) - 1, col + 1)
        loc = ir.Loc(line, col, err.end_lineno or line, end)
        msg = (
            "invalid syntax"
            if err.msg == "invalid syntax"
            else f"invalid syntax: {err.msg}"
        )
        return CodegenError(msg, loc, "fix the syntax first", filename, source)
    except ValueError as err:  # null bytes and the like
        return CodegenError(f"cannot parse: {err}", None, None, filename, source)
    return CodegenError(
        f"cannot parse: {exc}", ir.Loc(1, 0, 1, 1), None, filename, source
    )


def _compile_error(source: str, filename: str, exc: SyntaxError) -> CodegenError:
    """A located error for what `ast.parse` accepts but Python does not compile."""
    line = exc.lineno or 1
    col = max((exc.offset or 1) - 1, 0)
    end = max((exc.end_offset or exc.offset or 1) - 1, col + 1)
    end_line = exc.end_lineno or line
    if end_line != line:
        end_line, end = line, col + 1
    loc = ir.Loc(line, col, end_line, end)
    return CodegenError(
        f"invalid Python: {exc.msg}", loc, "fix the source first", filename, source
    )


#: Deepest expression nesting accepted. CPython's own parser stops near 3,000
#: levels (and at 200 brackets); libcst's native parser overflows the C stack,
#: a crash rather than an exception, on deeper input, so it never sees any.
MAX_NESTING = 2000
#: Python frames the passes use per level of nesting (libcst's position
#: metadata and the flattening recurse on the tree).
_FRAMES_PER_LEVEL = 12


@contextlib.contextmanager
def _recursion_room() -> Iterator[None]:
    """Room for `MAX_NESTING` levels in the recursive passes, and no cyclic
    garbage collection meanwhile (each full collection walks the whole libcst
    tree, which made parsing grow faster than the file: a third of the time
    at 10,000 statements); both restored after."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, MAX_NESTING * _FRAMES_PER_LEVEL + 2000))
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
        if collecting:
            gc.enable()


def _check_nesting(source: str, filename: str) -> ast.Module | None:
    """Refuse, located, what Python cannot parse or what nests deeper than
    `MAX_NESTING`, before libcst sees it. `and`/`or` chains count one level per
    operand, since libcst nests them."""
    text = source.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as Python allows
    try:
        with warnings.catch_warnings():  # e.g. invalid escapes: not ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename)
    except SyntaxError as exc:
        raise _syntax_error(text, filename, exc) from None
    except ValueError:  # null bytes: libcst reports them
        return None
    except (RecursionError, MemoryError):
        raise CodegenError(
            "the source is nested too deeply for Python's parser",
            None,
            "split deep expressions into several assignments",
            filename,
            source,
        ) from None
    try:  # what only the compiler refuses: a parameter named twice, a
        # misplaced `from __future__`, `return` outside a function, ...
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise _compile_error(text, filename, exc) from None
    except (RecursionError, MemoryError, ValueError):
        pass  # deep nesting is located below; null bytes by libcst
    lines = source.splitlines()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            depth += len(node.values) if isinstance(node, ast.BoolOp) else 1
        if depth > MAX_NESTING and isinstance(node, ast.expr):
            line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
            col = len(
                line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")
            )
            raise CodegenError(
                f"expression is nested too deeply (more than {MAX_NESTING} levels)",
                ir.Loc(node.lineno, col, node.lineno, col + 1),
                "split it into several assignments",
                filename,
                source,
            )
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return tree


def _load_module(source: str, filename: str) -> _Module:
    syntax = _check_nesting(source, filename)
    try:
        tree = cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, ValueError) as exc:
        raise _syntax_error(source, filename, exc) from None
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    mod = _Module(source, filename, tree, positions.__getitem__, syntax=syntax)
    for stmt in tree.body:
        _scan_top_level(mod, stmt)
    return mod


def _scan_top_level(mod: _Module, stmt: cst.CSTNode) -> None:
    """Record imports, defs and literal constants of the module."""
    if isinstance(stmt, cst.FunctionDef):
        mod.defs[stmt.name.value] = stmt
        return
    if not isinstance(stmt, cst.SimpleStatementLine):
        return
    for small in stmt.body:
        if isinstance(small, cst.Import):
            mod.imports.append(mod.module.code_for_node(small))
            for alias in small.names:
                name = _dotted(alias.name) or ""
                local = alias.asname.name.value if alias.asname else name.split(".")[0]  # type: ignore[union-attr]
                mod.aliases[local] = name if alias.asname else local
        elif isinstance(small, cst.ImportFrom) and not isinstance(
            small.names, cst.ImportStar
        ):
            base = _dotted(small.module) if small.module else None
            if base is None:
                continue
            for alias in small.names:
                name = alias.name.value if isinstance(alias.name, cst.Name) else ""
                local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
                mod.aliases[local] = f"{base}.{name}"
        elif isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name) and isinstance(
                small.value, (cst.Integer, cst.Float)
            ):
                mod.literals[target.value] = small.value.value


def _is_int_annotation(text: str | None) -> bool:
    return bool(text) and bool(re.match(r"^(int|Int\[|Integer\[|UInt\[)", text or ""))


def _user_names(fdef: cst.FunctionDef, mod: _Module | None = None) -> set[str]:
    """Every identifier in `fdef` (the values of its libcst `Name` nodes),
    read from the `ast` tree when `mod` has one: the same names, found about
    ten times faster than by a libcst visitor."""
    tree = mod.ast_def(fdef.name.value) if mod is not None else None
    if tree is not None:
        return _ast_identifiers(tree)
    names: set[str] = set()

    class Collect(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            names.add(node.value)

    fdef.visit(Collect())
    return names


def _ast_identifiers(tree: ast.AST) -> set[str]:
    """Names, attributes, parameters, keywords and imported names in `tree`."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.keyword):
            found.update([node.arg] if node.arg else [])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.update(node.name.split("."))
            if node.asname:
                found.add(node.asname)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(node.module.split("."))
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
    return found


def _default_function(mod: _Module) -> str:
    """The function to take when none is named: the one no other function calls."""
    tops = list_functions(mod)
    if len(tops) != 1:
        raise CodegenError(
            "name the function to differentiate as PATH:FUNC",
            None,
            "functions here: " + (", ".join(tops) or "none"),
            mod.filename,
            mod.source,
        )
    return tops[0]


def list_functions(
    mod_or_source: _Module | str, filename: str = "<string>"
) -> list[str]:
    """Top-level functions that are not helpers called by another function."""
    with _recursion_room():
        mod = (
            mod_or_source
            if isinstance(mod_or_source, _Module)
            else _load_module(mod_or_source, filename)
        )
        called: set[str] = set()
        for fname, fdef in mod.defs.items():
            called |= {
                n for n in _user_names(fdef, mod) if n in mod.defs and n != fname
            }
    return [n for n in mod.defs if n not in called and not n.startswith("_")]
