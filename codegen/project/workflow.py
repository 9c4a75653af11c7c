"""Build-time generation: `codegen build` and `codegen check` over a project.

Contract:

* The modules are `targets.plan(config)`: one per configured function. Each
  module `build` writes is stamped (`codegen.project.stamp`) with the hash of its
  inputs and the hash of its own text. A module is *fresh* when both match,
  *stale* when its inputs changed, and *edited by hand* when its text no
  longer matches its output hash (or it has none). Telling them apart reads
  files and hashes text: the generator (libcst, jinja2, black) is imported
  only to write a module, to print a diff, or in `deep` mode (which
  regenerates every module and compares bytes instead of trusting hashes).
* Ownership: a module's header records its path relative to the project root
  (`stamp.recorded_path`). `build` overwrites a file only when codegen wrote
  it and it records no other path (`force` is needed when it was edited by
  hand), and deletes an *orphan* (a module it wrote earlier for a source no
  longer configured, found anywhere under the output directory) only when
  the orphan records its own path in this project and matches its output
  hash. Copies, other projects' modules and every other file are reported
  or left alone, never removed; a build with any error removes nothing.
  Temporary files a killed build left (``.name.py.<random>.tmp``) are
  removed by `build` and reported by `check`.
* `build` skips fresh modules, writes atomically (`codegen.files.write_atomic`) after
  `stamp.check_generated` accepted the text, and keeps going past a source
  that fails, reporting it (an internal error in one module too). `check`
  changes nothing.
* Both return a `Result` (values, no printing) and stream each `Outcome` to
  an optional `report` callback; `codegen.buildcli` prints them.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from codegen.errors import CodegenError
from codegen.files import read_source, write_atomic
from codegen.project.config import Config, ConfigError, load_config
from codegen.project.stamp import (
    BUILD_COMMAND,
    GENERATED,
    built_by_codegen,
    input_hash,
    lf,
    output_hash,
    recorded,
    recorded_path,
    render_module,
)
from codegen.project.targets import Target, disk_path, plan

# Statuses of one module (or, for verification, one function).
UP_TO_DATE, CREATED, REGENERATED, REMOVED = (
    "up to date",
    "created",
    "regenerated",
    "removed",
)
MISSING, STALE, EDITED, ORPHANED = "missing", "stale", "edited by hand", "orphaned"
VERIFIED, NOT_VERIFIED, VERIFY_FAILED = (
    "verified",
    "not verified",
    "verification failed",
)
ERROR = "error"
INTERNAL = "internal error"
LEFTOVER = "temporary file"
#: What an outcome is about: a generated module, or a function's verification.
MODULE, FUNCTION = "module", "function"
DEEP_STALE = (
    "its inputs hash matches but codegen now writes it differently "
    "(codegen changed without a version bump); run: codegen build --force"
)
FAILURES = frozenset({MISSING, STALE, EDITED, ORPHANED, VERIFY_FAILED, LEFTOVER})
NEEDS_BUILD = frozenset({MISSING, STALE, ORPHANED})


@dataclass
class Outcome:
    """What `build` or `check` found or did for one module or function."""

    #: The module's path (or, for verification, `PATH:FUNC`).
    path: str
    status: str
    #: Unified diff from the file on disk to the regenerated module.
    diff: str = ""
    #: An error, a refusal's reason or a verification summary.
    message: str = ""
    #: MODULE, or FUNCTION for `check(verify=True)`'s numeric checks.
    kind: str = MODULE


@dataclass
class Result:
    """The outcomes of one `build` or `check`, in configuration order."""

    command: str
    outcomes: list[Outcome]
    #: The command that rebuilds this project, e.g. ``codegen build``.
    fix: str = BUILD_COMMAND

    @property
    def exit_code(self) -> int:
        """0 all fresh, 1 something is stale, edited or failed, 2 a bad source,
        3 an internal error (a bug in codegen)."""
        statuses = {o.status for o in self.outcomes}
        if INTERNAL in statuses:
            return 3
        return 2 if ERROR in statuses else 1 if statuses & FAILURES else 0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def summary(self) -> str:
        """One line: the counts and, when something must change, the fix."""
        counts = Counter(o.status for o in self.outcomes)
        text = _counted(self.outcomes, MODULE, lambda o: o.kind == MODULE)
        functions = _counted(self.outcomes, FUNCTION, lambda o: o.kind == FUNCTION)
        text = "; ".join(t for t in (text, functions) if t) or "nothing configured"
        if counts.keys() & NEEDS_BUILD and self.command == "check":
            text += f"; run: {self.fix}"
        if counts[EDITED]:
            text += f"; to discard hand edits run: {self.fix} --force"
        return text

    def __str__(self) -> str:
        lines = [
            f"{o.path}: {o.status}" + (f"\n{o.message}" if o.message else "") + o.diff
            for o in self.outcomes
        ]
        return "\n".join([*lines, self.summary()])


Reporter = Callable[[Outcome], None]


def _counted(
    outcomes: list[Outcome], noun: str, keep: Callable[[Outcome], bool]
) -> str:
    """``5 modules up to date`` or ``5 modules: 2 regenerated, 3 up to date``."""
    counts = Counter(o.status for o in outcomes if keep(o))
    total = sum(counts.values())
    if not total:
        return ""
    nouns = f"{total} {noun}" + ("s" if total != 1 else "")
    if len(counts) == 1:
        return f"{nouns} {next(iter(counts))}"
    return f"{nouns}: " + ", ".join(f"{n} {status}" for status, n in counts.items())


# ----- one module -----


class _Module:
    """A target with its source and current module read from disk."""

    def __init__(self, target: Target, root: Path) -> None:
        self.target = target
        self.root = root
        self.source = read_source(disk_path(root, target.source))
        out = root / target.output
        self.current = out.read_text(encoding="utf-8") if out.is_file() else None

    def state(self) -> str:
        """MISSING, EDITED, STALE or UP_TO_DATE, from the hashes alone.

        Raises:
            CodegenError: the file is not this module: codegen did not write
                it, or wrote it for another path (a copy, another project).
        """
        if self.current is None:
            return MISSING
        out = self.target.output
        if not self.current.startswith(GENERATED):
            raise CodegenError(
                "codegen did not write this file; it is never overwritten, even with --force",
                None,
                "move it away, or choose another output in [tool.codegen]",
                out,
            )
        owner = recorded_path(self.current)
        if owner is not None and owner != out:
            raise CodegenError(
                f"this module records {owner} as its path (a copy, or another"
                " project's module); it is never overwritten, even with --force",
                None,
                "delete it if it is a stale copy, or choose another output",
                out,
            )
        inputs, output = recorded(self.current)
        if output is None or output != output_hash(self.current):
            return EDITED
        return UP_TO_DATE if inputs == input_hash(self.source, self.target) else STALE

    def why_edited(self) -> str:
        if recorded(self.current or "")[1] is None:
            return "it has no codegen-output hash: codegen build did not write it"
        return "its text no longer matches its codegen-output hash"

    @functools.cached_property
    def fresh(self) -> str:
        return render_module(self.source, self.target)

    def diff(self) -> str:
        import difflib

        before = lf(self.current or "").splitlines(keepends=True)
        after = self.fresh.splitlines(keepends=True)
        path = self.target.output
        lines = difflib.unified_diff(
            before, after, f"{path} (on disk)", f"{path} (regenerated)"
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _internal(path: str, exc: BaseException) -> Outcome:
    return Outcome(
        path,
        INTERNAL,
        message=f"{path}: internal error: {type(exc).__name__}: {exc} (a bug in codegen)",
    )


def _check_one(target: Target, root: Path, deep: bool, diff: bool) -> Outcome:
    try:
        module = _Module(target, root)
        status = module.state()
        why = module.why_edited() if status == EDITED else ""
        if status == UP_TO_DATE and deep and module.fresh != lf(module.current or ""):
            status, why = STALE, DEEP_STALE
        changes = module.diff() if diff and status in (STALE, EDITED) else ""
        return Outcome(target.output, status, changes, why)
    except CodegenError as err:
        return Outcome(target.output, ERROR, message=str(err))
    except (OSError, UnicodeDecodeError) as exc:
        return Outcome(
            target.output, ERROR, message=f"{target.output}: error: cannot read: {exc}"
        )
    except Exception as exc:  # noqa: BLE001 - one module's bug never stops the rest
        return _internal(target.output, exc)


def _build_one(target: Target, root: Path, force: bool) -> Outcome:
    try:
        module = _Module(target, root)
        status = module.state()
        if status == UP_TO_DATE and not force:
            return Outcome(target.output, UP_TO_DATE)
        if status == EDITED and not force:
            why = f"{module.why_edited()}; not overwritten (rerun with --force to replace it)"
            return Outcome(target.output, EDITED, message=why)
        if module.fresh == lf(module.current or ""):
            return Outcome(target.output, UP_TO_DATE)
        write_atomic(root / target.output, module.fresh)
        return Outcome(target.output, CREATED if status == MISSING else REGENERATED)
    except CodegenError as err:
        return Outcome(target.output, ERROR, message=str(err))
    except (OSError, UnicodeDecodeError) as exc:
        return Outcome(
            target.output, ERROR, message=f"{target.output}: error: cannot write: {exc}"
        )
    except Exception as exc:  # noqa: BLE001 - one module's bug never stops the rest
        return _internal(target.output, exc)


# ----- orphans: modules `build` wrote for sources no longer configured -----

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


def _sweep(
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


# ----- verification -----


def _verify_one(target: Target, root: Path) -> Outcome:
    """Run the numeric gradient check when every array parameter's shape is known."""
    from codegen.checks.verify import VerificationError, verify_file
    from codegen.core.shapes import annotation_dims
    from codegen.front.parse import parse

    opts = target.options
    try:
        fn = parse(
            read_source(disk_path(root, target.source)), target.source, target.func
        )
        known = {*opts.shapes, *opts.at}
        unknown = [
            p.name
            for p in fn.params
            if not p.integer
            and p.name not in known
            and annotation_dims(p.annotation) is None
        ]
        if fn.array and unknown:
            why = f"shapes unknown for {', '.join(unknown)}; add shapes = {{ {unknown[0]} = [...] }}"
            return Outcome(target.origin, NOT_VERIFIED, message=why, kind=FUNCTION)
        path = root / target.source
        report = verify_file(
            path, target.func, opts.wrt, opts.at, opts.shapes, opts.seed
        )
    except CodegenError as err:
        return Outcome(target.origin, ERROR, message=str(err), kind=FUNCTION)
    except VerificationError as err:
        return Outcome(target.origin, VERIFY_FAILED, message=str(err), kind=FUNCTION)
    except Exception as exc:  # noqa: BLE001 - the user's forward ran and raised
        return Outcome(
            target.origin,
            ERROR,
            message=f"running the forward failed: {exc!r}",
            kind=FUNCTION,
        )
    status = VERIFIED if report.ok else VERIFY_FAILED
    return Outcome(target.origin, status, message=report.summary(), kind=FUNCTION)


