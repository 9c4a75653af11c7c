"""Format pass: unformatted Python source -> black-formatted source.

Black owns the layout of every generated module; black is pinned in
pyproject.toml, because golden files change when black's style does. Source
that black cannot parse is codegen's bug, reported as `InternalError` with the
numbered source.

Black takes about a millisecond a line, and a generated module is mostly
lines black leaves as they are: short assignments of names, numbers and
operators, and comments. `format_code` therefore hands black a skeleton in
which each run of such lines is one placeholder statement, and puts the runs
back afterwards. A line counts as already formatted only when it matches a
conservative pattern (`_PLAIN`); everything else goes through black in place.
`tests/test_format.py` checks that the result equals black on the whole module.
"""

from __future__ import annotations

import re

import black

from codegen.errors import InternalError

MODE = black.Mode()

_NAME = r"[A-Za-z_][A-Za-z0-9_]*\b"  # \b: a name is never split in two
_ATOM = rf"(?:{_NAME}(?:\.{_NAME})*|\d+(?:\.\d+)?\b)"
#: An assignment black would leave alone: a name, `=` or `+=`, then atoms
#: joined by single-spaced binary operators, with calls, parentheses and
#: unary minus; no `**` (black hugs it), strings, subscripts or keywords.
#: (An atom is tried once, then `**` after it: the same lines as trying
#: `atom ** atom` before `-atom`, without parsing each atom twice.)
_PLAIN = re.compile(
    rf"^(?P<indent> {{4,8}})(?:{_NAME} \+?= "
    rf"(?:{_ATOM}(?:\*\*-?{_ATOM})?|-{_ATOM}|-?\(|\)| [-+*/@<>] | [<>=!]= |, )+$"
    rf"|# \S.*)$"
)


#: `a ** b` between simple operands, as black writes it: `a**b` (black's
#: "simple power operands": names, attribute chains, numbers, and a unary
#: minus on the right). A unary minus on the left is left to black, which
#: writes `-(a**b)`.
_POWER = re.compile(
    r"(?<=[ (])(?P<l>[A-Za-z_0-9][\w.]*) \*\* (?P<r>-?[A-Za-z_0-9][\w.]*)(?![\w.(\[]| \*\*)"
)
_ASSIGNMENT = re.compile(rf"^ {{4,8}}{_NAME} \+?= [^'\"#]*$")


def _hug(line: str) -> str:
    """Write simple powers in an assignment line the way black does."""
    if " ** " not in line or not _ASSIGNMENT.match(line):
        return line
    return _POWER.sub(lambda m: f"{m.group('l')}**{m.group('r')}", line)


def _plain(line: str) -> bool:
    """True when black would keep `line` exactly as it is."""
    if len(line) > MODE.line_length or line != line.rstrip() or not _PLAIN.match(line):
        return False
    if line.lstrip().startswith("#"):
        return True
    rhs = line.split("= ", 1)[1]
    return _balanced(rhs) and not _wrapped(rhs)


_PAREN = re.compile(r"[()]")


def _balanced(text: str) -> bool:
    if "(" not in text:
        return ")" not in text
    depth = 0
    for ch in _PAREN.findall(text):  # the parentheses alone
        depth += 1 if ch == "(" else -1
        if depth < 0:
            return False
    return depth == 0


def _wrapped(rhs: str) -> bool:
    """`x = (a + b)`: black drops parentheses around a whole right-hand side."""
    if not (rhs.startswith("(") and rhs.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(rhs):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return i == len(rhs) - 1
    return False


#: A tuple of names laid out one per line, as render.py writes long ones
#: (`return out, (`, `(` ... `) = cache`, `del (` ... `)  # ...`).
_TUPLE_OPEN = re.compile(r"^    (?:return \w+, \(|\(|del \()$")
_TUPLE_ITEM = re.compile(r"^        \w+,$")
_TUPLE_CLOSE = re.compile(r"^    \)(?: = \w+|  # [^\n]*)?$")


def _unit(lines: list[str], i: int) -> tuple[int, bool]:
    """(number of lines, whether black keeps them) of the statement at `i`."""
    if _TUPLE_OPEN.match(lines[i]):
        j = i + 1
        while j < len(lines) and _TUPLE_ITEM.match(lines[j]):
            j += 1
        if j > i + 1 and j < len(lines) and _TUPLE_CLOSE.match(lines[j]):
            return j - i + 1, True
    return 1, _plain(lines[i])


def _skeleton(source: str) -> tuple[str, list[list[str]]]:
    """Replace each run of plain statements (same indent) by a placeholder
    statement `pass  # codegen-run N`."""
    out: list[str] = []
    runs: list[list[str]] = []
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        size, plain = _unit(lines, i)
        if not plain:
            out.extend(lines[i : i + size])
            i += size
            continue
        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        j = i + size
        while j < len(lines):
            nxt, ok = _unit(lines, j)
            line = lines[j]
            if not ok or not line.startswith(indent) or line[len(indent)] == " ":
                break
            j += nxt
        run = lines[i:j]
        if j - i < 3 or all(r.lstrip().startswith("#") for r in run):
            out.extend(run)
        else:
            out.append(f"{indent}pass  # codegen-run {len(runs)}")
            runs.append(run)
        i = j
    return "\n".join(out), runs


_RUN = re.compile(r"^ *pass  # codegen-run (\d+)$", re.MULTILINE)


def format_code(source: str) -> str:
    """Format `source` exactly as black's default style does.

    Raises:
        InternalError: the rendered source does not parse.
    """
    source = "\n".join(_hug(line) for line in source.split("\n"))
    skeleton, runs = _skeleton(source)
    formatted = _black(skeleton, source)
    return _RUN.sub(lambda m: "\n".join(runs[int(m.group(1))]), formatted)


def _black(text: str, original: str) -> str:
    try:
        return black.format_str(text, mode=MODE)
    except black.InvalidInput as exc:
        numbered = "\n".join(
            f"{i:4d} | {line}" for i, line in enumerate(original.splitlines(), start=1)
        )
        raise InternalError(
            f"INTERNAL ERROR: rendered code does not parse ({exc}); "
            f"please report this with the source below\n{numbered}"
        ) from None
