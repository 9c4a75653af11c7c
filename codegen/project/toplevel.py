"""The top level of a generated module as `ast` nodes, without the `ast` of
its function bodies.

`stamp.check_generated` compiles the whole module (the compiler reads every
line) and then inspects only its top-level statements; the bodies are most of
a long module, and making `ast` objects of them costs as much as compiling.
`top_level(text)` cuts the text at each line that opens with ``def `` and
parses, of each piece, the ``def`` line(s) up to the colon (with ``...`` for
a body), and in full whatever follows the body at the top level; the module's
head (docstring, imports, constants) is parsed in full.

Why the nodes are the module's own (or the answer is None, and the caller
parses everything):

* a line opening with ``def `` is a function's first line or lies inside a
  string: ``def`` cannot appear inside brackets, and a string that contains
  it leaves the piece before it unterminated, which does not parse;
* the header read up to the first line ending in ``:`` that parses, with a
  ``...`` body, as one ``def`` is the whole header: a shorter prefix leaves a
  bracket open;
* the body ends at the first later line whose first character is neither
  white space, a closing bracket nor ``#``, provided no string in the body
  spans lines but its docstring (read to its closing quotes, which come
  first, as it holds no backslash), and no line ends in a backslash: then
  that line starts a top-level statement, or lies inside brackets opened in
  the body, and then the text after it closes a bracket it never opened,
  which does not parse.

Text with a carriage return or a form feed is left to the full parse.
"""

from __future__ import annotations

import ast
import re
import warnings

_DEF = re.compile(r"^def ", re.MULTILINE)
_TOP = re.compile(r"\n[^\s)\]}#]")
_DOC = re.compile(r'[ \t]+"""')
_QUOTES = ('"""', "'" * 3, "\\\n")
#: How far a header may run before the cut gives up (black writes one
#: parameter a line).
_HEADER_LINES = 400


def top_level(text: str) -> list[ast.stmt] | None:
    """The top-level statements of `text` (which compiles), each ``def``
    with the body ``...``; None when the cut is not sure (see the module)."""
    if "\r" in text or "\f" in text:
        return None
    cuts = [m.start() for m in _DEF.finditer(text)]
    nodes: list[ast.stmt] = []
    line, at = 1, 0
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        line += text.count("\n", at, start)
        at = start
        piece = _piece(text, start, end)
        if piece is None:
            return None
        for part, offset in piece:
            tree = _parse(part)
            if tree is None:
                return None
            ast.increment_lineno(tree, line + offset - 1)
            nodes += tree.body
    return nodes


def _piece(text: str, start: int, end: int) -> list[tuple[str, int]] | None:
    """(source, its first line - 1, counted from `start`) of what to parse in
    text[start:end]: all of it, or a def's header and what follows its body."""
    if start == end:
        return []
    if not text.startswith("def ", start):
        return [(text[start:end], 0)]
    nl = _header_end(text, start, end)
    if nl < 0:
        return None
    scan = nl
    doc = _DOC.match(text, nl + 1, end)
    if doc:  # the docstring, which holds no backslash: ends at the next quotes
        close = text.find('"""', doc.end(), end)
        if close < 0 or "\\" in text[doc.end() : close]:
            return None
        scan = close + 3
    found = _TOP.search(text, scan, end)
    body_end = found.start() + 1 if found else end
    rest = text[scan:body_end]
    if any(q in rest for q in _QUOTES):
        return None
    parts = [(text[start:nl] + "\n    ...\n", 0)]
    if body_end < end:
        parts.append((text[body_end:end], text.count("\n", start, body_end)))
    return parts


def _header_end(text: str, start: int, end: int) -> int:
    """Where the ``def`` at `start` ends its header (the newline after its
    colon), or -1."""
    pos = start
    for _ in range(_HEADER_LINES):
        nl = text.find("\n", pos, end)
        if nl < 0:
            return -1
        if text[pos:nl].rstrip().endswith(":"):
            tree = _parse(text[start:nl] + "\n    ...\n")
            if tree is not None and len(tree.body) == 1:
                return nl if isinstance(tree.body[0], ast.FunctionDef) else -1
        pos = nl + 1
    return -1


def _parse(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
