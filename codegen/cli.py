"""The `codegen` command line; the only module that touches files.

Exit codes: 0 success, 1 a check failed (verification, stale output),
2 bad input (unsupported construct, missing file or function, bad option,
a missing tool such as Graphviz's dot),
3 an internal error (a codegen bug; rerun with --debug for the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from codegen.errors import CodegenError, InternalError
from codegen.files import (
    ClosedOutput,
    WriteError,
    read_source,
    refuse_foreign,
    split_target,
    write_atomic,
)
from codegen.options import (
    UsageError,
    parse_shapes,
    parse_values,
    parse_wrt,
    seed,
)

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell shows for `yes | head`


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's exit-time flush of the closed
    pipe raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (tests)
        pass


def cmd_grad(args: argparse.Namespace) -> int:
    import gc

    # libcst's tree, the IR and the ast of the output are millions of objects
    # and no cycles worth collecting: the collector's full passes over them
    # cost a third of a long run. The command is one short process.
    gc.disable()
    try:
        return _grad(args)
    finally:
        gc.enable()


def _the_rest_of_grad() -> None:
    """Import what runs after the parse (NumPy, black...) while libcst parses."""
    import codegen.checks.lint
    import codegen.pipeline
    import codegen.project.stamp  # noqa: F401


def _grad(args: argparse.Namespace) -> int:
    from codegen.front.parse import parse

    path, func = split_target(args.target)
    source = read_source(path)
    command = f"codegen grad {args.target}"
    if args.wrt:
        command += f" --wrt {args.wrt}"
    if args.check_finite:
        command += " --check-finite"
    if args.output:
        command += f" -o {args.output}"
    # once: for the backward and for the lint
    parsed = parse(source, path, func, meanwhile=_the_rest_of_grad, lazy=True)
    from codegen.checks.lint import lint
    from codegen.pipeline import generate

    code = generate(
        source,
        path,
        func,
        parse_wrt(args.wrt),
        command=command,
        check_finite=args.check_finite,
        parsed=parsed,
    )
    for warning in lint(parsed, source):  # warnings never fail the command
        print(warning, file=sys.stderr)
    from codegen.project.stamp import check_generated

    check_generated(code, func or _function_name(code), args.output or "<stdout>")
    if args.output:
        from codegen.project.stamp import GENERATED  # a module's first line

        refuse_foreign(Path(args.output), Path(path), GENERATED)
        write_atomic(args.output, code)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(code)
    return EXIT_OK


#: How a DOT file starts (the graph's, or an earlier one of its kind).
DOT_MARK = "digraph "


def _function_name(code: str) -> str:
    """`f` of the module's `f_forward` (when the function was not named)."""
    import re

    found = re.search(r"^def (\w+)_forward\(", code, re.MULTILINE)
    return found.group(1) if found else ""


def cmd_verify(args: argparse.Namespace) -> int:
    from codegen.checks.verify import VerificationError, verify_file

    path, func = split_target(args.target)
    read_source(path)  # a clean error for a missing file
    try:
        report = verify_file(
            path,
            func,
            parse_wrt(args.wrt),
            parse_values(args.at),
            parse_shapes(args.shape),
            args.seed,
        )
    except VerificationError as err:  # no point to check at: a failed check, not a bug
        print(f"{path}: error: {err}", file=sys.stderr)
        return EXIT_FAILED
    print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILED


def _add_target(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "target",
        metavar="PATH:FUNC",
        help="source file and function, e.g. examples/neuron.py:neuron",
    )
    p.add_argument(
        "--wrt",
        metavar="A,B",
        help="parameters to differentiate (default: those that are not integers and have no default value)",
    )


def _grad_parser(sub: Any) -> None:
    p = sub.add_parser("grad", help="write the backward module of a forward function")
    _add_target(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write here (atomically) instead of stdout",
    )
    p.add_argument(
        "--check-finite",
        action="store_true",
        help="the backward raises FloatingPointError naming the forward line "
        "whose gradient first became NaN or Inf",
    )
    p.set_defaults(run=cmd_grad)


def _verify_parser(sub: Any) -> None:
    p = sub.add_parser(
        "verify", help="check generated gradients against central differences"
    )
    _add_target(p)
    p.add_argument(
        "--at",
        nargs="*",
        action="extend",  # --shape x=2,3 --shape w=3: both
        default=[],
        metavar="NAME=VALUE",
        help="the point (random where not given)",
    )
    p.add_argument(
        "--shape",
        nargs="*",
        action="extend",  # --shape x=2,3 --shape w=3: both
        default=[],
        metavar="NAME=D1,D2",
        help="array shapes for random points",
    )
    p.add_argument(
        "--seed", type=seed, default=0, help="random seed for the point (default 0)"
    )
    p.set_defaults(run=cmd_verify)


def _build_check_parsers(sub: Any) -> None:
    from codegen.buildcli import add_parsers  # imported late: it imports this module

    add_parsers(sub)


def _explain_args(args: argparse.Namespace) -> Any:
    """The `Explanation` the explain and graph commands show."""
    from codegen.learn.explain import explain_source

    path, func = split_target(args.target)
    source = read_source(path)
    return explain_source(
        source,
        path,
        func,
        parse_values(args.at),
        parse_wrt(args.wrt),
        parse_shapes(args.shape),
        args.seed,
        args.digits,
    )


