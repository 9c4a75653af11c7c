"""Orphans and leftovers: modules `build` wrote for sources no longer
configured, and temporary files a killed build left, under the output
directory. `build` removes only what this project owns unchanged; `check`
reports them (see `codegen.project.workflow` for the ownership contract)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codegen.project.config import Config
from codegen.project.outcomes import LEFTOVER, ORPHANED, REMOVED, Outcome
from codegen.project.stamp import (
    GENERATED,
    built_by_codegen,
    output_hash,
    recorded,
    recorded_path,
)
from codegen.project.targets import Target

#: ``.<module>.py.<random>.tmp``, the temporary file of `cli.write_atomic`.
_TEMP_RE = re.compile(r"^\.(.+\.py)\.[A-Za-z0-9_]{6,16}\.tmp$")
#: A temporary file younger than this may belong to a build still running.
TEMP_AGE = 10.0
#: Folders the orphan search never enters.
_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass
class _Found:
    """A file under the output directory that is no configured module."""

    #: Path relative to the project root.
    rel: str
    file: Path
    #: REMOVED when `build` may delete it, else why it stays.
    verdict: str
    #: LEFTOVER for a temporary file, ORPHANED for a module.
    kind: str = ORPHANED


def _walk(config: Config) -> Iterable[Path]:
    """Files under the output directory, in sorted order; never following a
    symlink, entering a hidden folder or another project's folder."""
    top = (config.root / config.output).resolve()  # inside the root: load_config
    if not top.is_dir():
        return
    for folder, dirs, files in os.walk(top):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in _SKIP_DIRS
            and not (here / d / "pyproject.toml").exists()
            and not (here / d / "pyvenv.cfg").exists()
        )
        for name in sorted(files):
            file = here / name
            if not file.is_symlink() and (name.endswith((".py", ".tmp"))):
                yield file


def _found(config: Config, expected: set[str]) -> list[_Found]:
    """Orphaned modules and leftover temporary files under the output directory."""
    root = config.root.resolve()
    found = []
    for file in _walk(config):
        rel = file.relative_to(root).as_posix()
        if rel in expected:
            continue
        try:
            with file.open(encoding="utf-8", errors="replace") as fh:
                head = fh.read(64 * 1024)
        except OSError:
            continue
        if _TEMP_RE.match(file.name):
            if head.startswith(GENERATED) or GENERATED.startswith(head):
                found.append(_Found(rel, file, _temp_verdict(file), LEFTOVER))
        elif built_by_codegen(head):
            found.append(_Found(rel, file, _orphan_verdict(root, file, rel)))
    return found


def _temp_verdict(file: Path) -> str:
    try:
        age = time.time() - file.stat().st_mtime
    except OSError:
        return "it disappeared"
    if age < TEMP_AGE:
        return "another build may still be writing it; the next build removes it"
    return REMOVED


def _orphan_verdict(root: Path, file: Path, rel: str) -> str:
    """REMOVED when the module is this project's own orphan, unchanged; else
    why it is not removed ("" for another project's module: not reported)."""
    text = file.read_text(encoding="utf-8", errors="replace")
    owner = recorded_path(text)
    if owner is None:
        return (
            "it does not record its path (an older codegen wrote it), so it is"
            " not removed; delete it if it is yours"
        )
    if owner != rel:
        for folder in file.parents:
            other = folder != root and (folder / "pyproject.toml").is_file()
            if other and (folder / owner).resolve() == file:
                return ""  # the module of the project in `folder`
        return (
            f"it records {owner} as its path, so it is a copy or was moved;"
            " not removed (delete it yourself)"
        )
    if recorded(text)[1] != output_hash(text):
        return "edited by hand, so not removed (delete it yourself)"
    return REMOVED


def sweep(
    config: Config, targets: list[Target], remove: bool, failed: bool = False
) -> list[Outcome]:
    """Report (and with `remove`, delete) orphans and leftover temporary files;
    `failed` (a build with errors) removes nothing."""
    outcomes = []
    for item in _found(config, {t.output for t in targets}):
        if item.kind == ORPHANED and not item.verdict:
            continue
        if item.kind == LEFTOVER and item.verdict != REMOVED:
            continue  # young: probably a build running now
        if remove and not failed and item.verdict == REMOVED:
            try:
                item.file.unlink()
            except FileNotFoundError:
                continue
            why = (
                "a temporary file left by an interrupted build"
                if item.kind == LEFTOVER
                else ""
            )
            outcomes.append(Outcome(item.rel, REMOVED, message=why))
            continue
        if item.kind == LEFTOVER:
            why = "a temporary file left by an interrupted build; codegen build removes it"
        else:
            why = "its source is no longer configured"
        if item.verdict != REMOVED:
            why += f"; {item.verdict}"
        elif remove and failed:
            why += "; not removed because the build had errors"
        outcomes.append(Outcome(item.rel, item.kind, message=why))
    return outcomes
