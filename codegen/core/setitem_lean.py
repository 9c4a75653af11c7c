"""Backward IR pass (issue 17): a broadcast upstream gradient, zeroed at an
index and masked, written as one product.

The SVM's ``loss = np.sum(margins) / N`` after ``margins[rows, y] = 0`` after
``margins = np.maximum(0, ...)`` gives three statements:

    grad_margins_1 = np.broadcast_to(grad_loss_sum, np.shape(margins_1))
    grad_margins = _setitem(grad_margins_1, 0.0, np.s_[rows, y])
    grad_margins_add = grad_margins * margins_add_mask

`fold_masked_setitem` writes the last as
``_setitem(margins_add_mask * grad_loss_sum, 0.0, np.s_[rows, y])`` and drops
the first two: no broadcast view, one product less. What it proves on the IR:

* ``b = np.broadcast_to(u, np.shape(z))`` with u of rank 0 (a number or a
  0-d array, `codegen.core.shapes.ranks`): b is u everywhere in z's shape;
* ``x = _setitem(b, 0, np.s_[idx])`` (a zero literal): x is b with zeros at
  idx, in b's dtype;
* ``y = x * m`` where m is a comparison of a value with a number (a boolean
  array; `codegen.core.conv_masks` caches such masks), whose proven dimensions
  (`codegen.core.conv_lean.dims`) are z's, every one known: ``x * m`` has z's
  shape, and ``m * u`` has it too;
* b and x are each read only by the next of these statements, and are
  neither accumulated into, returned, shared nor an upstream seed.

Then at idx both forms give ``0 * m[idx] = 0`` (m is boolean: no ``0 * inf``),
and elsewhere ``u * m``: the same array, in the same dtype (a boolean factor
keeps u's). Tested in tests/test_setitem_lean.py.
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.conv_lean import dims
from codegen.core.passes import cache_of, shape_arg
from codegen.core.reverse import Backward, GradStep
from codegen.core.shapes import ranks

_BROADCAST_TO = E.Attr(E.Name("np"), "broadcast_to")
_SETITEM = E.Name("_setitem")
_COMPARISONS = frozenset({"gt", "ge", "lt", "le", "eq", "ne"})


def fold_masked_setitem(bwd: Backward) -> Backward:
    """Fold broadcast, zeroing and mask into one product where proven (see
    the module docstring)."""
    if bwd.lib != "np":
        return bwd
    flat = [gs for b in bwd.blocks for gs in b.steps]
    writes: dict[str, list[int]] = {}
    reads: dict[str, list[int]] = {}
    for k, gs in enumerate(flat):
        writes.setdefault(gs.grad, []).append(k)
        for n in E.names(gs.expr) | {n for i in gs.at for n in E.names(i)}:
            reads.setdefault(n, []).append(k)
    held = {g for _, g in bwd.outputs if g} | set(bwd.shared)
    held |= set(bwd.seeds or (bwd.seed,))
    known = dims(bwd.fn)
    rank = ranks(bwd.fn)
    steps = {s.target: s for s in bwd.forward}
    drop: set[int] = set()
    new: dict[int, E.Expr] = {}
    for k, gs in enumerate(flat):
        folded = _fold(gs, k, flat, writes, reads, held, known, rank, steps)
        if folded is not None:
            expr, gone = folded
            new[k] = expr
            drop |= gone
    if not new:
        return bwd
    blocks, k = [], 0
    for block in bwd.blocks:
        kept = []
        for gs in block.steps:
            if k in new:
                kept.append(replace(gs, expr=new[k]))
            elif k not in drop:
                kept.append(gs)
            k += 1
        blocks.append(replace(block, steps=tuple(kept)))
    out = replace(bwd, blocks=tuple(blocks))
    return replace(out, cache=cache_of(out))


def _fold(
    gs: GradStep,
    k: int,
    flat: list[GradStep],
    writes: dict[str, list[int]],
    reads: dict[str, list[int]],
    held: set[str],
    known: dict[str, tuple[str | None, ...] | None],
    rank: dict[str, int | None],
    steps: dict[str, ir.Assign],
) -> tuple[E.Expr, set[int]] | None:
    """The folded contribution of step k and the steps it replaces, or None."""
    e = gs.expr
    if gs.accumulate or not (isinstance(e, E.BinOp) and e.op == "*"):
        return None
    if not (isinstance(e.left, E.Name) and isinstance(e.right, E.Name)):
        return None
    x, m = e.left.id, e.right.id
    q = _only_write(x, writes, reads, held, flat, k)
    if q is None:
        return None
    sx = flat[q].expr
    if not (isinstance(sx, E.Call) and sx.func == _SETITEM and len(sx.args) == 3):
        return None
    b, zero, index = sx.args
    if sx.kwargs or not isinstance(b, E.Name) or not _zero(zero):
        return None
    p = _only_write(b.id, writes, reads, held, flat, q)
    if p is None:
        return None
    sb = flat[p].expr
    if not (isinstance(sb, E.Call) and sb.func == _BROADCAST_TO and not sb.kwargs):
        return None
    if len(sb.args) != 2:
        return None
    u, shape = sb.args
    if not (isinstance(u, E.Name) and rank.get(_var(u.id, flat, writes)) == 0):
        return None
    v = shape_arg(shape)
    if v is None:
        return None
    z = known.get(v)
    if z is None or None in z or _mask_dims(m, steps, known) != z:
        return None
    product = E.BinOp("*", E.Name(m), u)
    return E.Call(_SETITEM, (product, zero, index)), {p, q}


def _only_write(
    name: str,
    writes: dict[str, list[int]],
    reads: dict[str, list[int]],
    held: set[str],
    flat: list[GradStep],
    reader: int,
) -> int | None:
    """The one step writing gradient `name`, when `reader` is its only reader."""
    ks = writes.get(name, [])
    if len(ks) != 1 or name in held or reads.get(name) != [reader]:
        return None
    return ks[0] if ks[0] < reader and not flat[ks[0]].accumulate else None


def _var(name: str, flat: list[GradStep], writes: dict[str, list[int]]) -> str:
    """The forward value a gradient name belongs to (or the name itself)."""
    ks = writes.get(name)
    return flat[ks[0]].var if ks else ""


def _zero(e: E.Expr) -> bool:
    return isinstance(e, E.Lit) and ir.literal(e.text) in (0, 0.0) and e.text != "False"


def _mask_dims(
    m: str, steps: dict[str, ir.Assign], known: dict[str, tuple[str | None, ...] | None]
) -> tuple[str | None, ...] | None:
    """The dims of a boolean mask ``m = v < 0`` (a comparison with a number)."""
    step = steps.get(m)
    if step is None or step.op not in _COMPARISONS or len(step.args) != 2:
        return None
    if step.kwargs or step.extra_targets:
        return None
    a, c = step.args
    if isinstance(a, ir.Const):
        a, c = c, a
    if not (isinstance(a, ir.Var) and isinstance(c, ir.Const)):
        return None
    number = ir.literal(c.text)
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return None
    return known.get(a.name)


__all__ = ["fold_masked_setitem"]
