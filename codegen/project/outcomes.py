"""What `build` and `check` report: one `Outcome` per module or function,
their statuses, and the `Result` of a whole run with its exit code."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from codegen.project.stamp import BUILD_COMMAND

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
