"""Time each statement of a workload's generated value-and-grad, sorted.

    python benchmarks/profile_lines.py NAME [--hand] [--top 15] [--rounds 9]

NAME is a workload of benchmarks/workloads (``python benchmarks/run.py --only
NAME`` runs the same one). The generated module is produced by
``codegen.generate`` in this process, as the benchmark does; every top-level
statement of the function timed is wrapped in two ``time.perf_counter()``
calls, the module is compiled and run on the workload's full-size inputs
(``--quick``: the tiny ones), and the time of each statement per call is the
median over rounds, less the measured cost of the two timer calls. For a loss
the function is ``<f>_value_and_grad`` (on Python floats, the float twin
``_<f>_value_and_grad_floats`` it runs); for a layer, ``<f>_forward`` then
``<f>_backward`` of the workload's fixed random upstream gradients (as the
benchmark times it). ``--hand`` profiles the careful hand-written reference
the same way (a loop counts as one statement), to put the two side by side.

Each row: the time per call, its share of the profiled total, the line in
the generated module, the statement, and the forward line it comes from (the
comment codegen writes above each group).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import statistics
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

#: Names the instrumented code uses; chosen not to clash with generated names.
TIMER, TIMES, START, RESULT = "_prof_clock", "_prof_times", "_prof_t0", "_prof_ret"


@dataclass
class LineTime:
    """One statement's time per call (seconds), where it is and what it is."""

    function: str
    line: int
    source: str
    origin: str
    seconds: float
    share: float = 0.0
    #: The least over rounds (the load of a shared machine only adds time).
    best: float = 0.0


def _instrument(fn: ast.FunctionDef, first: int) -> list[tuple[int, ast.stmt]]:
    """Wrap each top-level statement of `fn` in timer calls, in place; slot
    ``first + k`` of TIMES accumulates statement k. Returns (slot, statement)."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    timed: list[tuple[int, ast.stmt]] = []
    new: list[ast.stmt] = []
    for k, stmt in enumerate(body):
        slot = first + k
        timed.append((slot, stmt))
        start = ast.parse(f"{START} = {TIMER}()").body
        stop = ast.parse(f"{TIMES}[{slot}] += {TIMER}() - {START}").body
        if isinstance(stmt, ast.Return):
            keep = ast.Assign(targets=[ast.Name(RESULT, ast.Store())],
                              value=stmt.value or ast.Constant(None))
            new += [*start, keep, *stop, ast.parse(f"return {RESULT}").body[0]]
        else:
            new += [*start, stmt, *stop]
    fn.body = new
    return timed


def _origin(lines: Sequence[str], lineno: int) -> str:
    """The nearest comment above line `lineno` (1-based) inside the function:
    codegen writes the forward line each group comes from as a comment."""
    for k in range(lineno - 2, -1, -1):
        text = lines[k].strip()
        if text.startswith("# "):
            return text[2:]
        if text.startswith("def "):
            break
    return ""


def _one_line(source: str, limit: int = 120) -> str:
    text = " ".join(part.strip() for part in source.splitlines())
    text = re.sub(r"([(\[{]) ", r"\1", re.sub(r",? ([)\]}])", r"\1", text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class Profiled:
    """Instrumented functions over one namespace, and their statements."""

    functions: dict[str, Callable[..., Any]]
    statements: list[tuple[str, int, str, str]]  # (function, line, source, origin)
    times: list[float]


def instrument_source(text: str, names: Sequence[str], namespace: dict[str, Any],
                      filename: str, forward: str = "") -> Profiled:
    """Compile `text` with the functions `names` instrumented, in `namespace`.
    A statement that is itself a line of the `forward` source (codegen writes
    no comment above those) is its own origin."""
    own = {line.strip() for line in forward.splitlines()}
    tree = ast.parse(text)
    lines = text.splitlines()
    statements: list[tuple[str, int, str, str]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            for _, stmt in _instrument(node, len(statements)):
                seg = _one_line(ast.get_source_segment(text, stmt) or ast.unparse(stmt))
                origin = "" if seg in own else _origin(lines, stmt.lineno)
                statements.append((node.name, stmt.lineno, seg, origin))
    ast.fix_missing_locations(tree)
    times = [0.0] * len(statements)
    namespace.update({TIMER: time.perf_counter, TIMES: times})
    exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 (the code profiled)
    return Profiled({n: namespace[n] for n in names}, statements, times)


def timer_overhead(repeats: int = 20000) -> float:
    """Seconds an empty statement is charged: what the timer calls themselves
    add to each statement's time (the least of five measurements)."""
    src = textwrap.dedent(f"""
        def probe():
            {START} = {TIMER}()
            {TIMES}[0] += {TIMER}() - {START}
    """)
    ns: dict[str, Any] = {TIMER: time.perf_counter, TIMES: [0.0]}
    exec(src, ns)  # noqa: S102
    best = float("inf")
    for _ in range(5):
        ns[TIMES][0] = 0.0
        for _ in range(repeats):
            ns["probe"]()
        best = min(best, ns[TIMES][0] / repeats)
    return best


