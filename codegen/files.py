"""Files and targets: reading a source, naming a function, writing atomically.

The lowest layer of codegen: every other module may import it, it imports
nothing of codegen's but the errors.
"""

from __future__ import annotations

import errno
import io
import os
import tempfile
import tokenize
from pathlib import Path

from codegen.errors import CodegenError


def split_target(target: str) -> tuple[str, str | None]:
    """``PATH:FUNC`` -> (PATH, FUNC); a bare PATH names the file's entry point."""
    path, sep, func = target.rpartition(":")
    if not sep or not all(part.isidentifier() for part in func.split(".")):
        return target, None
    return path, func  # A.m (a method) too: the parse says why not


def read_source(path: str) -> str:
    """The text of `path`, or a clean error."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise CodegenError(
            f"cannot read file: {exc.strerror or exc}", None, None, path
        ) from None
    try:  # a coding cookie (PEP 263) or UTF-8, as Python itself reads it
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:  # an unknown encoding in the cookie
        raise CodegenError(
            f"cannot read the source: {exc}", None, "save the source as UTF-8", path
        ) from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        where = f" (byte {exc.start})" if isinstance(exc, UnicodeDecodeError) else ""
        raise CodegenError(
            f"file is not {encoding} text{where}",
            None,
            "save the source as UTF-8",
            path,
        ) from None
    return text.removeprefix("\ufeff") if encoding == "utf-8-sig" else text


class WriteError(OSError):
    """A file could not be written; `filename` is the file meant."""


def write_atomic(path: str | Path, text: str | bytes) -> None:
    """Write `text` (or bytes) to `path` through a temporary file and a
    rename, so an interrupted write never leaves a partial or empty file.

    Raises:
        WriteError: `path` is a directory, its folder cannot be made, ...
    """
    path = Path(path)
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a directory")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            # a rename would replace the link, device or pipe itself
            raise WriteError(
                errno.EEXIST,
                "it is not a regular file (a link, device or pipe): codegen "
                "replaces regular files only",
                str(path),
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_through_temp(path, text)
    except WriteError:
        raise
    except OSError as exc:
        why = exc.strerror or str(exc)
        if isinstance(exc, FileExistsError | NotADirectoryError):
            why = "a parent folder is a file"
        raise WriteError(exc.errno or errno.EIO, why, str(path)) from exc


def _write_through_temp(path: Path, text: str | bytes) -> None:
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


def refuse_foreign(output: Path, source: Path, mark: str) -> None:
    """`grad -o OUT` replaces only a module codegen wrote (its first line
    starts with `mark`): never the source itself, nor a file of the user's
    that happens to be at OUT."""
    if not output.is_file():
        return
    if source.exists() and os.path.samefile(output, source):
        raise CodegenError(
            f"-o {output} is the source file itself",
            None,
            "write the backward to its own file, as -o generated/<name>_grad.py",
            "codegen grad",
        )
    with open(output, encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if not first.startswith(mark):
        raise CodegenError(
            f"-o {output}: the file exists and codegen did not write it",
            None,
            "codegen replaces only modules it generated; remove the file first, or "
            "write to another path",
            "codegen grad",
        )


class ClosedOutput(io.TextIOBase):
    """Standard output when the process has none: a write is bad input
    (``codegen grad f.py:f >&-``), reported as any file that cannot be
    written; commands writing to a file (-o) never touch it."""

    def write(self, text: str) -> int:
        raise WriteError(errno.EBADF, "standard output is closed", "<stdout>")
