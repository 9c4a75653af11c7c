"""Error types and the compiler-style display of user errors.

A `CodegenError` is the user's problem: a construct codegen does not support,
a syntax error, a missing function. It prints as

    examples/bad.py:2:9: error: no adjoint rule for 'math.atan2'
        c = math.atan2(a, b)
            ^~~~~~~~~~~~~~~~
    hint: supported calls: cos, exp, ...

with a 1-based, tab-expanded column. `CodegenErrors` carries every error found
in one function. An `InternalError` is codegen's own bug (for instance a
rendered module black cannot parse) and says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.core.ir import Loc


class CodegenError(Exception):
    """A located error in the user's input."""

    #: The word printed after the location.
    severity = "error"

    def __init__(
        self,
        message: str,
        loc: Loc | None = None,
        hint: str | None = None,
        filename: str = "<string>",
        source: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.loc = loc
        self.hint = hint
        self.filename = filename
        self.source = source

    def located(self, filename: str, source: str) -> CodegenError:
        """Return a copy that knows the file it points into."""
        return CodegenError(self.message, self.loc, self.hint, filename, source)

    def __str__(self) -> str:
        return format_error(self)


class CodegenErrors(CodegenError):
    """Several user errors, reported together as a compiler does."""

    def __init__(self, errors: Sequence[CodegenError]) -> None:
        super().__init__(errors[0].message, errors[0].loc, errors[0].hint)
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(format_error(e) for e in self.errors)


class CodegenWarning(CodegenError):
    """A located warning: the input is supported but numerically fragile. It
    prints as an error does, with ``warning:``; it is reported, never raised."""

    severity = "warning"


class InternalError(Exception):
    """A bug in codegen itself, never the user's fault."""


def _editor_column(line: str, col: int) -> int:
    """1-based column of `col` in `line` with tabs expanded to 8 columns."""
    return len(line[:col].expandtabs(8)) + 1


def format_error(err: CodegenError) -> str:
    """Render `err` as `path:line:col: error: message`, source, caret and hint."""
    if err.loc is None:
        text = f"{err.filename}: {err.severity}: {err.message}"
        return text + (f"\nhint: {err.hint}" if err.hint else "")
    lines = err.source.splitlines()
    loc = err.loc
    src = lines[loc.line - 1] if 0 < loc.line <= len(lines) else ""
    col = _editor_column(src, loc.col)
    # the header counts characters, as Python, ruff and mypy do (a tab is one),
    # so editors jump there; the caret lines up under the tab-expanded line
    where = f"{loc.line}:{loc.col + 1}"
    parts = [f"{err.filename}:{where}: {err.severity}: {err.message}"]
    if src:
        shown = src.expandtabs(8)
        end = len(src) if loc.end_line != loc.line else max(loc.end_col, loc.col + 1)
        width = max(1, _editor_column(src, end) - col)
        if len(shown) > 200:  # keep very long lines readable around the caret
            start = max(0, col - 1 - 80)
            shown = ("..." if start else "") + shown[start : start + 160]
            col = col - start + (3 if start else 0)
            width = min(width, 160)
        parts.append("    " + shown)
        parts.append("    " + " " * (col - 1) + "^" + "~" * (width - 1))
    if err.hint:
        parts.append(f"hint: {err.hint}")
    return "\n".join(parts)
