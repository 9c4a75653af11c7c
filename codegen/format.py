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
_PLAIN = re.compile(
    rf"^(?P<indent> {{4,8}})(?:{_NAME} \+?= "
    rf"(?:-?{_ATOM}|-?\(|\)| [-+*/@<>] | [<>=!]= |, )+$"  # one way to read each token
    rf"|# \S.*)$"
)


def _plain(line: str) -> bool:
    """True when black would keep `line` exactly as it is."""
    if len(line) > MODE.line_length or line != line.rstrip() or not _PLAIN.match(line):
        return False
    if line.lstrip().startswith("#"):
        return True
    rhs = line.split("= ", 1)[1]
    return _balanced(rhs) and not _wrapped(rhs)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
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


def _skeleton(source: str) -> tuple[str, list[list[str]]]:
    """Replace each run of plain lines (same indent) by `pass  # codegen-run N`."""
    out: list[str] = []
    runs: list[list[str]] = []
    lines = source.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not _plain(line):
            out.append(line)
            i += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        run = [line]
        while i + len(run) < len(lines):
            nxt = lines[i + len(run)]
            if not _plain(nxt) or not nxt.startswith(indent) or nxt[len(indent)] == " ":
                break
            run.append(nxt)
        if len(run) < 3 or all(r.lstrip().startswith("#") for r in run):
            out.extend(run)
        else:
            out.append(f"{indent}pass  # codegen-run {len(runs)}")
            runs.append(run)
        i += len(run)
    return "\n".join(out), runs


_RUN = re.compile(r"^ *pass  # codegen-run (\d+)$", re.M)


def format_code(source: str) -> str:
    """Format `source` exactly as black's default style does.

    Raises:
        InternalError: the rendered source does not parse.
    """
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
