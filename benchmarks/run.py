"""Run every benchmark and write benchmarks/results/*.md, *.json and *.png.

    pip install -e '.[bench]' && python benchmarks/run.py

Each gradient workload runs in its own process (so one library's threads,
allocator or JIT cache cannot affect another workload), with every thread
count pinned before NumPy, torch or jax is imported, and the OpenBLAS kernel
variables (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) unset together unless
--keep-openblas-env. Then codegen's own scaling (benchmarks/scaling.py) runs,
also in its own process. The tables are printed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"
KEYS = ("codegen", "hand", "autograd", "jax", "torch", "forward")


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated workload names (default: all)")
    ap.add_argument("--systems", default=",".join(KEYS), help="comma-separated: " + ",".join(KEYS))
    ap.add_argument("--rounds", type=int, default=21, help="timing rounds per workload")
    ap.add_argument("--target-ms", type=float, default=50.0, help="duration of one timed batch")
    ap.add_argument("--threads", type=int, default=1, help="threads for every library")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, 3 rounds: a smoke run")
    ap.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    ap.add_argument("--no-scaling", action="store_true", help="skip codegen's own scaling")
    ap.add_argument("--no-gradients", action="store_true", help="skip the gradient workloads")
    ap.add_argument("--no-profile", action="store_true",
                    help="skip the per-line profile of workloads where generated code is slower")
    ap.add_argument("--keep-openblas-env", action="store_true",
                    help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for the workloads")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite the tables and charts from the JSON already in --out")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def child_env(threads: int, keep_openblas: bool) -> dict[str, str]:
    """The environment of a workload process: threads pinned, kernel vars unset."""
    from benchmarks.harness import OPENBLAS_KERNEL_VARS, pin_threads

    env = dict(os.environ)
    if not keep_openblas:
        for var in OPENBLAS_KERNEL_VARS:
            env.pop(var, None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return pin_threads(threads, env)


def bind_cores(threads: int) -> None:
    """Bind this process (and the threads it starts later: JAX's, torch's) to
    `threads` cores. XLA 0.10 ignores its thread flags and computes on every
    core, which made JAX look faster than one-threaded NumPy where it was
    not (temporal affine: 2 cores busy for its GEMMs)."""
    if hasattr(os, "sched_setaffinity") and threads > 0:
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, set(cores[:threads]))


def run_child(ns: argparse.Namespace) -> None:
    """Inside a workload process: check, time, write JSON."""
    bind_cores(ns.threads)
    from benchmarks.bench import run_workload
    from benchmarks.workloads import WORKLOADS

    rounds, target = (3, 0.005) if ns.quick else (ns.rounds, ns.target_ms / 1e3)
    data = run_workload(
        WORKLOADS[ns.child], tiny=ns.quick, rounds=rounds, target=target,
        warmup=0.05 if ns.quick else 0.5, keys=ns.systems.split(","), threads=ns.threads,
    )
    from benchmarks.harness import revision

    data["revision"] = revision(ROOT)
    data["date"] = datetime.date.today().isoformat()
    ns.json.write_text(json.dumps(data, indent=1))


def _spawn(cmd: list[str], env: dict[str, str]) -> None:
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, env=env, check=True, cwd=ROOT)


def run_gradients(ns: argparse.Namespace, env: dict[str, str]) -> str:
    from benchmarks import report
    from benchmarks.workloads import WORKLOADS

    names = ns.only.split(",") if ns.only else list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        sys.exit(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    all_data = []
    for name in names:
        out = ns.out / f"{name}.json"
        if ns.report_only:
            all_data.append(json.loads(out.read_text()))
            continue
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--json", str(out),
               "--systems", ns.systems, "--rounds", str(ns.rounds),
               "--target-ms", str(ns.target_ms), "--threads", str(ns.threads)]
        _spawn(cmd + (["--quick"] if ns.quick else []), env)
        all_data.append(json.loads(out.read_text()))
    text = gradients_markdown(all_data, ns)
    if not ns.no_profile:
        text += losing_lines(all_data, ns, env)
    (ns.out / "gradients.md").write_text(text)
    report.gradient_chart(all_data, ns.out / "gradients.png")
    return text


def gradients_markdown(all_data: list[dict], ns: argparse.Namespace) -> str:
    from benchmarks import report
    from benchmarks.harness import revision

    machine = all_data[-1]["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items() if v)
    lines = [
        "# Gradient speed",
        "",
        (f"Measured {all_data[-1].get('date', datetime.date.today().isoformat())} at commit "
        f"{all_data[-1].get('revision') or revision(ROOT)} with "
        f"`{command_line(ns)}`."),
        "Time per call of the forward plus all gradients (a layer: its forward, then its",
        "backward of a fixed random upstream gradient); median over rounds, spread is half",
        "the interquartile range; `× careful hand-written` is the median over rounds of the",
        "ratio to the careful hand-written code timed in the same round (its IQR in",
        "brackets); `× example forward` divides by the example function run alone; peak memory",
        "is what one call allocates at most (tracemalloc: Python and NumPy buffers). Every",
        "workload ran in its own process, systems interleaved in shuffled rounds after a",
        "warm-up.",
        "",
        *report.machine_lines(machine, ns.threads),
        f"* {versions}",
        "",
        "## Summary",
        "",
        "Median time per call of the forward plus all gradients.",
        "",
        report.summary_table(all_data),
        "## Targets",
        "",
        *report.targets(all_data),
        "",
        "## Tables",
        "",
    ]
    for data in all_data:
        lines += [report.workload_table(data), ""]
    return "\n".join(lines).rstrip() + "\n"


def losing_lines(all_data: list[dict], ns: argparse.Namespace, env: dict[str, str]) -> str:
    """For every workload where generated code is slower than the careful
    hand-written code, the three costliest statements of the generated
    value-and-grad (benchmarks/profile_lines.py, each in its own process)."""
    import statistics

    from benchmarks import systems

    parts = ["", "## Where generated code loses", "",
             "Workloads where codegen / careful hand-written > 1.0: the three costliest",
             "statements of the generated code (`python benchmarks/profile_lines.py NAME`;",
             "median and least time per call over rounds, timer cost subtracted).", ""]
    found = False
    for data in all_data:
        cg = next((r for r in data["results"] if r["name"] == systems.CODEGEN), None)
        if cg is None or cg["status"] != "ok" or not cg["ratios"]:
            continue
        ratio = statistics.median(cg["ratios"])
        if ratio <= 1.0:
            continue
        found = True
        name = data["workload"]
        out = ns.out / f"profile-{name}.json"
        if not ns.report_only:
            cmd = [sys.executable, str(ROOT / "benchmarks" / "profile_lines.py"), name,
                   "--top", "3", "--json", str(out)]
            _spawn(cmd + (["--quick"] if ns.quick else []), env)
        if not out.is_file():
            continue
        rows = json.loads(out.read_text())
        scale, unit = (1e6, "µs") if data["unit"] == "us" else (1e3, "ms")
        parts.append(f"* **{name}** ({ratio:.2f}×):")
        for r in rows[:3]:
            origin = f" (from `{r['origin']}`)" if r["origin"] else ""
            parts.append(f"  * {r['seconds'] * scale:.3f} {unit} (least {r['best'] * scale:.3f}), "
                         f"{r['share']:.0%}: `{r['source']}`{origin}")
    if not found:
        parts.append("None: generated code is at most 1.0× on every workload.")
    return "\n".join(parts) + "\n"


def command_line(ns: argparse.Namespace) -> str:
    parts = ["python benchmarks/run.py"]
    if ns.quick:
        parts.append("--quick")
    if ns.only:
        parts.append(f"--only {ns.only}")
    if ns.rounds != 21:
        parts.append(f"--rounds {ns.rounds}")
    if ns.threads != 1:
        parts.append(f"--threads {ns.threads}")
    return " ".join(parts)


def main(argv: list[str] | None = None) -> None:
    ns = _args(argv)
    if ns.child:
        run_child(ns)
        return
    ns.out.mkdir(parents=True, exist_ok=True)
    env = child_env(ns.threads, ns.keep_openblas_env)
    texts = []
    if not ns.no_gradients:
        texts.append(run_gradients(ns, env))
    if not ns.no_scaling and not ns.report_only:
        cmd = [sys.executable, str(ROOT / "benchmarks" / "scaling.py"), "--out", str(ns.out)]
        _spawn(cmd + (["--quick"] if ns.quick else []), env)
        texts.append((ns.out / "scaling.md").read_text())
    print("\n\n".join(texts))


if __name__ == "__main__":
    main()