def cmd_explain(args: argparse.Namespace) -> int:
    import json
    import shutil

    from codegen.learn.explain import render_text, to_dict, use_color

    ex = _explain_args(args)
    if args.format == "json":
        print(json.dumps(to_dict(ex), indent=2))
        return EXIT_OK
    color = use_color(sys.stdout)
    # On a terminal (coloured or not) the tables fit its width; piped, no limit.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    sys.stdout.write(render_text(ex, color=color, width=width))
    return EXIT_OK


GRAPH_FORMATS = ("svg", "png", "dot", "pdf")


def cmd_graph(args: argparse.Namespace) -> int:
    from codegen.learn.graph import GraphvizMissing, build_graph

    fmt = Path(args.output).suffix.lstrip(".").lower() if args.output else "dot"
    if fmt not in GRAPH_FORMATS:
        raise UsageError(
            f"cannot tell the picture format of '{args.output}'",
            None,
            "end the file name in .svg, .png, .pdf or .dot",
            "codegen graph",
        )
    graph = build_graph(_explain_args(args))
    if not args.output:
        sys.stdout.write(graph.source)
        return EXIT_OK
    try:
        data = graph.pipe(fmt)
    except GraphvizMissing as err:  # a missing tool, not a failed check
        dot = Path(args.output).with_suffix(".dot")
        if dot.exists() and not dot.read_text(errors="replace").startswith(DOT_MARK):
            raise UsageError(
                f"{err.message}, and {dot} exists, a file codegen did not write",
                None,
                "install Graphviz, or write the DOT text elsewhere: -o graph.dot",
                "codegen graph",
            ) from None
        write_atomic(dot, graph.source)
        print(
            f"{err}\nwrote {dot} (render it with: dot -T{fmt} {dot} -o {args.output})",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    write_atomic(args.output, data)
    print(f"wrote {args.output}", file=sys.stderr)
    return EXIT_OK


def _add_point(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--at",
        nargs="*",
        action="extend",  # --shape x=2,3 --shape w=3: both
        default=[],
        metavar="NAME=VALUE",
        help="parameter values (others are drawn at random from (-2, 2))",
    )
    p.add_argument(
        "--shape",
        nargs="*",
        action="extend",  # --shape x=2,3 --shape w=3: both
        default=[],
        metavar="NAME=D1,D2",
        help="shapes of array parameters",
    )
    p.add_argument(
        "--seed",
        type=seed,
        default=0,
        help="random seed for values not given (default 0)",
    )
    p.add_argument(
        "--digits", type=int, default=2, help="digits after the point (default 2)"
    )


def _explain_parser(sub: Any) -> None:
    p = sub.add_parser(
        "explain", help="show every value forward and every gradient backward"
    )
    _add_target(p)
    _add_point(p)
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text tables (coloured on a terminal) or JSON for tools",
    )
    p.set_defaults(run=cmd_explain)


def _graph_parser(sub: Any) -> None:
    p = sub.add_parser(
        "graph", help="draw the computational graph with values and gradients"
    )
    _add_target(p)
    _add_point(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="a .svg, .png, .pdf or .dot file (DOT text on stdout without it)",
    )
    p.set_defaults(run=cmd_graph)


#: Each entry adds one subcommand; feature modules append theirs here.
COMMANDS: list[Callable[[Any], None]] = [
    _grad_parser,
    _verify_parser,
    _build_check_parsers,
    _explain_parser,
    _graph_parser,
]


def version() -> str:
    """``codegen 0.1.0 (codegen-grad; Python 3.11.7, black 26.10.1)``: black's
    version too, since the generated text is formatted by it."""
    import platform
    from importlib import metadata

    from codegen import DISTRIBUTION, __version__

    try:
        black = metadata.version("black")
    except metadata.PackageNotFoundError:
        black = "not installed"
    python = platform.python_version()
    return f"codegen {__version__} ({DISTRIBUTION}; Python {python}, black {black})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codegen",
        description="Static source-to-source gradients for straight-line Python and NumPy.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks of internal errors"
    )
    parser.add_argument(
        "--version", action="version", version=version(), help="show the version"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in COMMANDS:
        add(sub)
    return parser


def run() -> None:
    """The `codegen` command as a process: `main`, then exit at once.

    A long `codegen grad` leaves millions of objects (libcst's tree, the IR,
    the output's syntax tree) that the interpreter would free one by one on
    its way out: 0.4 s of a 10,000-statement run. Nothing is left to do once
    `main` has flushed its output, so the process ends without that teardown.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # closed, a left pipe, or None (started with >&-)
    os._exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help, 2 for usage errors
        return int(exc.code or 0)
    if sys.stdout is None:  # started with stdout closed (>&-)
        sys.stdout = ClosedOutput()
    try:
        code = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except CodegenError as err:
        print(err, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # --shape 100000,100000: the input, not a bug
        print(
            "codegen: error: out of memory\nhint: give smaller shapes (--shape)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # `codegen ... | head`: stop quietly, as other CLIs do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # -o is a directory, under a file, read-only, ...
        name = exc.filename or "codegen"
        why = exc.strerror or os.strerror(exc.errno or errno.EIO)
        what = "cannot write" if isinstance(exc, WriteError) else "error"
        print(f"{name}: error: {what}: {why}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (InternalError, Exception) as exc:  # noqa: BLE001 - last line of defence
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"codegen: internal error: {exc}\n(rerun with --debug for the traceback)",
                file=sys.stderr,
            )
        return EXIT_INTERNAL
