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
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import ranks


def step_names(gs: GradStep) -> set[str]:
    """The names a gradient statement reads (its contribution and the index
    ``grad[index] += ...`` writes at)."""
    names = E.names(gs.expr)
    for item in gs.at:
        names |= E.names(item)
    return names


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
    # a seed summed out of place (grad_next_c = grad_next_c + ...) holds a new
    # array from then on, the backward's own: it is released like the others
    summed = {
        gs.grad
        for b in blocks
        for gs in b.steps
        if gs.grad in seeds and gs.accumulate and not gs.in_place
    }
    keep = {g for _, g in bwd.outputs if g} | set(bwd.shared) | (seeds - summed)
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

    copies: set[str] = set()
    for block in blocks:
        for gs in block.steps:
            if not gs.accumulate and isinstance(gs.expr, E.Name):
                root[find(gs.grad)] = find(gs.expr.id)
                copies.add(gs.grad)
    seen_sum: set[str] = set()
    last: dict[str, tuple[int, int]] = {}  # per array: its last use
    own: dict[str, tuple[int, int]] = {}  # per name: its last use
    members: dict[str, set[str]] = {}
    written: dict[str, tuple[int, int]] = {}  # a copy updated in place: where
    for i, block in enumerate(blocks):
        for j, gs in enumerate(block.steps):
            if gs.in_place and gs.grad in copies and gs.grad not in seen_sum:
                written.setdefault(find(gs.grad), (i, j))
            if gs.accumulate and not gs.in_place:
                seen_sum.add(gs.grad)  # a new array: no longer the copy
            for name in {gs.grad} | step_names(gs):
                r = find(name)
                last[r] = (i, j)
                own[name] = (i, j)
                members.setdefault(r, set()).add(name)
    steps = [(i, j) for i, b in enumerate(blocks) for j in range(len(b.steps))]
    final = steps[-1] if steps else None
    out: dict[tuple[int, int], list[str]] = {}
    # the array of a copy updated in place (`codegen.core.alias_lean`): its
    # other names, dead by then, end at their own last read, before the update
    for r, at in written.items():
        for name in sorted(members[r]):
            if own[name] < at and name in candidates:
                out.setdefault(own[name], []).append(name)
                members[r].discard(name)
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
