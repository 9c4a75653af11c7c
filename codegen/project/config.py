"""Project configuration: the `[tool.codegen]` table of pyproject.toml.

Contract: `load_config(path)` reads pyproject.toml with tomllib, validates the
table and returns a frozen `Config`; it never parses Python sources (the
workflow expands whole-file entries). Every problem is a `ConfigError` that
names the key, located at its line in pyproject.toml when it can be found:

    pyproject.toml:7:1: error: [tool.codegen] unknown key 'outptu'
        outptu = "generated"
        ^~~~~~
    hint: known keys: options, output, sources

The table:

    [tool.codegen]
    output = "generated"                    # default "generated"
    sources = ["examples/neuron.py:neuron", "examples/circuit.py"]

    [tool.codegen.options."examples/neuron.py:neuron"]
    wrt = ["w0", "x0"]                      # default: no integers, no defaults
    shapes = { x = [3, 4] }                 # array shapes for `check --verify`
    at = { w0 = 2.0 }                       # fixed values for `check --verify`
    seed = 0                                # random point for `check --verify`
    output = "neuron_grad.py"               # file name inside `output`

Paths are relative to the directory holding pyproject.toml, the project root.
The output directory must stay inside it once resolved (`..`, absolute paths
and symlinks pointing elsewhere are errors): `codegen build` writes and
deletes only there.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any

from codegen.core.ir import Loc
from codegen.errors import CodegenError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TABLE = "[tool.codegen]"
TOP_KEYS = ("options", "output", "sources")
OPTION_KEYS = ("at", "output", "seed", "shapes", "wrt")
EXAMPLE = 'add\n  [tool.codegen]\n  sources = ["src/model.py:loss"]'


class ConfigError(CodegenError):
    """A bad `[tool.codegen]` table (exit code 2)."""


@dataclass(frozen=True)
class Options:
    """Per-function options: `wrt` shapes the output; the rest only verification."""

    #: Parameters to differentiate, in output order; None means the default (`codegen.core.params`).
    wrt: tuple[str, ...] | None = None
    #: Array shapes of parameters, for `check --verify`.
    shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    #: Fixed parameter values, for `check --verify`.
    at: Mapping[str, Any] = field(default_factory=dict)
    #: Seed of the random verification point.
    seed: int = 0
    #: Output file name (inside the output directory) instead of the default.
    output: str | None = None


@dataclass(frozen=True)
class Config:
    """A validated `[tool.codegen]` table."""

    #: pyproject.toml itself.
    path: Path
    #: Its directory: every configured path is relative to it.
    root: Path
    #: The output directory, relative to `root`.
    output: str
    #: The `sources` entries, `PATH:FUNC` or `PATH`, in order.
    sources: tuple[str, ...]
    #: Options keyed by `PATH:FUNC` (one function) or `PATH` (its whole file).
    options: Mapping[str, Options]
    #: The text of pyproject.toml, to locate errors.
    text: str = ""

    def error(
        self,
        message: str,
        key: str | None = None,
        hint: str | None = None,
        within: str | tuple[str, ...] = TABLE,
    ) -> ConfigError:
        """A `ConfigError` pointing at `key` in pyproject.toml, searched from
        the first line mentioning `within` (a table header or options key)."""
        loc = locate(self.text, key, within)
        return ConfigError(message, loc, hint, shown_path(self.path), self.text)


def shown_path(path: Path | str) -> str:
    """`path` as errors show it: relative to the working directory when it
    is inside it (as black and ruff print paths), else as it is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def find_config(start: Path | str = ".") -> Path:
    """The nearest pyproject.toml at or above `start`."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / "pyproject.toml"
    raise ConfigError(f"no pyproject.toml in {here} or above", None, EXAMPLE, "codegen")


def locate(
    text: str, key: str | None, within: str | tuple[str, ...] = ()
) -> Loc | None:
    """Where `key` (a bare or quoted TOML key, or a quoted string) first
    appears, searching from the line of each anchor in `within` in turn."""
    if not key:
        return None
    lines = text.splitlines()
    start = 0
    for anchor in (within,) if isinstance(within, str) else within:
        start = next((i for i in range(start, len(lines)) if anchor in lines[i]), start)
    quoted = re.escape(f'"{key}"') + "|" + re.escape(f"'{key}'")
    bare = rf"(?<![\w.\"'-]){re.escape(key)}(?=\s*=)"
    for number in range(start + 1, len(lines) + 1):
        line = lines[number - 1]
        match = re.search(f"{quoted}|{bare}", line)
        if match and not line.lstrip().startswith("#"):
            return Loc(number, match.start(), number, match.end())
    return None


def load_config(path: Path | str | None = None) -> Config:
    """Read and validate `[tool.codegen]` from `path` (default: the nearest
    pyproject.toml)."""
    path = Path(path) if path is not None else find_config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read {shown_path(path)}: {exc}", None, None, shown_path(path)
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(exc, path, text) from None
    table = data.get("tool", {}).get("codegen")
    shell = Config(path, path.parent, "generated", (), {}, text)
    if not isinstance(table, dict):
        raise shell.error(f"no {TABLE} table", None, EXAMPLE)
    _check_keys(shell, table, TOP_KEYS, TABLE)
    output = _output_dir(shell, table.get("output", "generated"))
    if inside(path.parent, output) is None:
        raise shell.error(
            f"{TABLE} 'output' = {output!r} is outside the project root"
            f" ({path.parent.resolve()}) once resolved",
            "output",
            'codegen writes only inside the folder of pyproject.toml; e.g. output = "generated"',
        )
    return Config(
        path=path,
        root=path.parent,
        output=output,
        sources=_sources(shell, table.get("sources")),
        options=_options(shell, table.get("options", {})),
        text=text,
    )


def _toml_error(exc: Exception, path: Path, text: str) -> ConfigError:
    """tomllib's message ends with `(at line L, column C)`: turn it into a caret."""
    message = str(exc)
    match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
    loc = None
    if match:
        line, col = int(match.group(1)), int(match.group(2)) - 1
        loc = Loc(line, col, line, col + 1)
        message = message[: match.start()].strip()
    return ConfigError(f"invalid TOML: {message}", loc, None, shown_path(path), text)


