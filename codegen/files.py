"""Files and targets: reading a source, naming a function, writing atomically.

The lowest layer of codegen: every other module may import it, it imports
nothing of codegen's but the errors.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from codegen.errors import CodegenError


def split_target(target: str) -> tuple[str, str | None]:
    """``PATH:FUNC`` -> (PATH, FUNC); a bare PATH names the file's entry point."""
    path, sep, func = target.rpartition(":")
    if not sep or not func.isidentifier():
        return target, None
    return path, func


def read_source(path: str) -> str:
    """The text of `path`, or a clean error."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CodegenError(
            f"cannot read file: {exc.strerror or exc}", None, None, path
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodegenError(
            f"file is not UTF-8 text (byte {exc.start})",
            None,
            "save the source as UTF-8",
            path,
        ) from None


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write `text` (or bytes) to `path` through a temporary file and a
    rename, so an interrupted write never leaves a partial or empty file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if isinstance(text, bytes):
            with os.fdopen(fd, "wb") as fb:
                fb.write(text)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        os.chmod(tmp, _file_mode(path))  # mkstemp makes 0600; keep the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The existing file's mode, else what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
