"""Value-and-grad IR pass: a gradient contribution written over a forward
array the value-and-grad no longer needs.

In ``<f>_value_and_grad`` the forward's arrays are locals: one that the
backward part reads for the last time in an elementwise contribution
(softmax cross-entropy: ``grad_shifted = grad_log_probs_exp * log_probs_exp``,
the last read of the exponentials) can hold that contribution's result::

    grad_shifted = np.multiply(
        grad_log_probs_exp, log_probs_exp, out=_reuse(log_probs_exp, ...)
    )

`flat_over` marks such a contribution when the forward value t

* is made by the function itself as a new array (arithmetic, a qualifying
  ufunc, possibly written over a dead array itself: `codegen.core.in_place`),
  has rank 2 or more, and is neither a parameter nor a result;
* is read by every forward step as an operand of a new array (a reduction,
  arithmetic, an integer-array gather), so no view of it is alive;
* is read in the value-and-grad's backward part before this line only by
  contributions that make new arrays, and never after it.

`_reuse` still declines at run time unless the dtype and shape fit, so the
values are those of the plain expression. `<f>_backward` is unchanged: there
the cache holds the array, which the caller may pass again.
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.in_place import _NEW_ARRAY_OPS, _new_array, ufunc_call, with_out
from codegen.core.passes import step_expr
from codegen.core.reverse import Backward, Block
from codegen.core.shapes import ranks


def flat_over(bwd: Backward) -> Backward:
    """The value-and-grad's contributions that may write over a dead forward
    array (module docstring); the backward unchanged where there are none."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)
    blocks = bwd.flat if bwd.flat is not None else bwd.blocks
    keep = set(bwd.fn.results) | {p.name for p in bwd.fn.params}
    producer = {s.target: s for s in bwd.forward}
    readers: dict[str, list[ir.Assign]] = {}
    for step in bwd.forward:
        for o in (*step.args, *(v for _, v in step.kwargs)):
            if isinstance(o, ir.Var):
                readers.setdefault(o.name, []).append(step)

    def candidate(t: str) -> bool:
        p = producer.get(t)
        return (
            p is not None
            and t not in keep
            and (rank.get(t) or 0) >= 2
            and not p.extra_targets
            and _new_array(step_expr(p, "np"))
            and all(
                r.op in _NEW_ARRAY_OPS or _new_array(step_expr(r, "np"))
                for r in readers.get(t, ())
            )
        )

    order = [(i, j) for i, b in enumerate(blocks) for j in range(len(b.steps))]
    reads: dict[str, list[tuple[int, int]]] = {}
    for i, j in order:
        gs = blocks[i].steps[j]
        for x in (gs.expr, *gs.at):
            for n in E.names(x):
                reads.setdefault(n, []).append((i, j))
    changed = False
    out: list[Block] = []
    for i, b in enumerate(blocks):
        steps = []
        for j, gs in enumerate(b.steps):
            found = None if gs.accumulate else ufunc_call(gs.expr)
            if found is not None and (rank.get(gs.var) or 0) >= 2:
                for a in found[1]:
                    t = a.id if isinstance(a, E.Name) else ""
                    at = reads.get(t, [])
                    if not (candidate(t) and at and at[-1] == (i, j)):
                        continue
                    if all(_new_array(blocks[k].steps[m].expr) for k, m in at[:-1]):
                        gs = replace(gs, expr=with_out(gs.expr, t))
                        changed = True
                        break
            steps.append(gs)
        out.append(replace(b, steps=tuple(steps)))
    if not changed:
        return bwd
    return replace(bwd, flat=tuple(out))
