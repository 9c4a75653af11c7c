"""Reading a source file for the parse pass: libcst tree and positions,
imports, top-level functions and constants, and syntax errors located
exactly; never importing or running the file.

Contract: `load_module(source, filename)` returns a `Module` (what the file
says about names) or raises a located `CodegenError`; `list_functions` gives
the file's entry points (top-level functions no other function calls).
"""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange

from codegen.core import ir
from codegen.errors import CodegenError
from codegen.front.constants import scan_constants
from codegen.front.positions import LazyLoc, Positions, parse_meanwhile, statement_lines
from codegen.front.spellings import RENAMED
from codegen.front.syntax import (
    _ast_identifiers,
    check_syntax,
    recursion_room,
    syntax_error,
)


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
    #: top-level names bound once, to a number literal (``S = -1.5``).
    literals: dict[str, str] = field(default_factory=dict)
    #: top-level names bound once to True or False -> that text (for `if`)
    flags: dict[str, str] = field(default_factory=dict)
    #: top-level names bound once to an array of number literals
    #: (``A = np.array([[1.0, 2.0], [3.0, 4.0]])``) -> that call, spelled ``np.``.
    arrays: dict[str, str] = field(default_factory=dict)
    #: top-level names bound once to a list or tuple of numbers (``IDX = [0,
    #: 0, 2]``, ``SHAPE = (2, 3)``) -> that text, read as if written out.
    sequences: dict[str, str] = field(default_factory=dict)
    #: every other name the file binds at the top level -> why it is no
    #: constant ("bound again at line 3").
    bound: dict[str, str] = field(default_factory=dict)
    #: top-level names bound more than once (a helper so named is ambiguous).
    rebound: set[str] = field(default_factory=set)
    #: The same file as an `ast` tree: walking it is far cheaper than
    #: libcst's visitors, so whole-function scans use it.
    syntax: ast.Module | None = None
    #: Names given as ``out=_reuse(name, ...)`` (generated code's in-place
    #: writes) in the statement being read: gone after it, as after ``del``.
    written_over: list[str] = field(default_factory=list)
    #: libcst's tree as parsed (`module` is another when names are normalised).
    tree: cst.Module | None = None
    #: Statements of the parsed functions that sit on one line -> that line.
    lines: dict[cst.CSTNode, int] = field(default_factory=dict)
    #: `source` split at its line ends (filled when first needed).
    source_lines: list[str] = field(default_factory=list)

    def ast_def(self, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The top-level `def name` in `syntax` (the last one, as in `defs`)."""
        found = None
        for stmt in self.syntax.body if self.syntax else ():
            is_def = isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef))
            if is_def and stmt.name == name:  # type: ignore[attr-defined]
                found = stmt
        return found  # type: ignore[return-value]

    def ast_loc(self, node: ast.expr | ast.arg, width: int) -> ir.Loc:
        """The `Loc` of an `ast` node (its column counts bytes; ours, characters)."""
        lines = re.split(r"\r\n|\r|\n", self.source)  # Python's line ends only
        line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
        col = len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace"))
        return ir.Loc(node.lineno, col, node.lineno, col + width)

    def loc(self, node: cst.CSTNode) -> ir.Loc:
        r = self.positions(node)
        return ir.Loc(r.start.line, r.start.column, r.end.line, r.end.column)

    def step_loc(self, node: cst.CSTNode, line: int | None) -> ir.Loc:
        """`loc(node)` when read; `line`: the line of the one-line statement
        holding `node`, if known (`codegen.front.positions`)."""
        return LazyLoc(line, lambda: self.loc(node))

    def map_lines(self, fdef: cst.FunctionDef) -> None:
        """Record in `lines` the statements of `fdef` that sit on one line."""
        if "\r" not in self.source:  # else ast's and str.split's lines may differ
            tree = self.ast_def(fdef.name.value)
            self.lines.update(statement_lines(fdef.body, tree))

    def statement_text(self, stmt: cst.SimpleStatementLine) -> str:
        """`stmt` as libcst prints it alone, stripped; from the source line
        when that is the same text (one line, no comment lines before it,
        names as written)."""
        line = self.lines.get(stmt)
        if (
            line is None
            or self.module is not self.tree
            or any(
                e.comment is not None or e.whitespace.value.strip()
                for e in stmt.leading_lines
            )
        ):
            return self.module.code_for_node(stmt).strip()
        if not self.source_lines:
            self.source_lines = self.source.split("\n")
        return self.source_lines[line - 1].strip()

    def error(
        self, message: str, node: cst.CSTNode, hint: str | None = None
    ) -> CodegenError:
        return CodegenError(message, self.loc(node), hint, self.filename, self.source)

    def canonical(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        base = self.aliases.get(head, head)
        name = f"{base}.{rest}" if rest else base
        return RENAMED.get(name, name)  # np.concat is np.concatenate


def _load_module(
    source: str, filename: str, meanwhile: Callable[[], object] | None = None
) -> _Module:
    """The file's `_Module`; `meanwhile` runs while libcst parses (its
    native parser lets other threads run: `codegen.front.positions`)."""
    syntax = check_syntax(source, filename)  # first: libcst crashes on deep input
    try:
        tree = parse_meanwhile(source, lambda: _meanwhile(syntax, meanwhile))
    except (cst.ParserSyntaxError, RecursionError, ValueError) as exc:
        raise syntax_error(source, filename, exc) from None
    positions = Positions(tree)  # libcst's, found when first asked for
    mod = _Module(source, filename, tree, positions, syntax=syntax, tree=tree)
    if not source.isascii():
        normalised = _NormaliseNames()
        mod.module = tree.visit(normalised)
        origin = normalised.origin
        mod.positions = lambda node: positions(origin.get(node, node))
    for stmt in mod.module.body:
        _scan_top_level(mod, stmt)
    scan_constants(mod)
    return mod


def _meanwhile(syntax: ast.Module | None, more: Callable[[], object] | None) -> None:
    """What needs no libcst tree: the `ast` walks of the file's functions and
    the names in them, which the parse reads (`walked`), and the caller's
    `more`."""
    for stmt in syntax.body if syntax else ():
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _ast_identifiers(stmt)
    if more is not None:
        more()


class _NormaliseNames(cst.CSTTransformer):
    """Spell every identifier the way Python reads it: NFKC-normalised, so that
    ``\ufb01`` (the ligature) and ``fi`` are one name, as they are to Python.
    String literals keep their text. `origin` maps each node of the new tree
    to the node it replaces, whose position is the one in the user's file."""

    def __init__(self) -> None:
        super().__init__()
        self.origin: dict[cst.CSTNode, cst.CSTNode] = {}

    def on_leave(  # type: ignore[override]
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode:
        if isinstance(updated_node, cst.Name):
            normal = unicodedata.normalize("NFKC", updated_node.value)
            if normal != updated_node.value:
                updated_node = updated_node.with_changes(value=normal)
        if updated_node is not original_node:
            self.origin[updated_node] = original_node
        return updated_node


def _scan_top_level(mod: _Module, stmt: cst.CSTNode) -> None:
    """Record the imports and defs of the module."""
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
    with recursion_room():
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
