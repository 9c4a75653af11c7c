"""Stamps: the hashes a module written by `codegen build` records in its header.

Contract::

    # codegen-hash: sha256:<inputs>    the source file's text (newlines
    #                                  normalised), its path, the function,
    #                                  wrt, and the codegen and black versions
    # codegen-output: sha256:<output>  the module's own text without this line

`render_module` generates a module with both lines; `recorded` reads them
back; `input_hash` and `output_hash` recompute them. Only `render_module`
imports the generator (libcst, jinja2, black): checking a stamp hashes text.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from importlib import metadata

from codegen.project.targets import Target

BUILD_COMMAND = "codegen build"
HASH_KEY = "codegen-hash: sha256:"
OUTPUT_KEY = "codegen-output: sha256:"
_HASH_RE = re.compile(r"^# codegen-hash: sha256:([0-9a-f]{64})$", re.MULTILINE)
_OUTPUT_RE = re.compile(r"^# codegen-output: sha256:([0-9a-f]{64})\n", re.MULTILINE)
HEADER_CHARS = 1024  # the hash lines sit in the first few lines of a module


@functools.cache
def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


#: The black versions pyproject.toml accepts, [low, high): they write the same
#: text (tests/test_black_range.py checks the oldest against the newest), so
#: they share one stamp and a team using several of them sees no stale module.
BLACK_RANGE = ((24, 1, 0), (27,))


def black_stamp() -> str:
    """What the input hash records of black: the range when the installed
    black is in it, else its exact version (its text may differ)."""
    version = _version("black")
    number = tuple(int(p) for p in re.findall(r"\d+", version)[:3])
    low, high = BLACK_RANGE
    if low <= number < high:
        return f"black>={'.'.join(map(str, low))},<{'.'.join(map(str, high))}"
    return version


def _codegen_version() -> str:
    import codegen  # at call time: this module is imported while codegen loads

    return codegen.__version__


def lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def input_hash(source_text: str, target: Target) -> str:
    """SHA-256 of everything the module's text depends on."""
    wrt = list(target.options.wrt) if target.options.wrt else None
    payload = {
        "scheme": 1,
        "source": target.source,
        "func": target.func,
        "wrt": wrt,
        "text": lf(source_text),
        "codegen": _codegen_version(),
        "black": black_stamp(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def output_hash(module_text: str) -> str:
    """SHA-256 of a module's text without its `codegen-output` line."""
    body = _OUTPUT_RE.sub("", lf(module_text), count=1)
    return hashlib.sha256(body.encode()).hexdigest()


def recorded(module_text: str) -> tuple[str | None, str | None]:
    """The (input, output) hashes a module's header records, or None."""
    head = lf(module_text[:HEADER_CHARS])
    found = _HASH_RE.search(head), _OUTPUT_RE.search(head)
    return found[0] and found[0].group(1), found[1] and found[1].group(1)


def render_module(source_text: str, target: Target) -> str:
    """Generate `target`'s module with both hashes in its header."""
    from codegen.pipeline import generate

    hash_line = HASH_KEY + input_hash(source_text, target)
    code = generate(
        source_text,
        target.source,
        target.func,
        target.options.wrt,
        command=BUILD_COMMAND,
        header_extra=[hash_line],
    )
    return stamped(code)


def stamped(module_text: str) -> str:
    """`module_text` with a `codegen-output` line, after its `codegen-hash`
    line, that matches its text."""
    body = _OUTPUT_RE.sub("", lf(module_text), count=1)
    after = _HASH_RE.search(body[:HEADER_CHARS])
    if after is None:
        raise ValueError("the module has no codegen-hash line")
    line = f"# {OUTPUT_KEY}{hashlib.sha256(body.encode()).hexdigest()}\n"
    return body[: after.end() + 1] + line + body[after.end() + 1 :]
