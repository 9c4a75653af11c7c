"""Targets: which module `codegen build` writes for which configured function.

Contract: `plan(config)` expands the `[tool.codegen]` sources into `Target`s in
configuration order, one generated module per function:
``<output>/<stem>_grad.py`` when a source file has one configured function,
``<output>/<stem>_<func>_grad.py`` for each when it has several, or the
`output` option's name. A whole-file entry names every function of the file
that no other one calls (`entry_points`, read with `ast`, fast enough to run
on every check). Each output is resolved (symlinks followed) and recorded
relative to the project root; it must stay inside the output directory and
the project root and must not be a configured source. Two targets writing one
file, a function configured twice, an unreadable file and options matching no
target are `ConfigError`s.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from codegen.errors import CodegenError
from codegen.files import read_source, split_target
from codegen.project.config import TABLE, Config, Options, inside


@dataclass(frozen=True)
class Target:
    """One configured function and the module generated from it."""

    #: The source file, relative to the project root, as configured.
    source: str
    #: The function's name.
    func: str
    #: The generated module, relative to the project root.
    output: str
    options: Options = field(default_factory=Options)

    @property
    def origin(self) -> str:
        return f"{self.source}:{self.func}"


def plan(config: Config) -> list[Target]:
    """The configured functions, in order, with their output paths and options."""
    pairs = [
        (entry, path, func)
        for entry in config.sources
        for path, func in _expand(config, entry)
    ]
    per_file = Counter(path for _, path, _ in pairs)
    sources = {inside(config.root, path) for _, path, _ in pairs}
    targets: dict[str, Target] = {}
    used: set[str] = set()
    for entry, path, func in pairs:
        key = next((k for k in (f"{path}:{func}", path) if k in config.options), None)
        options = config.options[key] if key else Options()
        used.add(key or "")
        stem = PurePosixPath(path).stem
        name = options.output or (
            f"{stem}_grad.py" if per_file[path] == 1 else f"{stem}_{func}_grad.py"
        )
        output = _output_path(config, name, key if options.output else None, entry)
        if output in sources:
            raise _path_error(
                config, f"would overwrite the source {output}", key, entry
            )
        target = Target(path, func, output, options)
        _no_clash(config, entry, target, targets)
        targets[target.output] = target
    for key in config.options:
        if key not in used:
            raise config.error(
                f"[tool.codegen] options for '{key}' match no configured function",
                key,
                "options keys are PATH:FUNC or PATH entries of 'sources'",
            )
    return list(targets.values())


def _output_path(config: Config, name: str, key: str | None, entry: str) -> str:
    """The module's path relative to the project root, resolved; a located
    error when it leaves the output directory or the project."""
    folder = inside(config.root, config.output)
    output = inside(config.root, str(PurePosixPath(config.output, name)))
    if output is None or folder is None:
        raise _path_error(config, "is outside the project root", key, entry)
    if folder != "." and not output.startswith(folder + "/"):
        raise _path_error(
            config, f"is outside the output directory {folder}", key, entry
        )
    return output


def _path_error(config: Config, why: str, key: str | None, entry: str) -> Exception:
    if key is None:  # the default name: the entry itself is at fault
        return config.error(f"{TABLE} sources: the module of '{entry}' {why}", entry)
    return config.error(
        f"[tool.codegen.options.\"{key}\"] 'output' {why}",
        "output",
        'a .py file name inside the output directory, e.g. output = "model_grad.py"',
        (TABLE, key),
    )


def _expand(config: Config, entry: str) -> list[tuple[str, str]]:
    """`PATH:FUNC` -> that function; `PATH` -> every function of the file
    that no other function calls."""
    path, func = split_target(entry)
    if func:
        return [(path, func)]
    try:
        funcs = entry_points(read_source(disk_path(config.root, path)), path)
    except CodegenError as err:
        raise config.error(
            f"[tool.codegen] sources: '{entry}': {err.message}", entry
        ) from None
    if not funcs:
        raise config.error(
            f"[tool.codegen] sources: '{entry}' defines no public function", entry
        )
    return [(path, f) for f in funcs]


def entry_points(source: str, filename: str) -> list[str]:
    """`parse.list_functions` at `ast` speed (libcst's visitors cost ~10 ms a
    file, too slow for a pre-commit check): the top-level functions that no
    other one names, except `_private` ones. A name is any identifier in the
    def, as libcst's `Name` nodes are; tests hold the two to agree. A file
    that does not parse goes to `parse` for its located error."""
    import ast

    try:
        module = ast.parse(source, filename)
    except (SyntaxError, ValueError):
        from codegen.front.parse import list_functions

        return list_functions(source, filename)
    defs = {
        s.name: s
        for s in module.body
        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    called: set[str] = set()
    for name, fdef in defs.items():
        called |= {n for n in _identifiers(fdef) if n in defs and n != name}
    return [n for n in defs if n not in called and not n.startswith("_")]


def _identifiers(tree: object) -> set[str]:
    """Every identifier in an `ast` tree: names, attributes, parameters,
    keywords, imports."""
    import ast

    found: set[str] = set()
    for node in ast.walk(tree):  # type: ignore[arg-type]
        if isinstance(node, ast.Constant):
            continue
        for key, value in ast.iter_fields(node):
            values = value if isinstance(value, list) else [value]
            if key not in ("type_comment", "kind"):
                found.update(
                    p for v in values if isinstance(v, str) for p in v.split(".")
                )
    return found


def _no_clash(
    config: Config, entry: str, target: Target, targets: dict[str, Target]
) -> None:
    other = targets.get(target.output)
    if other is None:
        return
    if other.origin == target.origin:
        raise config.error(
            f"[tool.codegen] sources: '{target.origin}' is configured twice", entry
        )
    raise config.error(
        f"[tool.codegen] '{other.origin}' and '{target.origin}' would both write {target.output}",
        entry,
        f'set output = "..." in [tool.codegen.options."{target.origin}"]',
    )


def disk_path(root: Path, rel: str) -> str:
    """`rel` as a path to open (relative to the working directory when short)."""
    path = root / rel
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
