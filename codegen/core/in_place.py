"""IR passes (issue 17): elementwise results written over dead temporaries,
and a ReLU's mask read off its output.

`write_over`: a forward step ``t = a + b`` where ``a`` is an array the
function made itself (a new array, never a view: ``a = x @ w``, or a
qualifying ufunc's result) that nothing reads after this step (not a later
step, not the backward, not the caller; every earlier reader made a new
array from it: arithmetic, a ufunc, a reduction, an integer-array gather)
can put its result in a's buffer::

    t = np.add(a, b, out=_reuse(a, b))

The runtime helper `_reuse` returns ``a`` only when the result fits it
exactly: ``a`` is a writable float array whose dtype is NumPy's promotion of
the operands and whose shape is their broadcast shape; otherwise None, and
NumPy makes a new array. The values are those of ``a + b`` either way
(ufuncs give the same result when an operand is the output), only no new
buffer is taken, the way careful hand-written code writes ``pre += b1``.
A gradient temporary read once, by an elementwise contribution of names and
numbers, is reused the same way in the backward (``grad_h * mask``).

Only ufuncs qualify whose loop for each real float type returns that type
(``np.add``, ``np.exp``, ``np.maximum``; not comparisons), so the promotion
`_reuse` checks is the ufunc's output type. Only values of proven rank 2 or
more are considered: the check costs a microsecond, worth it on arrays.

`mask_from_output`: the backward of ``h = np.maximum(c, a)`` for a number
``c`` reads ``c < a``; that is the same boolean array as ``c < h`` (where
a > c, h is a; elsewhere h is c, and c < c is False; NaN compares False both
ways), and likewise ``c > a`` for ``np.minimum(c, a)``. When the backward
reads h anyway (``h.T @ g``), it compares h, and a is no longer cached: a
becomes a dead temporary the ReLU can write over.

Tested in tests/test_in_place.py against autograd and central differences.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.passes import _fresh, _shape_uses, cache_of, rewrite_blocks, step_expr
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import ranks

#: Arithmetic operators and the ufuncs they call.
_OPERATORS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}

#: Forward ops that read only an array's shape, dtype or length.
_METADATA = frozenset(
    {"shape", "shape_of", "len", "dtype", "size", "ndim", "result_type"}
)

#: Forward ops whose result is always a new array (or a number), never a
#: view of their operand: reductions, and integer-array indexing (a copy).
_NEW_ARRAY_OPS = frozenset(
    {"sum", "mean", "amax", "amin", "var", "std", "cumsum", "gather"}
)

#: The float types whose loops must return their own type.
_FLOATS = "efdg"


@cache
def _keeps_float_type(name: str, nin: int) -> bool:
    """True when ``np.<name>`` is a one-output ufunc of `nin` inputs whose
    loop for each real float type returns that type."""
    u = getattr(np, name, None)
    if not isinstance(u, np.ufunc) or u.nout != 1 or u.nin != nin:
        return False
    loops = dict(t.split("->") for t in u.types)
    return all(loops.get(c * nin) == c for c in _FLOATS)


def ufunc_call(e: E.Expr) -> tuple[str, tuple[E.Expr, ...]] | None:
    """(ufunc name, operands) when `e` is one call of a qualifying ufunc on
    names and numbers: ``a + b``, ``-a``, ``np.exp(a)``; else None."""
    args: tuple[E.Expr, ...]
    if isinstance(e, E.BinOp) and e.op in _OPERATORS:
        name, args = _OPERATORS[e.op], (e.left, e.right)
    elif isinstance(e, E.Unary) and e.op == "-":
        name, args = "negative", (e.operand,)
    elif (
        isinstance(e, E.Call)
        and isinstance(e.func, E.Attr)
        and e.func.value == E.Name("np")
        and not e.kwargs
    ):
        name, args = e.func.attr, e.args
    else:
        return None
    if not all(_plain(a) for a in args) or not _keeps_float_type(name, len(args)):
        return None
    return name, args


def _plain(e: E.Expr) -> bool:
    """A name, a number, or a name compared with a number (``0 < h``)."""
    if isinstance(e, E.Compare):
        return _stand_in(e) is not None
    if isinstance(e, E.Name):
        return True
    return _number(e)


def _number(e: E.Expr) -> bool:
    return isinstance(e, E.Lit) and isinstance(ir.literal(e.text), (int, float))


def _stand_in(e: E.Expr) -> E.Expr | None:
    """What `_reuse` is given for operand `e`: `e` itself, or for ``0 < h``
    the name h, whose shape the comparison has (a boolean never raises a
    float's type, so h's dtype can only make `_reuse` decline)."""
    if not isinstance(e, E.Compare):
        return e
    if isinstance(e.left, E.Name) and _number(e.right):
        return e.left
    if isinstance(e.right, E.Name) and _number(e.left):
        return e.right
    return None


def _new_array(e: E.Expr) -> bool:
    """True when `e` computes a new array (or a number), never a view of an
    operand: arithmetic, a comparison, a qualifying ufunc."""
    return _fresh(e) or isinstance(e, E.Compare) or ufunc_call(e) is not None


def with_out(e: E.Expr, over: str) -> E.Expr:
    """`e` as ``np.<ufunc>(..., out=_reuse(over, ...))``: `codegen.back.render`
    writes a marked forward step this way."""
    found = ufunc_call(e)
    assert found is not None, e
    name, args = found
    others = [_stand_in(a) for a in args if a != E.Name(over)]
    reuse = E.Call(E.Name("_reuse"), (E.Name(over), *(o for o in others if o)))
    return E.Call(E.Attr(E.Name("np"), name), args, (("out", reuse),))


def write_over(bwd: Backward) -> Backward:
    """Mark forward steps and gradient contributions that may write over a
    dead temporary (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)
    producer = {s.target: s for s in bwd.forward}
    keep = set(bwd.cache) | set(bwd.fn.results) | {p.name for p in bwd.fn.params}
    readers: dict[str, list[int]] = {}
    for k, step in enumerate(bwd.forward):
        if step.op in _METADATA:  # reads the shape, which writing keeps
            continue
        for o in {*step.args, *(v for _, v in step.kwargs)}:
            if isinstance(o, ir.Var):
                readers.setdefault(o.name, []).append(k)

    def dead_after(n: str, k: int) -> bool:
        # step k reads n last, and every earlier reader made a new array
        # from it (no view of n outlives the write)
        return all(
            r == k
            or (
                r < k
                and (
                    bwd.forward[r].op in _NEW_ARRAY_OPS
                    or _new_array(step_expr(bwd.forward[r], "np"))
                )
            )
            for r in readers.get(n, ())
        )

    forward = []
    for k, step in enumerate(bwd.forward):
        over = ""
        if (
            (rank.get(step.target) or 0) >= 2
            and not step.extra_targets
            and not step.into  # already computed in its operand's array
        ):
            found = ufunc_call(step_expr(step, "np"))
            for a in found[1] if found else ():
                n = a.id if isinstance(a, E.Name) else ""
                p = producer.get(n)
                if (
                    p is not None
                    and n not in keep
                    and dead_after(n, k)
                    and not p.extra_targets
                    and _new_array(step_expr(p, "np"))
                ):
                    over = n
                    break
        forward.append(replace(step, over=over) if over else step)
    return replace(bwd, forward=tuple(forward), blocks=_backward_over(bwd, rank))


