"""Backward IR pass: a parameter's gradient that only needs the upstream
gradient and the cache is computed last, in `<f>_backward`.

`parameters_last` moves a contribution of the first block (the forward's last
statement, undone first) to the end of the backward when

* it is the only contribution to a returned gradient (nothing accumulates
  into it, so no sum is reordered);
* it reads only the upstream gradients, the parameters and forward values
  (the cache), never another gradient;
* it is a product (``@``): an array of its own, not a reduction to the size
  of a bias;

in a block of its own under the same forward line. The values it reads are
held by the cache for the whole backward, so computing it later keeps
nothing alive longer, and its array does not exist while the backward's
temporaries do (attention: ``grad_V = A.T @ grad_out`` is not alive next to
the (T, T) gradient of the scores). Every gradient is computed from the same
operands as before, so the numbers are the same. The value-and-grad, where
forward values are locals released after their last use, keeps the order
(`Backward.flat`).
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core.reverse import Backward, Block, GradStep


def parameters_last(bwd: Backward) -> Backward:
    """The first block's lone parameter gradients moved to the end (module
    docstring); the backward unchanged where there are none."""
    if bwd.lib != "np" or bwd.flat is not None:
        return bwd
    first = next((i for i, b in enumerate(bwd.blocks) if b.steps), None)
    if first is None:
        return bwd
    outputs = {g for _, g in bwd.outputs if g is not None}
    seeds = set(bwd.seeds or (bwd.seed,))
    known = {p.name for p in bwd.fn.params} | {s.target for s in bwd.forward}
    writes: dict[str, int] = {}
    for b in bwd.blocks:
        for gs in b.steps:
            writes[gs.grad] = writes.get(gs.grad, 0) + 1
    block = bwd.blocks[first]
    moved: list[GradStep] = []
    for gs in block.steps:
        if gs.accumulate or gs.at or gs.update or gs.grad not in outputs:
            continue
        if writes[gs.grad] != 1 or not E.names(gs.expr) <= known | seeds:
            continue
        if not any(isinstance(n, E.BinOp) and n.op == "@" for n in E.walk(gs.expr)):
            continue
        moved.append(gs)
    kept = tuple(gs for gs in block.steps if gs not in moved)
    if not moved or not kept or len(bwd.blocks) == first + 1:
        return bwd  # nothing to move, or nothing computed after it
    blocks = list(bwd.blocks)
    blocks[first] = replace(block, steps=kept)
    blocks.append(Block(block.source, tuple(moved), block.targets))
    return replace(bwd, blocks=tuple(blocks), flat=bwd.blocks)
