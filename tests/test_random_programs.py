"""Random forward programs written as users write them (tests/programs/):
codegen's value and gradients must equal the program's own value, HIPS
autograd's gradients and central differences, or codegen must refuse with a
located error. A bounded, deterministic profile (about a minute and a half on
two cores); the long one is `python -m tests.programs.run --n 10000 --seed S`
(issue 13), and tests/programs/FINDINGS.md lists what it found.
"""

from __future__ import annotations

from collections import Counter

from programs.causes import classify
from programs.check import check
from programs.generator import generate_program

#: Fixed seeds: the CI profile is deterministic. About 0.12 s a program.
SEEDS = range(700)


def test_random_programs_are_never_wrong(tmp_path) -> None:
    bad = []
    counts: Counter[str] = Counter()
    causes: Counter[str] = Counter()
    for seed in SEEDS:
        prog = generate_program(seed)
        out = check(prog, str(tmp_path))
        counts[out.cls] += 1
        if out.cls in ("wrong-value", "wrong-gradient", "crash"):
            rid, issue, _ = classify(prog.source(), out)
            causes[f"#{issue} {rid}"] += 1
            bad.append(
                f"seed {seed}: {out.cls}: {out.cause} (#{issue} {rid})\n"
                f"{prog.source()}{out.detail[:600]}"
            )
    # some programs must be accepted, or the test checks nothing
    assert counts["pass"] >= len(SEEDS) // 4, counts
    assert not bad, (
        f"{len(bad)} wrong or crashing programs of {len(SEEDS)} ({dict(counts)}); "
        f"by cause {dict(causes)}:\n\n" + "\n\n".join(bad[:10])
    )
