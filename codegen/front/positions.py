"""Positions of libcst nodes, found only when read; libcst's parse, beside
other work.

libcst finds a node's position by printing the whole module again
(`PositionProvider`), which costs as much as parsing it. A parse that raises
no error and warns of nothing reads only the line of each step, and in most
statements every node sits on the statement's one line, which the file's
`ast` tree (already built by the syntax check) gives for free. So:

* `Positions` runs libcst's provider the first time a node's position is
  asked for, never before (an error, a warning, a step of a statement that
  spans several lines);
* `statement_lines` gives the line of each statement of a function that sits
  on one line, from the `ast` tree;
* `LazyLoc` is a step's `ir.Loc` whose line may be known already (that line)
  and whose columns are the provider's, asked for only when read;
* `parse_meanwhile` runs libcst's parser in a second thread, since its native
  code lets the first thread work meanwhile.

Why it is exact: a node inside a statement that sits on one line is on that
line; the statement's line is the `ast` line of its first small statement,
and libcst's and `ast`'s bodies are matched one to one (a libcst statement
line holds as many small statements as `ast` has statements for it), or not
used at all. Whatever else is read (columns, ends, lines of statements on
several lines) is libcst's own answer. `tests/test_own_speed.py` checks that
every step's `Loc` equals the provider's on every example and test program.
"""

from __future__ import annotations

import ast
import contextlib
import threading
from collections.abc import Callable, Iterable, Mapping

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from codegen.core import ir
from codegen.front.syntax import recursion_room

#: The stack of the thread libcst parses in: the main thread's usual 8 MiB
#: and more (the native parser recurses once per level of nesting).
_PARSER_STACK = 64 << 20


def parse_meanwhile(source: str, meanwhile: Callable[[], object]) -> cst.Module:
    """`cst.parse_module(source)`, parsed in another thread while this one
    runs `meanwhile`: libcst's native parser releases the interpreter lock,
    so on two cores the two overlap. The parse's exception, if any, is
    raised here, after `meanwhile` is done."""
    out: list[cst.Module] = []
    err: list[BaseException] = []

    def work() -> None:
        try:
            out.append(cst.parse_module(source))
        except BaseException as exc:  # re-raised in the caller's thread
            err.append(exc)

    old = threading.stack_size()
    with contextlib.suppress(ValueError, RuntimeError):  # else the default
        threading.stack_size(max(old, _PARSER_STACK))
    try:
        worker = threading.Thread(target=work, name="libcst-parse", daemon=True)
        worker.start()
    finally:
        threading.stack_size(old)
    try:
        meanwhile()
    finally:
        worker.join()
    if err:
        raise err[0]
    return out[0]


class _PositionsWrapper(MetadataWrapper):
    """libcst's `MetadataWrapper`, minus one wasted walk: resolving a provider
    that is not batchable (`PositionProvider`) also runs the batched visit
    with no visitors at all, a full traversal that rebuilds every node of the
    tree and records nothing (a third of the parse of a long function)."""

    def visit_batched(
        self,
        visitors: Iterable[cst.BatchableCSTVisitor],
        before_visit: Callable[[cst.CSTNode], None] | None = None,
        after_leave: Callable[[cst.CSTNode], None] | None = None,
    ) -> cst.CSTNode:
        visitors = list(visitors)
        if not visitors and before_visit is None and after_leave is None:
            return self.module
        return super().visit_batched(visitors, before_visit, after_leave)


class Positions:
    """`positions(node)`: the node's `CodeRange` in `tree`, libcst's provider
    run once, on the first call."""

    def __init__(self, tree: cst.Module) -> None:
        self.wrapper = _PositionsWrapper(tree, unsafe_skip_copy=True)
        self.found: Mapping[cst.CSTNode, CodeRange] | None = None

    def __call__(self, node: cst.CSTNode) -> CodeRange:
        if self.found is None:
            with recursion_room():  # also when read after the parse, by a pass
                self.found = self.wrapper.resolve(PositionProvider)
        return self.found[node]


def statement_lines(
    block: cst.BaseSuite, tree: ast.FunctionDef | ast.AsyncFunctionDef | None
) -> dict[cst.CSTNode, int]:
    """The line of each statement line of `block` (a function's libcst body)
    that sits on one line, read from `tree` (the same function's `ast`); empty
    when the two bodies do not match statement for statement."""
    if tree is None or not isinstance(block, cst.IndentedBlock):
        return {}
    lines: dict[cst.CSTNode, int] = {}
    body, k = tree.body, 0
    for stmt in block.body:
        simple = isinstance(stmt, cst.SimpleStatementLine)
        n = len(stmt.body) if simple else 1  # type: ignore[attr-defined]
        group = body[k : k + n]
        k += n
        if n == 0 or len(group) != n:
            return {}
        first, last = group[0], group[-1]
        if simple and first.lineno == last.end_lineno:
            lines[stmt] = first.lineno
    return lines if k == len(body) else {}


class LazyLoc(ir.Loc):
    """An `ir.Loc` read from libcst's positions only when a field is read,
    except `line` when the statement's line is known. Equal to (and hashed
    as) the `ir.Loc` of the same four numbers."""

    __slots__ = ("_known_line", "_find", "_loc")
    _known_line: int | None
    _find: Callable[[], ir.Loc]
    _loc: ir.Loc | None

    def __init__(self, line: int | None, find: Callable[[], ir.Loc]) -> None:
        object.__setattr__(self, "_known_line", line)
        object.__setattr__(self, "_find", find)
        object.__setattr__(self, "_loc", None)

    def resolved(self) -> ir.Loc:
        found = self._loc
        if found is None:
            found = self._find()
            object.__setattr__(self, "_loc", found)
        return found

    @property  # type: ignore[override]
    def line(self) -> int:
        known = self._known_line
        return known if known is not None else self.resolved().line

    @property  # type: ignore[override]
    def col(self) -> int:
        return self.resolved().col

    @property  # type: ignore[override]
    def end_line(self) -> int:
        return self.resolved().end_line

    @property  # type: ignore[override]
    def end_col(self) -> int:
        return self.resolved().end_col

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ir.Loc):
            return NotImplemented
        mine = self.resolved()
        theirs = other.resolved() if isinstance(other, LazyLoc) else other
        return mine == theirs

    def __hash__(self) -> int:
        return hash(self.line)  # as `ir.Loc` hashes

    def __repr__(self) -> str:
        return repr(self.resolved())

    def __reduce__(self) -> tuple[object, ...]:
        r = self.resolved()
        return (ir.Loc, (r.line, r.col, r.end_line, r.end_col))
