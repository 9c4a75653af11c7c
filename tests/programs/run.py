"""The long profile: `python -m tests.programs.run --n 10000 --seed S`.

Generates programs, checks each one (check.py), prints the count per class
and per cause, and minimises the first failures of each cause to a smallest
program that still fails the same way (`--minimise K` per cause).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time

from . import generator
from .causes import classify
from .check import Outcome, check
from .generator import Program, generate_program, shrink_candidates, valid


def minimise(
    prog: Program, outcome: Outcome, tmpdir: str, budget: int = 60
) -> tuple[Program, Outcome]:
    """Greedy: drop statements (or return earlier) while the class stays."""
    best, best_out = prog, outcome
    changed = True
    while changed and budget > 0:
        changed = False
        for cand in shrink_candidates(best):
            if budget <= 0:
                break
            if not valid(cand):
                continue
            budget -= 1
            out = check(cand, tmpdir)
            if out.cls == best_out.cls and (
                out.cls != "crash" or out.cause == best_out.cause
            ):
                best, best_out = cand, out
                changed = True
                break
    return best, best_out


def key(prog: Program, out: Outcome) -> str:
    """The cause of a minimised failure: its class, cause and statement tags."""
    return f"{out.cls} | {out.cause} | " + " ; ".join(prog.tags)


def summary(stream, done, seed, secs, counts, causes, by_rule, examples) -> None:
    """Counts per class, per cause and per rule, and the smallest example of each."""

    def out(*a) -> None:
        print(*a, file=stream)

    out(f"{done} programs (seed {seed}) in {secs:.0f} s")
    for cls, c in counts.most_common():
        out(f"  {cls:15} {c}")
    out("\nper cause:")
    for cause, c in causes.most_common():
        if not cause.startswith("pass"):
            out(f"  {c:6}  {cause}")
    out("\nwrong and crashing programs by cause (issue 13 item, or new):")
    for (rid, issue, desc), c in by_rule.most_common():
        out(f"  {c:6}  #{issue:4} {rid}: {desc}")
    out("\nsmallest example per cause:")
    for (rid, issue, _desc), (src, o, inputs) in sorted(examples.items()):
        shown = {
            n: (v.tolist() if hasattr(v, "tolist") else v) for n, v in inputs.items()
        }
        out(
            f"\n--- #{issue} {rid}: {o.cls}: {o.cause}\n{src}inputs: {shown}\n{o.detail[:800]}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--minimise", type=int, default=3, help="failures minimised per raw cause"
    )
    ap.add_argument("--json", help="write every failure (source, outcome) to this file")
    ap.add_argument("--kind", choices=["scalar", "numpy"])
    ap.add_argument(
        "--annotate",
        type=float,
        help="chance that an array parameter is annotated (default 0.25)",
    )
    ap.add_argument(
        "--progress", help="rewrite the summary to this file every 100 programs"
    )
    args = ap.parse_args(argv)
    if args.annotate is not None:
        generator.ANNOTATE = args.annotate
    counts: collections.Counter[str] = collections.Counter()
    causes: collections.Counter[str] = collections.Counter()
    minimal: dict[str, list] = {}
    tried: collections.Counter[str] = collections.Counter()
    failures = []
    by_rule: collections.Counter = collections.Counter()
    examples: dict = {}
    start = time.time()
    with tempfile.TemporaryDirectory() as tmpdir:
        for i in range(args.n):
            seed = args.seed * 1_000_003 + i
            prog = generate_program(seed, args.kind)
            out = check(prog, tmpdir)
            counts[out.cls] += 1
            causes[f"{out.cls} | {out.cause}"] += 1
            if out.cls in ("wrong-value", "wrong-gradient", "crash"):
                raw = f"{out.cls} | {out.cause} | " + " ; ".join(
                    sorted(
                        {
                            t.split(".")[0] + "." + t.split(".")[1] if "." in t else t
                            for t in prog.tags
                        }
                    )
                )
                rid = classify(prog.source(), out)
                by_rule[rid] += 1
                failures.append(
                    {
                        "rule": rid[0],
                        "seed": seed,
                        "cls": out.cls,
                        "cause": out.cause,
                        "source": prog.source(),
                        "detail": out.detail[:2000],
                        "tags": prog.tags,
                    }
                )
                if tried[raw] < args.minimise:
                    tried[raw] += 1
                    small, sout = minimise(prog, out, tmpdir)
                    k = key(small, sout)
                    srid = classify(small.source(), sout)
                    best = examples.get(srid)
                    if best is None or len(small.source()) < len(best[0]):
                        examples[srid] = (small.source(), sout, small.inputs)
                    entry = minimal.setdefault(
                        k,
                        [
                            0,
                            small.source(),
                            sout.detail[:1500],
                            small.seed,
                            {
                                n: v.tolist() if hasattr(v, "tolist") else v
                                for n, v in small.inputs.items()
                            },
                        ],
                    )
                    entry[0] += 1
            if args.progress and (i + 1) % 100 == 0:
                with open(args.progress, "w") as fh:
                    summary(
                        fh,
                        i + 1,
                        args.seed,
                        time.time() - start,
                        counts,
                        causes,
                        by_rule,
                        examples,
                    )
            if (i + 1) % 500 == 0:
                print(
                    f"... {i + 1} programs, {time.time() - start:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
    summary(
        sys.stdout,
        args.n,
        args.seed,
        time.time() - start,
        counts,
        causes,
        by_rule,
        examples,
    )
    print(f"\nminimised failures ({len(minimal)} distinct):")
    for k, (c, src, detail, seed, inputs) in sorted(minimal.items()):
        print(f"\n=== {k}  (x{c}, seed {seed})\n{src}inputs: {inputs}\n{detail}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "counts": counts,
                    "causes": causes,
                    "failures": failures,
                    "minimal": {k: v for k, v in minimal.items()},
                },
                fh,
                indent=1,
                default=str,
            )
    bad = counts["wrong-value"] + counts["wrong-gradient"] + counts["crash"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
