"""Format pass: unformatted Python source -> black-formatted source.

Black owns the layout of every generated module; black is pinned in
pyproject.toml, because golden files change when black's style does. Source
that black cannot parse is codegen's bug, reported as `InternalError` with the
numbered source.
"""

from __future__ import annotations

import black

from codegen.errors import InternalError

MODE = black.Mode()


def format_code(source: str) -> str:
    """Format `source` with black's default style.

    Raises:
        InternalError: the rendered source does not parse.
    """
    try:
        return black.format_str(source, mode=MODE)
    except black.InvalidInput as exc:
        numbered = "\n".join(
            f"{i:4d} | {line}" for i, line in enumerate(source.splitlines(), start=1)
        )
        raise InternalError(
            f"INTERNAL ERROR: rendered code does not parse ({exc}); "
            f"please report this with the source below\n{numbered}"
        ) from None
