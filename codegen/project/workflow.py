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
from collections.abc import Iterable
from pathlib import Path

from codegen.errors import CodegenError
from codegen.files import read_source, write_atomic
from codegen.project.config import Config, ConfigError, load_config
from codegen.project.outcomes import (
    CREATED,
    DEEP_STALE,
    EDITED,
    ERROR,
    FUNCTION,
    INTERNAL,
    MISSING,
    MODULE,
    NOT_VERIFIED,
    ORPHANED,
    REGENERATED,
    REMOVED,
    STALE,
    UP_TO_DATE,
    VERIFIED,
    VERIFY_FAILED,
    Outcome,
    Reporter,
    Result,
)
from codegen.project.stamp import (
    BUILD_COMMAND,
    GENERATED,
    input_hash,
    lf,
    output_hash,
    recorded,
    recorded_path,
    render_module,
)
from codegen.project.sweep import sweep
from codegen.project.targets import Target, disk_path, plan

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


# ----- verification -----


def _verify_one(target: Target, root: Path) -> Outcome:
    """Run the numeric gradient check when every array parameter's shape is known."""
    from codegen.checks.points import check_names
    from codegen.checks.verify import VerificationError, verify_file
    from codegen.core.shapes import annotation_dims
    from codegen.front.parse import parse

    opts = target.options
    try:
        fn = parse(
            read_source(disk_path(root, target.source)), target.source, target.func
        )
        for given, key in ((opts.shapes, "shapes"), (opts.at, "at"), (opts.wrt, "wrt")):
            check_names(fn, given or (), f"the option '{key}' of {target.origin}")
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
    outcomes += _reported(sweep(config, targets, True, failed), report)
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
    outcomes += _reported(sweep(config, targets, remove=False), report)
    if verify:
        outcomes += _reported((_verify_one(t, config.root) for t in targets), report)
    return Result("check", outcomes, _fix_command(config))


#: The statuses are re-exported for `buildcli` and callers of the API.
__all__ = [
    "CREATED",
    "EDITED",
    "ERROR",
    "FUNCTION",
    "INTERNAL",
    "MISSING",
    "MODULE",
    "NOT_VERIFIED",
    "ORPHANED",
    "REGENERATED",
    "REMOVED",
    "STALE",
    "UP_TO_DATE",
    "VERIFIED",
    "VERIFY_FAILED",
    "ConfigError",
    "Outcome",
    "Reporter",
    "Result",
    "Target",
    "build",
    "check",
    "plan",
]