def _check_keys(
    shell: Config,
    table: Mapping[str, Any],
    known: tuple[str, ...],
    where: str,
    within: str = "",
) -> None:
    for key in table:
        if key not in known:
            hint = "known keys: " + ", ".join(known)
            raise shell.error(
                f"{where} unknown key '{key}'", key, hint, (TABLE, within)
            )


def _output_dir(shell: Config, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise shell.error(f"{TABLE} 'output' must be a directory path string", "output")
    return value.strip().rstrip("/") or "."


def inside(root: Path, rel: str) -> str | None:
    """`rel` (relative to `root`) resolved, symlinks followed, as a POSIX
    path relative to the resolved `root`; None when it lands outside `root`
    (or cannot be resolved)."""
    try:
        base = root.resolve()
        where = (base / rel).resolve()
        return where.relative_to(base).as_posix()
    except (OSError, ValueError, RuntimeError):  # outside, a loop, a bad name
        return None


def _sources(shell: Config, value: Any) -> tuple[str, ...]:
    if value is None:
        raise shell.error(f"{TABLE} missing key 'sources'", None, EXAMPLE)
    if not isinstance(value, list) or not all(
        isinstance(v, str) and v.strip() for v in value
    ):
        raise shell.error(
            f"{TABLE} 'sources' must be a list of strings",
            "sources",
            'e.g. sources = ["src/model.py:loss", "src/layers.py"]',
        )
    seen: set[str] = set()
    for entry in value:
        if entry in seen:
            raise shell.error(f"{TABLE} 'sources' lists '{entry}' twice", entry)
        seen.add(entry)
    return tuple(value)


def _options(shell: Config, value: Any) -> dict[str, Options]:
    if not isinstance(value, dict) or not all(
        isinstance(v, dict) for v in value.values()
    ):
        raise shell.error(
            f"{TABLE} 'options' must be a table of tables",
            "options",
            'e.g. [tool.codegen.options."src/model.py:loss"] then wrt = ["w"]',
        )
    return {key: _one_options(shell, key, table) for key, table in value.items()}


def _one_options(shell: Config, key: str, table: dict[str, Any]) -> Options:
    sec = _Section(shell, key)
    _check_keys(shell, table, OPTION_KEYS, sec.where, key)
    return Options(
        wrt=_wrt(sec, table.get("wrt")),
        shapes=_shapes(sec, table.get("shapes", {})),
        at=_values(sec, table.get("at", {})),
        seed=_seed(sec, table.get("seed", 0)),
        output=_output_name(sec, table.get("output")),
    )


@dataclass(frozen=True)
class _Section:
    """One `[tool.codegen.options."KEY"]` table, for located errors."""

    shell: Config
    key: str

    @property
    def where(self) -> str:
        return f'[tool.codegen.options."{self.key}"]'

    def error(
        self, message: str, key: str, hint: str | None = None, table: str = ""
    ) -> ConfigError:
        within = (TABLE, self.key, table) if table else (TABLE, self.key)
        return self.shell.error(f"{self.where} {message}", key, hint, within)


def _wrt(sec: _Section, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(_ident(v) for v in value):
        raise sec.error(
            "'wrt' must be a non-empty list of parameter names",
            "wrt",
            'e.g. wrt = ["w", "b"]',
        )
    return tuple(value)


def _shapes(sec: _Section, value: Any) -> dict[str, tuple[int, ...]]:
    hint = "e.g. shapes = { x = [3, 4] }"
    if not isinstance(value, dict):
        raise sec.error("'shapes' must be a table", "shapes", hint)
    shapes = {}
    for name, dims in value.items():
        if (
            not _ident(name)
            or not isinstance(dims, list)
            or not all(_count(d) for d in dims)
        ):
            raise sec.error(
                f"'shapes.{name}' must be a list of non-negative integers",
                name,
                hint,
                "shapes",
            )
        shapes[name] = tuple(dims)
    return shapes


def _values(sec: _Section, value: Any) -> dict[str, Any]:
    hint = "e.g. at = { w0 = 2.0 }"
    if not isinstance(value, dict):
        raise sec.error("'at' must be a table", "at", hint)

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    for name, given in value.items():
        entries = given.items() if isinstance(given, dict) else [("", given)]
        if not _ident(name) or not all(
            (not k or _ident(k)) and number(v) for k, v in entries
        ):
            raise sec.error(
                f"'at.{name}' must be a number (or a table of numbers: a dict of"
                " settings)",
                name,
                hint,
                "at",
            )
    return dict(value)


def _seed(sec: _Section, value: Any) -> int:
    if not _count(value):
        raise sec.error("'seed' must be a non-negative integer", "seed")
    return int(value)


def _output_name(sec: _Section, value: Any) -> str | None:
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or not value.endswith(".py")
        or "\0" in value
        or PurePath(value).is_absolute()
        or PureWindowsPath(value).is_absolute()
        or value.startswith(("/", "\\"))
    ):
        raise sec.error(
            "'output' must be a .py file name inside the output directory",
            "output",
            'e.g. output = "model_grad.py"',
        )
    return value


def _ident(value: Any) -> bool:
    return isinstance(value, str) and value.isidentifier()


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
