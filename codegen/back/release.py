"""Where a NumPy backward lets go of its arrays.

A flat backward keeps every local alive until it returns. When a gradient
temporary or, in the value-and-grad, a forward array is not read again, a
``del`` at the end of the block that read it last frees the buffer at once,
so the next block's temporaries can reuse the memory: peak memory nearer
the size of what is live, the way a careful hand-written backward reuses
its buffers. This module only decides which names to release after which
block; `codegen.back.render` writes the lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from codegen.core import expr as E
from codegen.core.reverse import Backward, Block
from codegen.core.shapes import ranks

#: Forward ops whose result is never a large array: not worth a ``del``.
_SMALL = frozenset(
    {"shape", "shape_of", "len", "item", "entry", "range", "slice", "tuple", "dtype"}
)


def releases(
    bwd: Backward, blocks: Sequence[Block], forward: bool
) -> dict[int, list[str]]:
    """For each index into `blocks`, the names read for the last time there:
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
    last: dict[str, int] = {}
    for i, block in enumerate(blocks):
        for name in _used(block.steps):
            if name in candidates:
                last[name] = i
    final = max((i for i, b in enumerate(blocks) if b.steps), default=-1)
    out: dict[int, list[str]] = {}
    for name, i in sorted(last.items()):
        if i != final:  # the function returns right after the last block
            out.setdefault(i, []).append(name)
    return out


def _used(steps: Iterable) -> set[str]:
    used: set[str] = set()
    for gs in steps:
        used.add(gs.grad)
        used |= E.names(gs.expr)
    return used