def run(prof: Profiled, call: Callable[[], Any], rounds: int, target: float) -> list[LineTime]:
    """Median over `rounds` of each statement's time per call."""
    call()
    t0 = time.perf_counter()
    call()
    one = max(time.perf_counter() - t0, 1e-7)
    calls = max(1, round(target / one))
    overhead = timer_overhead()
    per_round: list[list[float]] = []
    for _ in range(rounds):
        prof.times[:] = [0.0] * len(prof.times)
        for _ in range(calls):
            call()
        per_round.append([t / calls - overhead for t in prof.times])
    out = []
    for k, (func, line, source, origin) in enumerate(prof.statements):
        t = max(0.0, statistics.median(r[k] for r in per_round))
        least = max(0.0, min(r[k] for r in per_round))
        out.append(LineTime(func, line, source, origin, t, best=least))
    total = sum(r.seconds for r in out) or 1.0
    for r in out:
        r.share = r.seconds / total
    return sorted(out, key=lambda r: -r.seconds)


def _workload_inputs(w: Any, tiny: bool) -> tuple[tuple[Any, ...], tuple[Any, ...] | None]:
    from benchmarks import systems

    rng = np.random.default_rng(0)
    args = w.make_args(rng, tiny)
    return args, systems.make_seeds(w, args, rng)


def profile_generated(name: str, tiny: bool = False, rounds: int = 9,
                      target: float = 0.05) -> list[LineTime]:
    """Per-statement times of the generated value-and-grad of workload `name`."""
    from benchmarks.workloads import WORKLOADS
    from codegen import generate

    w = WORKLOADS[name]
    args, seeds = _workload_inputs(w, tiny)
    source = (ROOT / w.example).read_text()
    code = generate(source, w.example, w.func, list(w.wrt))
    twin = f"_{w.func}_value_and_grad_floats"
    if seeds is None and f"def {twin}(" in code and all(type(a) is float for a in args):
        names = [twin]  # what the value-and-grad runs on Python floats
    elif seeds is None:
        names = [f"{w.func}_value_and_grad"]
    else:
        names = [f"{w.func}_forward", f"{w.func}_backward"]
    prof = instrument_source(code, names, {"__name__": f"{w.func}_grad_profiled"},
                             f"<generated {w.func}>", source)
    if seeds is None:
        vg = prof.functions[names[0]]

        def call() -> Any:
            return vg(*args)
    else:
        fwd, bwd = prof.functions[names[0]], prof.functions[names[1]]

        def call() -> Any:
            value, cache = fwd(*args)
            return value, bwd(*seeds, cache)

    return run(prof, call, rounds, target)


def profile_hand(name: str, tiny: bool = False, rounds: int = 9,
                 target: float = 0.05) -> list[LineTime]:
    """Per-statement times of the careful hand-written reference of `name`."""
    from benchmarks.workloads import WORKLOADS

    w = WORKLOADS[name]
    args, seeds = _workload_inputs(w, tiny)
    funcs = ([w.hand_value_and_grad] if w.hand_value_and_grad is not None
             else [w.hand_forward, w.hand_backward])
    text = "\n\n".join(textwrap.dedent(inspect.getsource(f)) for f in funcs)
    namespace = dict(funcs[0].__globals__)
    prof = instrument_source(text, [f.__name__ for f in funcs], namespace,
                             inspect.getsourcefile(funcs[0]) or "<hand>")
    fs = [prof.functions[f.__name__] for f in funcs]
    if len(fs) == 1:
        def call() -> Any:
            return fs[0](*args)
    else:
        upstream = (1.0,) if seeds is None else seeds

        def call() -> Any:
            value, cache = fs[0](*args)
            return value, fs[1](*upstream, cache)

    return run(prof, call, rounds, target)


def table(rows: Sequence[LineTime], top: int, unit: str) -> str:
    scale, label = (1e6, "µs") if unit == "us" else (1e3, "ms")
    total = sum(r.seconds for r in rows)
    lines = [f"| # | {label} (median) | {label} (least) | share | function:line | statement "
             "| from forward line |",
             "|---:|---:|---:|---:|---|---|---|"]
    for k, r in enumerate(rows[:top], 1):
        lines.append(f"| {k} | {r.seconds * scale:.3f} | {r.best * scale:.3f} | {r.share:.0%} "
                     f"| {r.function}:{r.line} "
                     f"| `{r.source}` | {('`' + r.origin + '`') if r.origin else ''} |")
    lines.append(f"\nprofiled total {total * scale:.3f} {label} per call over {len(rows)} "
                 "statements (timer cost subtracted)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.harness import pin_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="workload name (see benchmarks/workloads)")
    ap.add_argument("--hand", action="store_true",
                    help="profile the careful hand-written reference instead")
    ap.add_argument("--top", type=int, default=15, help="rows shown (default 15)")
    ap.add_argument("--rounds", type=int, default=9, help="rounds (default 9)")
    ap.add_argument("--target-ms", type=float, default=50.0, help="duration of one round")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 3 rounds")
    ap.add_argument("--json", type=Path, help="also write every row as JSON here")
    ns = ap.parse_args(argv)
    pin_threads(1)  # before NumPy's BLAS starts its threads (too late if imported already)
    from threadpoolctl import threadpool_limits

    from benchmarks.workloads import WORKLOADS

    if ns.name not in WORKLOADS:
        sys.exit(f"unknown workload {ns.name!r}; known: {', '.join(WORKLOADS)}")
    rounds, target = (3, 0.005) if ns.quick else (ns.rounds, ns.target_ms / 1e3)
    with threadpool_limits(1):
        profile = profile_hand if ns.hand else profile_generated
        rows = profile(ns.name, tiny=ns.quick, rounds=rounds, target=target)
    which = "careful hand-written" if ns.hand else "generated"
    print(f"{ns.name}: {which}, per statement, median of {rounds} rounds")
    print(table(rows, ns.top, WORKLOADS[ns.name].unit))
    if ns.json:
        ns.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
