"""The pipeline: parse -> reverse -> render -> format, composed and nothing else.

`codegen check` on fresh modules never imports this module, so it never pays
for libcst, jinja2 and black.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.back.format import format_code
from codegen.back.render import render
from codegen.core.passes import (
    accumulate_in_place,
    cache_shapes,
    fuse_sum_of_squares,
    scalar_floats,
    share,
)
from codegen.core.reverse import reverse
from codegen.front.parse import parse


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
    fn = scalar_floats(fuse_sum_of_squares(share(parse(source, filename, func))))
    bwd = accumulate_in_place(cache_shapes(reverse(fn, wrt)))
    origin = f"{filename}:{fn.name}"
    cmd = command or f"codegen grad {origin}"
    text = render(bwd, origin, cmd, header_extra, check_finite=check_finite)
    return format_code(text)
