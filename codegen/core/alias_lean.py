"""Backward IR pass (issue 17): accumulate in place into a gradient whose
first value is a copy of another one, once that other name is dead.

`codegen.core.passes.accumulate_in_place` adds out of place the first time
into a gradient whose first value is another gradient
(``grad_scores = grad_margins_sub``): two names hold that array. Often the
other name is never read again by then (the SVM: ``grad_margins_sub`` is read
by one fresh reduction, then ``grad_scores`` gets the gather's scatter), and
the new array the sum makes is waste. `alias_in_place` marks that first
accumulation in place when it proves, on the IR:

* the array is one the backward allocated itself: following the plain copies
  (``grad_b = grad_a``) back gives a gradient whose first value is a new
  array (`codegen.core.passes._fresh`), the group of names bound to it;
* no other name of the group is accumulated into, returned (an output or a
  gradient returned shared) or an upstream seed, and none is known to be a
  number (so `codegen.back.release` lets it go, see below);
* every other read of a group name is either one of the copies themselves or
  an expression that makes a new array (a product, a sum, ``-x``): nothing
  else holds the array, no view, no ``_unbroadcast`` that may return it;
* every name of the group but the one accumulated is read for the last time
  before the accumulation.

Then the in-place ``+=`` changes an array only the accumulated name can still
reach: the values every statement reads are those of the out-of-place sum.
`codegen.back.release` ends the other names at their last read (``del``),
so the generated module still parses for a second derivative, where an
in-place update of an array another live name holds is refused. Tested in
tests/test_alias_lean.py.
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core.passes import _fresh
from codegen.core.reverse import Backward, GradStep
from codegen.core.shapes import ranks


def _reads(gs: GradStep) -> set[str]:
    names = E.names(gs.expr)
    for item in gs.at:
        names |= E.names(item)
    return names


def alias_in_place(bwd: Backward) -> Backward:
    """Mark in place the first accumulation into a copied gradient whose
    other names are dead (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    flat = [gs for b in bwd.blocks for gs in b.steps]
    first: dict[str, int] = {}
    accumulated: dict[str, list[int]] = {}
    for k, gs in enumerate(flat):
        if gs.accumulate:
            accumulated.setdefault(gs.grad, []).append(k)
        else:
            first.setdefault(gs.grad, k)
    copy_of: dict[str, str] = {}
    for g, k in first.items():
        e = flat[k].expr
        if isinstance(e, E.Name) and e.id in first:
            copy_of[g] = e.id
    rank = ranks(bwd.fn)
    held = {g for _, g in bwd.outputs if g} | set(bwd.shared)
    held |= set(bwd.seeds or (bwd.seed,))
    marks: set[int] = set()
    for g, ks in accumulated.items():
        k = ks[0]
        if g not in copy_of or flat[k].in_place:
            continue
        group = _group(g, copy_of, first)
        if group is None:
            continue
        others = group - {g}
        if others & held or any(o in accumulated for o in others):
            continue
        if any(rank.get(flat[first[n]].var) == 0 for n in others):
            continue  # a number: codegen.back.release keeps its names
        if _safe(flat, k, g, others, copy_of):
            marks.add(k)
    if not marks:
        return bwd
    blocks, k = [], 0
    for block in bwd.blocks:
        steps = []
        for gs in block.steps:
            steps.append(replace(gs, in_place=True) if k in marks else gs)
            k += 1
        blocks.append(replace(block, steps=tuple(steps)))
    return replace(bwd, blocks=tuple(blocks))


def _group(g: str, copy_of: dict[str, str], first: dict[str, int]) -> set[str] | None:
    """The names bound to g's first array by plain copies, or None when that
    array is not one the backward made (or the copies loop)."""
    root, seen = g, {g}
    while root in copy_of:
        root = copy_of[root]
        if root in seen:
            return None
        seen.add(root)
    group = {root}
    changed = True
    while changed:
        changed = False
        for name, src in copy_of.items():
            if src in group and name not in group:
                group.add(name)
                changed = True
    return group if root in first else None


def _safe(
    flat: list[GradStep], k: int, g: str, others: set[str], copy_of: dict[str, str]
) -> bool:
    """True when no name in `others` is read at or after step k, and each
    earlier read of the group is a copy or a fresh expression; and the root's
    first value is fresh."""
    group = others | {g}
    root = next(n for n in group if n not in copy_of or copy_of[n] not in group)
    roots = [gs for gs in flat if gs.grad == root and not gs.accumulate]
    if not roots or not _fresh(roots[0].expr):
        return False
    for j, gs in enumerate(flat):
        read = _reads(gs) & others
        if not read:
            continue  # g alone: read once complete, or its own accumulations
        if j >= k:
            return False
        if not gs.accumulate and gs.grad in group:
            continue  # one of the copies
        if not _fresh(gs.expr):
            return False
    return True


__all__ = ["alias_in_place"]
