"""Where a NumPy backward lets go of its arrays.

A flat backward keeps every local alive until it returns. When a gradient
temporary or, in the value-and-grad, a forward array is not read again, a
``del`` at the end of the block that read it last frees the buffer at once,
so the next line's temporaries can reuse the memory: peak memory nearer
the size of what is live, the way a careful hand-written backward reuses
its buffers. This module only decides which names to release after which
line; `codegen.back.render` writes the lines.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.reverse import Backward, Block
from codegen.core.shapes import ranks

#: Forward ops whose result is never a large array: not worth a ``del``.
_SMALL = frozenset(
    {
        "shape",
        "shape_of",
        "len",
        "item",
        "entry",
        "range",
        "slice",
        "tuple",
        "dtype",
        "result_type",
    }
)


def releases(
    bwd: Backward, blocks: Sequence[Block], forward: bool
) -> dict[tuple[int, int], list[str]]:
    """For each line (block index, step index) of `blocks`, the names read
    for the last time there:
    gradient temporaries (never a returned gradient or an upstream seed) and,
    with `forward` (the value-and-grad, where the forward's arrays are its own
    locals), the forward values the backward reads, but not the results or
    the parameters."""
    if bwd.lib != "np":
        return {}
    rank = ranks(bwd.fn)
    seeds = set(bwd.seeds or (bwd.seed,))
    keep = {g for _, g in bwd.outputs if g} | set(bwd.shared) | seeds
    candidates = {
        gs.grad for b in blocks for gs in b.steps if rank.get(gs.var) != 0
    } - keep
    if forward:
        params = {p.name for p in bwd.fn.params}
        candidates |= {
            s.target
            for s in bwd.forward
            if s.op not in _SMALL and s.target not in params and rank.get(s.target) != 0
        } - set(bwd.fn.results)
    # names bound by a plain copy (grad_scores = grad_shifted) hold one array:
    # it is freed when the last of them is dead, so they are released together
    root: dict[str, str] = {}

    def find(n: str) -> str:
        while root.get(n, n) != n:
            n = root[n]
        return n

    for block in blocks:
        for gs in block.steps:
            if not gs.accumulate and isinstance(gs.expr, E.Name):
                root[find(gs.grad)] = find(gs.expr.id)
    last: dict[str, tuple[int, int]] = {}  # per array: its last use
    members: dict[str, set[str]] = {}
    for i, block in enumerate(blocks):
        for j, gs in enumerate(block.steps):
            for name in {gs.grad} | E.names(gs.expr):
                r = find(name)
                last[r] = (i, j)
                members.setdefault(r, set()).add(name)
    steps = [(i, j) for i, b in enumerate(blocks) for j in range(len(b.steps))]
    final = steps[-1] if steps else None
    out: dict[tuple[int, int], list[str]] = {}
    for r, at in last.items():
        names = members[r]
        if at == final or not names <= candidates:
            continue  # returned right after, or one of its names must stay
        out.setdefault(at, []).extend(names)
    return {at: sorted(names) for at, names in sorted(out.items())}


def forward_releases(bwd: Backward) -> dict[int, list[str]]:
    """For each forward step (index into ``bwd.forward``), the forward arrays
    read there for the last time that neither the backward (the cache), the
    caller (the results) nor the parameters hold: both ``<f>_forward`` and
    the value-and-grad let them go at once."""
    if bwd.lib != "np":
        return {}
    rank = ranks(bwd.fn)
    keep = set(bwd.cache) | set(bwd.fn.results) | {p.name for p in bwd.fn.params}
    made = {
        s.target
        for s in bwd.forward
        if s.op not in _SMALL and s.target not in keep and rank.get(s.target) != 0
    }
    last: dict[str, int] = {}
    for k, step in enumerate(bwd.forward):
        for o in (*step.args, *(v for _, v in step.kwargs)):
            if isinstance(o, ir.Var) and o.name in made:
                last[o.name] = k
    out: dict[int, list[str]] = {}
    for name, k in sorted(last.items()):
        if k != len(bwd.forward) - 1:  # the forward returns right after
            out.setdefault(k, []).append(name)
    return out
