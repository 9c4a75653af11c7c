"""Accumulating a matrix product into a gradient a block of rows at a time.

The MLP's weight gradient is the sum of its L2 term and a product:
``grad_W1 = 2 * grad_loss_sum * W1`` then ``grad_W1 += X.T @ grad_h``. The
``+=`` makes the whole product first, a new (D, H) array as large as W1,
then reads it back to add it: for D x H much larger than the cache, that
array is written to memory and read again, which costs as much as the
product's arithmetic (on a 3072 x 512 float64 weight, 5 of 11 ms).

`accumulate_by_rows` marks such an accumulation; it is rendered
``_add_matmul(grad_W1, X.T, grad_h)`` (templates/runtime/_add_matmul.j2),
which adds the product of a block of X.T's rows (1 MiB of the product) at a
time, while that block is still in cache. Row i of ``a @ b`` is computed
from row i of ``a`` alone, so the values are those of ``grad += a @ b``; the
helper runs exactly that statement unless both operands are 2-D, the
product has the gradient's shape and it is 4 MiB or more (measured on the
MLP workloads: 3072 x 512 float64 11 -> 7 ms; 784 x 1024 float64 even; on
a 784 x 1024 float32 gradient, 3 MiB, blocks cost 10%, as each block packs
b again for BLAS).

The helper also computes a narrow product of a transposed array, the SVM's
``X.T @ grad_scores`` into a 3073 x 10 weight, as ``(grad_scores.T @ X).T``:
the same sums, but OpenBLAS then reads X's rows in order. With the add
(through ``out.T``, in the product's layout) that takes 0.4 to 0.9 of the
time for 784 to 20,000 rows, 10 to 128 columns and an inner size at least
four times the columns (1.74 -> 0.93 ms on the SVM's shape); with a smaller
inner size the strided add costs more than the product saves (up to 1.5x),
so the helper runs the plain statement there.

Only accumulations already in place qualify (`passes.accumulate_in_place`:
an array the backward allocated, which nothing else sees), into the
gradient of a value of proven rank 2.
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import ranks


def accumulate_by_rows(bwd: Backward) -> Backward:
    """`bwd` with in-place accumulations of a matrix product into a 2-D
    gradient, in its backward and its value-and-grad, done by rows."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)

    def mark(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
        return tuple(
            replace(b, steps=tuple(_by_rows(gs, rank) for gs in b.steps))
            for b in blocks
        )

    flat = None if bwd.flat is None else mark(bwd.flat)
    return replace(bwd, blocks=mark(bwd.blocks), flat=flat)


def _by_rows(gs: GradStep, rank: dict[str, int | None]) -> GradStep:
    if (
        gs.accumulate
        and gs.in_place
        and not (gs.at or gs.update)
        and isinstance(gs.expr, E.BinOp)
        and gs.expr.op == "@"
        and rank.get(gs.var) == 2
    ):
        return replace(gs, by_rows=True)
    return gs