# ----- the API -----


def _load(config: Config | str | Path | None) -> Config:
    return config if isinstance(config, Config) else load_config(config)


def _fix_command(config: Config) -> str:
    if config.path.resolve() == Path("pyproject.toml").resolve():
        return BUILD_COMMAND
    return f"{BUILD_COMMAND} --config {disk_path(config.root, config.path.name)}"


def _reported(outcomes: Iterable[Outcome], report: Reporter | None) -> list[Outcome]:
    """Collect `outcomes`, passing each to `report` as soon as it exists."""
    done = []
    for outcome in outcomes:
        done.append(outcome)
        if report:
            report(outcome)
    return done


def build(
    config: Config | str | Path | None = None,
    *,
    force: bool = False,
    report: Reporter | None = None,
) -> Result:
    """Regenerate every configured module that is missing or stale.

    Args:
        config: a `Config`, or the path of pyproject.toml (default: the nearest one).
        force: regenerate every module, overwriting hand edits.
        report: called with each `Outcome` as it happens.

    Raises:
        ConfigError: the `[tool.codegen]` table is invalid.
    """
    config = _load(config)
    targets = plan(config)
    outcomes = _reported((_build_one(t, config.root, force) for t in targets), report)
    failed = any(o.status in (ERROR, INTERNAL) for o in outcomes)
    outcomes += _reported(_sweep(config, targets, True, failed), report)
    return Result("build", outcomes, _fix_command(config))


def check(
    config: Config | str | Path | None = None,
    *,
    verify: bool = False,
    deep: bool = False,
    diff: bool = True,
    report: Reporter | None = None,
) -> Result:
    """Report modules that are missing, stale, edited by hand or orphaned.

    Args:
        config: a `Config`, or the path of pyproject.toml (default: the nearest one).
        verify: also check gradients numerically (where shapes are known).
        deep: regenerate every module and compare bytes instead of trusting the hashes.
        diff: give stale and edited modules the diff to the regenerated text
            (which imports the generator); without it, a check reads and
            hashes files only, unless `deep`.
        report: called with each `Outcome` as it happens.

    Raises:
        ConfigError: the `[tool.codegen]` table is invalid.
    """
    config = _load(config)
    targets = plan(config)
    outcomes = _reported(
        (_check_one(t, config.root, deep, diff) for t in targets), report
    )
    outcomes += _reported(_sweep(config, targets, remove=False), report)
    if verify:
        outcomes += _reported((_verify_one(t, config.root) for t in targets), report)
    return Result("check", outcomes, _fix_command(config))


__all__ = ["ConfigError", "Outcome", "Result", "Target", "build", "check", "plan"]
