"""How long `codegen check` takes on 100 unchanged modules (the pre-commit case).

Creates a throwaway project with 100 source files (one function each) and
runs `codegen build` once. Then it times `codegen check` as a subprocess (what
a pre-commit hook pays: interpreter start-up, imports, config, hashing) and
in-process (`codegen.check()`), the median of several runs each. It does this
for `PATH:FUNC` entries (hashes only) and for whole-file `PATH` entries
(which parse each file to find its functions), and prints the figures.

    python benchmarks/bench_check.py [--modules 100] [--runs 7]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import codegen

SOURCE = """\
import math


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def neuron_{i}(w0, x0, w1, x1, w2):
    s0 = w0 * x0
    s1 = w1 * x1
    s = s0 + s1 + w2 * {i}
    L = sigmoid(s)
    return L
"""


def make_project(root: Path, n: int, whole_files: bool) -> None:
    entries = []
    for i in range(n):
        (root / "src").mkdir(exist_ok=True)
        (root / "src" / f"m{i}.py").write_text(SOURCE.format(i=i))
        entries.append(f"src/m{i}.py" if whole_files else f"src/m{i}.py:neuron_{i}")
    listed = ",\n    ".join(f'"{e}"' for e in entries)
    (root / "pyproject.toml").write_text(
        f"[tool.codegen]\nsources = [\n    {listed},\n]\n"
    )


def median_seconds(run, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def subprocess_check(root: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "codegen", "check", "-q"], cwd=root)
    assert done.returncode == 0, "modules should be fresh"


def median_child_cpu(run, runs: int) -> float:
    """Median CPU time (user + system) of the child processes `run` starts:
    less sensitive than wall time to other load on the machine."""
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        run()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times)


def in_process_check(root: Path) -> None:
    assert codegen.check(root / "pyproject.toml").ok


def measure(n: int, runs: int, whole_files: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_project(root, n, whole_files)
        start = time.perf_counter()
        assert codegen.build(root / "pyproject.toml").ok
        build = time.perf_counter() - start
        return {
            "build (cold, all regenerated)": build,
            "check, subprocess": median_seconds(lambda: subprocess_check(root), runs),
            "check, subprocess CPU time": median_child_cpu(
                lambda: subprocess_check(root), runs
            ),
            "check, in-process": median_seconds(lambda: in_process_check(root), runs),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    start_python = lambda: subprocess.run([sys.executable, "-c", "pass"])  # noqa: E731
    baseline = median_seconds(start_python, args.runs)
    cpu = median_child_cpu(start_python, args.runs)
    print(f"python -c pass: {baseline * 1000:.0f} ms, {cpu * 1000:.0f} ms CPU (start-up alone)")
    for whole_files, label in (
        (False, "PATH:FUNC entries"),
        (True, "whole-file PATH entries"),
    ):
        print(f"{args.modules} unchanged modules, {label}:")
        for name, seconds in measure(args.modules, args.runs, whole_files).items():
            print(f"  {name:<32} {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
