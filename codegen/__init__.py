"""codegen: static source-to-source gradients for straight-line Python and NumPy.

The pipeline is parse -> reverse -> render -> format (-> verify); `generate`
composes it and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.errors import CodegenError, CodegenErrors, InternalError

# `codegen.explain` and `codegen.graph` are functions: the submodules of the
# same names are imported here, first, so that no later import rebinds them.
from codegen.explain import explain
from codegen.graph import graph
from codegen.notebook import show
from codegen.workflow import build, check

__all__ = [
    "CodegenError",
    "CodegenErrors",
    "InternalError",
    "build",
    "check",
    "explain",
    "generate",
    "graph",
    "show",
]


def generate(
    source: str,
    filename: str = "<string>",
    func: str | None = None,
    wrt: Sequence[str] | None = None,
    command: str | None = None,
    header_extra: Sequence[str] = (),
    check_finite: bool = False,
) -> str:
    """Return the black-formatted backward module for `func` in `source`.

    Args:
        source: text of the file holding the forward function (never executed).
        filename: path shown in errors and in the generated header.
        func: the function to differentiate; default: the file's only entry point.
        wrt: parameters to differentiate, in output order; default: every
            non-integer parameter.
        command: the regenerate command quoted in the header.
        header_extra: further header comment lines.
        check_finite: make the backward raise FloatingPointError naming the
            forward line whose gradient first became NaN or Inf.

    Raises:
        CodegenError: the input is not supported (located, with a hint).
    """
    # The passes are imported here, not at the top: `codegen check` on fresh
    # modules then never pays for importing libcst, jinja2 and black.
    from codegen import format as _format
    from codegen import parse as _parse
    from codegen import render as _render
    from codegen import reverse as _reverse

    fn = _parse.parse(source, filename, func)
    bwd = _reverse.reverse(fn, wrt)
    origin = f"{filename}:{fn.name}"
    cmd = command or f"codegen grad {origin}"
    text = _render.render(bwd, origin, cmd, header_extra, check_finite=check_finite)
    return _format.format_code(text)
