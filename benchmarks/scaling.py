"""Codegen's own speed: time each pass on straight-line programs of growing size.

    python benchmarks/scaling.py [--sizes 10,100,1000,10000] [--repeats 3]

A program of n statements is random but reproducible (seeded): ten Python
float parameters, then ``v0 .. v{n-1}``, each statement one of a few scalar
forms of the previous value and a random earlier value or parameter (so every
statement reaches the result and values fan out), and ``return v{n-1}``. The
forms keep every value in [-2, 2], so the forward stays finite at any size.

Stages: parse (libcst -> IR), reverse, render (jinja2), black, verify (import
the forward and the generated module, then central differences of every
parameter). Each size runs in a fresh process, timed `repeats` times (the
median is reported; once from 10,000 statements on); its memory is the growth
of the process's peak resident set size over the warm process (imports and a
3-statement warm-up run). Writes scaling.md, scaling.json and scaling.png to
--out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Statement forms; with |a|, |b| <= 2 each result stays within [-2, 2].
FORMS = (
    "math.sin({a} + {b})",
    "math.tanh({a} * {b})",
    "{a} * math.cos({b})",
    "0.5 * ({a} - {b})",
    "math.exp(-{a} * {a}) + 0.5 * {b}",
    "0.25 * {a} * {b}",
)
PARAMS = tuple(f"p{i}" for i in range(10))
STAGES = ("parse", "reverse", "render", "black", "verify")
#: End-to-end targets of the issue, seconds by statement count.
TARGETS = {1000: 1.0, 10000: 10.0}


def program(n: int, seed: int = 0) -> str:
    """A straight-line scalar function of `n` statements, as source text."""
    rng = random.Random(seed)
    names = list(PARAMS)
    lines = ['"""A generated straight-line program (benchmarks/scaling.py)."""', "",
             "import math", "", "", f"def f({', '.join(PARAMS)}):"]
    prev = rng.choice(PARAMS)
    for k in range(n):
        other = rng.choice(names)
        lines.append(f"    v{k} = " + rng.choice(FORMS).format(a=prev, b=other))
        prev = f"v{k}"
        names.append(prev)
    lines.append(f"    return {prev}")
    return "\n".join(lines) + "\n"


def run_pipeline(source: str, seed: int = 0) -> tuple[dict[str, float], dict[str, Any]]:
    """Run every pass once; (seconds per stage, facts about the output)."""
    import numpy as np

    from codegen.back.format import format_code
    from codegen.front.parse import parse
    from codegen.back.render import render
    from codegen.core.reverse import reverse
    from codegen.checks.points import random_point
    from codegen.checks.verify import check_gradients, module_from_source

    times: dict[str, float] = {}

    def stage(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - t0
        return out

    fn = stage("parse", lambda: parse(source, "scaling.py", "f"))
    bwd = stage("reverse", lambda: reverse(fn, None))
    raw = stage("render", lambda: render(bwd, "scaling.py:f", "benchmarks/scaling.py"))
    code = stage("black", lambda: format_code(raw))

    def verify() -> Any:
        user = module_from_source(source, "scaling_forward")
        gen = module_from_source(code, "scaling_grad")
        rng = np.random.default_rng(seed)
        point = random_point(PARAMS, user.f, rng)
        pair = (gen.f_forward, gen.f_backward)
        return check_gradients(user.f, pair, PARAMS, point, PARAMS, "f", seed)

    report = stage("verify", verify)
    facts = {
        "primitive_steps": len(fn.body),
        "generated_lines": code.count("\n"),
        "verified": bool(report.ok),
    }
    return times, facts


def measure_one(n: int, repeats: int) -> dict[str, Any]:
    """Inside a fresh process: time `repeats` runs of the pipeline on a program
    of `n` statements, after a warm-up run on a 3-statement program; memory is
    the growth of the peak resident set size over what the warm process took."""

    run_pipeline(program(3))  # one-time costs: lazy imports, template compilation
    baseline = _maxrss_mib()
    source = program(n)
    runs = []
    facts: dict[str, Any] = {}
    for _ in range(repeats):
        t, facts = run_pipeline(source)
        runs.append(t)
    return {
        "statements": n,
        "stages": {s: statistics.median(r[s] for r in runs) for s in STAGES},
        "total": statistics.median(sum(r.values()) for r in runs),
        "totals": [sum(r.values()) for r in runs],
        "repeats": repeats,
        "baseline_mib": baseline,
        "peak_mib": _maxrss_mib() - baseline,
        **facts,
    }


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """One fresh process per size; sizes of 10,000 statements and more run once."""
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "row.json"
            reps = 1 if n >= 10000 else repeats
            subprocess.run([sys.executable, __file__, "--one", str(n), "--repeats", str(reps),
                            "--json", str(out)], check=True)
            row = json.loads(out.read_text())
        rows.append(row)
        print(f"n={n}: {row['total']:.3f} s  "
              + "  ".join(f"{s} {row['stages'][s]:.3f}" for s in STAGES)
              + f"  +{row['peak_mib']:.0f} MiB", flush=True)
    return rows


def markdown(rows: list[dict[str, Any]], argv: list[str]) -> str:
    from benchmarks.harness import revision

    lines = [
        "# Codegen's own speed",
        "",
        (f"Measured {datetime.date.today().isoformat()} at commit {revision(ROOT)} with "
        f"`python benchmarks/scaling.py{' ' + ' '.join(argv) if argv else ''}`; "
        "seconds per stage (median of the repeats; one run at 10,000 statements), each size "
        "in a fresh process; memory is the growth of that process's peak resident set size "
        "over the imports and a 3-statement warm-up run."),
        "",
        ("| statements | primitive steps | parse | reverse | render | black | verify | "
        "total (s) | ms per statement | memory (MiB) | output lines | verified |"),
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        st = r["stages"]
        lines.append(
            f"| {r['statements']:,} | {r['primitive_steps']:,} | "
            + " | ".join(f"{st[s]:.3f}" for s in STAGES)
            + f" | {r['total']:.3f} | {r['total'] / r['statements'] * 1000:.2f} | "
            f"{r['peak_mib']:.0f} | {r['generated_lines']:,} | {'yes' if r['verified'] else 'NO'} |"
        )
    lines += ["", (f"The imports and the warm-up take {rows[0]['baseline_mib']:.0f} MiB "
              "of resident memory."),
              "", "Targets:", ""]
    by_n = {r["statements"]: r for r in rows}
    for n, limit in TARGETS.items():
        if n in by_n:
            t = by_n[n]["total"]
            lines.append(f"* {n:,} statements end to end in at most {limit:g} s: "
                         f"{t:.2f} s, {'met' if t <= limit else 'MISSED'}")
    lines.append("* growing linearly: " + linearity(rows))
    return "\n".join(lines) + "\n"


def linearity(rows: list[dict[str, Any]]) -> str:
    """Per-stage growth exponent between the two largest sizes (1.0 is linear)."""
    import math

    if len(rows) < 2:
        return "needs two sizes"
    a, b = rows[-2], rows[-1]
    scale = math.log(b["statements"] / a["statements"])
    parts = []
    for s in (*STAGES, "total"):
        ta = a["total"] if s == "total" else a["stages"][s]
        tb = b["total"] if s == "total" else b["stages"][s]
        parts.append(f"{s} {math.log(tb / ta) / scale:.2f}")
    return (f"time ~ n^k from {a['statements']:,} to {b['statements']:,} statements: "
            + ", ".join(parts))


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ns = [r["statements"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in STAGES:
        ax.plot(ns, [r["stages"][s] for r in rows], marker="o", label=s)
    ax.plot(ns, [r["total"] for r in rows], marker="s", color="black", label="total")
    ref = rows[-1]["total"] / ns[-1]
    ax.plot(ns, [ref * n for n in ns], linestyle=":", color="gray", label="linear")
    for n, limit in TARGETS.items():
        ax.scatter([n], [limit], marker="_", s=400, color="red")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("statements")
    ax.set_ylabel("seconds")
    ax.set_title("codegen time per stage (red: targets)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000,10000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="sizes 10,100, one repeat")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    ns = ap.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    if ns.one is not None:
        ns.json.write_text(json.dumps(measure_one(ns.one, ns.repeats)))
        return
    sizes = [10, 100] if ns.quick else [int(s) for s in ns.sizes.split(",")]
    repeats = 1 if ns.quick else ns.repeats
    rows = measure(sizes, repeats)
    ns.out.mkdir(parents=True, exist_ok=True)
    shown = [a for a in argv if a != "--out" and Path(a) != ns.out]
    (ns.out / "scaling.json").write_text(json.dumps(rows, indent=1))
    (ns.out / "scaling.md").write_text(markdown(rows, shown))
    try:
        chart(rows, ns.out / "scaling.png")
    except ImportError:
        print("matplotlib not installed: no chart", file=sys.stderr)


if __name__ == "__main__":
    main()
