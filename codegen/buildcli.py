"""CLI glue for `codegen build` and `codegen check`: arguments in, lines out.

Contract: parses the options, calls `codegen.project.workflow`, prints one line
per module as it goes (`generated/neuron_grad.py: regenerated`) with messages
under it, then a summary, to stderr (where black and ruff report); with
``check --diff``, the unified diffs of stale and edited modules to stdout.
Colour only when the stream is a terminal (and NO_COLOR is unset). Returns
the `Result`'s exit code: 0 fresh, 1 stale, edited or failed, 2 bad
configuration or source.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from codegen.project import workflow as wf

_GREEN, _RED, _YELLOW, _CYAN, _BOLD = "32", "31", "33", "36", "1"
_COLOURS = {
    wf.CREATED: _GREEN,
    wf.REGENERATED: _GREEN,
    wf.REMOVED: _GREEN,
    wf.VERIFIED: _GREEN,
    wf.MISSING: _RED,
    wf.STALE: _RED,
    wf.EDITED: _RED,
    wf.ORPHANED: _RED,
    wf.VERIFY_FAILED: _RED,
    wf.ERROR: _RED,
    wf.NOT_VERIFIED: _YELLOW,
}
#: What --quiet leaves out: everything that is not a problem.
_QUIET_HIDDEN = frozenset({wf.UP_TO_DATE, wf.VERIFIED, wf.CREATED, wf.REGENERATED})


def _colour_on(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def paint(text: str, code: str | None, on: bool) -> str:
    """`text` in ANSI colour `code` when `on`."""
    return f"\033[{code}m{text}\033[0m" if on and code else text


def _paint_diff(diff: str, on: bool) -> str:
    if not on:
        return diff
    codes = {"+": _GREEN, "-": _RED, "@": _CYAN}
    return "".join(
        (
            paint(line[:-1], codes.get(line[:1]), True) + "\n"
            if not line.startswith(("+++", "---"))
            else paint(line[:-1], _BOLD, True) + "\n"
        )
        for line in diff.splitlines(True)
    )


def _printer(quiet: bool) -> wf.Reporter:
    """Status lines and messages to stderr, diffs to stdout."""
    on, diff_on = _colour_on(sys.stderr), _colour_on(sys.stdout)

    def show(outcome: wf.Outcome) -> None:
        if quiet and outcome.status in _QUIET_HIDDEN:
            return
        status = paint(outcome.status, _COLOURS.get(outcome.status), on)
        print(f"{outcome.path}: {status}", file=sys.stderr)
        if outcome.message and not (quiet and outcome.status == wf.NOT_VERIFIED):
            print(_indent(outcome.message), file=sys.stderr)
        if outcome.diff:
            sys.stderr.flush()
            sys.stdout.write(_paint_diff(outcome.diff, diff_on))
            sys.stdout.flush()

    return show


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _finish(result: wf.Result, quiet: bool, diff_hint: bool = False) -> int:
    if not (quiet and result.ok):
        if diff_hint and any(
            o.status in (wf.STALE, wf.EDITED) for o in result.outcomes
        ):
            print("(codegen check --diff shows the changes)", file=sys.stderr)
        print(paint(result.summary(), _BOLD, _colour_on(sys.stderr)), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    return result.exit_code


def cmd_build(args: argparse.Namespace) -> int:
    result = wf.build(args.config, force=args.force, report=_printer(args.quiet))
    return _finish(result, args.quiet)


def cmd_check(args: argparse.Namespace) -> int:
    result = wf.check(
        args.config,
        verify=args.verify,
        deep=args.deep,
        diff=args.diff,
        report=_printer(args.quiet),
    )
    return _finish(result, args.quiet, diff_hint=not args.diff)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="PYPROJECT",
        help="pyproject.toml to read (default: the nearest one)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def add_parsers(sub: Any) -> None:
    """Add the `build` and `check` subcommands."""
    p = sub.add_parser(
        "build", help="regenerate the modules configured in [tool.codegen]"
    )
    _common(p)
    p.add_argument(
        "--force",
        action="store_true",
        help="regenerate every module, overwriting hand edits",
    )
    p.set_defaults(run=cmd_build)
    p = sub.add_parser(
        "check", help="fail when a configured module is missing, stale or edited"
    )
    _common(p)
    p.add_argument(
        "--verify",
        action="store_true",
        help="also check gradients numerically where shapes are known",
    )
    p.add_argument(
        "--deep",
        action="store_true",
        help="regenerate every module and compare bytes instead of trusting hashes",
    )
    p.add_argument(
        "--diff",
        action="store_true",
        help="print the unified diff of each stale or edited module to stdout",
    )
    p.set_defaults(run=cmd_check)
