"""Random forward programs written as users write them (tests/programs/):
codegen's value and gradients must equal the program's own value, HIPS
autograd's gradients and central differences, or codegen must refuse with a
located error. A bounded, deterministic profile; the long one is
`python -m tests.programs.run --n 10000 --seed S` (issue 13).
"""

from __future__ import annotations

from programs.check import check
from programs.generator import generate_program

#: Fixed seeds: the CI profile is deterministic. About 0.1 s a program.
SEEDS = range(1000)


def test_random_programs_are_never_wrong(tmp_path) -> None:
    bad = []
    counts: dict[str, int] = {}
    for seed in SEEDS:
        prog = generate_program(seed)
        out = check(prog, str(tmp_path))
        counts[out.cls] = counts.get(out.cls, 0) + 1
        if out.cls in ("wrong-value", "wrong-gradient", "crash"):
            bad.append(
                f"seed {seed}: {out.cls}: {out.cause}\n{prog.source()}{out.detail[:600]}"
            )
    # some programs must be accepted, or the test checks nothing
    assert counts.get("pass", 0) >= len(SEEDS) // 4, counts
    assert not bad, (
        f"{len(bad)} wrong or crashing programs of {len(SEEDS)} ({counts}):\n\n"
        + "\n\n".join(bad[:10])
    )