def _backward_over(bwd: Backward, rank: dict[str, int | None]) -> tuple[Block, ...]:
    """Gradient contributions ``grad_v = <ufunc of names>`` that may write over
    a gradient temporary: one the backward made by a new-array expression,
    written once, read only there, never returned or an upstream seed."""
    steps = [gs for b in bwd.blocks for gs in b.steps]
    writes: dict[str, int] = {}
    reads: dict[str, int] = {}
    made: dict[str, GradStep] = {}
    for gs in steps:
        writes[gs.grad] = writes.get(gs.grad, 0) + 1
        made.setdefault(gs.grad, gs)
        for n in E.names(gs.expr):
            reads[n] = reads.get(n, 0) + 1
    keep = {g for _, g in bwd.outputs if g} | set(bwd.shared)
    keep |= set(bwd.seeds or (bwd.seed,))

    def owned(n: str) -> bool:
        first = made.get(n)
        return (
            first is not None
            and n not in keep
            and writes[n] == 1
            and reads.get(n) == 1
            and _fresh(first.expr)
            and (rank.get(first.var) or 0) >= 2
        )

    blocks = []
    for block in bwd.blocks:
        out = []
        for gs in block.steps:
            found = None if gs.accumulate else ufunc_call(gs.expr)
            if found is not None and (rank.get(gs.var) or 0) >= 2:
                for a in found[1]:
                    if isinstance(a, E.Name) and owned(a.id):
                        gs = replace(gs, expr=with_out(gs.expr, a.id))
                        break
            out.append(gs)
        blocks.append(replace(block, steps=tuple(out)))
    return tuple(blocks)


#: ``np.maximum(c, a)`` / ``np.minimum(c, a)``: the comparison its backward
#: reads (number on the left) and the forward op.
_CLAMPS = {"maximum": "<", "minimum": ">"}


def mask_from_output(bwd: Backward) -> Backward:
    """Compare a clamp's output instead of its input where the backward reads
    the output anyway (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    reads: set[str] = set()  # read for more than the shape
    for block in bwd.blocks:
        for gs in block.steps:
            reads |= _shape_uses(gs.expr)[1]
    swap: dict[E.Expr, E.Expr] = {}
    for step in bwd.forward:
        if step.op not in _CLAMPS or len(step.args) != 2 or step.kwargs:
            continue
        c, a = step.args
        if not (isinstance(c, ir.Const) and isinstance(a, ir.Var)):
            continue
        if not isinstance(ir.literal(c.text), (int, float)):
            continue
        if step.target not in reads:
            continue
        op = _CLAMPS[step.op]
        swap[E.Compare(op, E.Lit(c.text), E.Name(a.name))] = E.Compare(
            op, E.Lit(c.text), E.Name(step.target)
        )
    if not swap:
        return bwd
    new = replace(bwd, blocks=rewrite_blocks(bwd.blocks, swap.get))
    return replace(new, cache=cache_of(new))


__all__ = ["mask_from_output", "ufunc_call", "with_out", "write_over"]
