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


#: Fixed seeds for the second-order profile (about 0.2 s a program).
SECOND_SEEDS = range(9000, 9150)


def test_random_programs_differentiate_twice(tmp_path) -> None:
    """Issue 13: differentiating a generated value-and-grad again passes on
    at least 90% of the programs first order accepts; the rest are refused
    with a location, never wrong."""
    from programs.second import second_order

    counts: Counter[str] = Counter()
    bad = []
    for seed in SECOND_SEEDS:
        prog = generate_program(seed)
        if check(prog, str(tmp_path)).cls != "pass":
            continue
        cls, cause = second_order(prog)
        counts[cls] += 1
        if cls in ("wrong", "crash"):
            bad.append(f"seed {seed}: {cls}: {cause}\n{prog.source()}")
    total = sum(counts.values())
    assert total >= 50, counts
    assert not bad, "\n\n".join(bad[:5])
    assert counts["pass"] >= 0.9 * total, counts
