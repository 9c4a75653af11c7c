"""The spellings of a mean that `codegen.core.norm_lean` recognises.

``np.mean(v, axis=A)`` (`codegen.core.norm_lean._reduction`), or the sum
divided by the count, as the lectures' staged batch norm writes it:

    N = x.shape[0]                  # or np.shape(x)[0]
    mu = np.sum(x, axis=0) / N

The count is proven to be the number of elements the sum adds: one axis k
summed, and the divisor the entry k (a literal index) of the shape of the
array summed, or of an array whose annotated shape has the same symbol
there (``N = x.shape[0]`` divides the sum of ``(x - mu) ** 2`` too). The sum must be read by this division only, so its
adjoint belongs to the mean's. Any other divisor (a literal, a parameter,
a product of shapes) is not recognised: the backward is then left step by
step, which is still right.

Value for value np.mean is that sum divided by that count (for float32 and
float64 NumPy sums in the array's own dtype in both), so the closed form,
which uses the identity mean(xhat) = 0, holds the same.
"""

from __future__ import annotations

from collections.abc import Callable

from codegen.core import ir


def mean_of(
    step: ir.Assign,
    step_of: dict[str, ir.Assign],
    rank: int,
    private: Callable[[str], bool],
    reduction: Callable[..., tuple[str, tuple[int, ...]] | None],
    shape: dict[str, tuple[str, ...] | None],
) -> tuple[str, tuple[int, ...], frozenset[str]] | None:
    """(operand, axes, further steps of the mean) of `step`, or None."""
    m = reduction(step, ("mean",), rank)
    if m is not None:
        return m[0], m[1], frozenset()
    if step.op != "div" or step.kwargs or len(step.args) != 2:
        return None
    total, count = step.args
    if not (isinstance(total, ir.Var) and isinstance(count, ir.Var)):
        return None
    s = step_of.get(total.name)
    if s is None or not private(s.target):
        return None
    summed = reduction(s, ("sum",), rank)
    if summed is None or len(summed[1]) != 1:
        return None
    v, axes = summed
    entry = _shape_entry(count.name, step_of, rank)
    if entry is None or entry[1] != axes[0]:
        return None
    if entry[0] != v:  # another array's: the same symbol on that axis
        a, b = shape.get(entry[0]), shape.get(v)
        if a is None or b is None or len(a) != rank or len(b) != rank:
            return None
        if a[axes[0]] != b[axes[0]]:
            return None
    return v, axes, frozenset({s.target})


def _shape_entry(
    name: str, step_of: dict[str, ir.Assign], rank: int
) -> tuple[str, int] | None:
    """(v, k) when `name` is ``v.shape[k]`` or ``np.shape(v)[k]``."""
    item = step_of.get(name)
    if item is None or item.op != "getitem" or item.kwargs or len(item.args) != 2:
        return None
    of, index = item.args
    k = ir.literal(index.text) if isinstance(index, ir.Const) else None
    if not isinstance(of, ir.Var) or not isinstance(k, int) or isinstance(k, bool):
        return None
    shape = step_of.get(of.name)
    if shape is None or shape.op not in ("shape", "shape_of") or shape.kwargs:
        return None
    if len(shape.args) != 1 or not isinstance(shape.args[0], ir.Var):
        return None
    if not -rank <= k < rank:
        return None
    return shape.args[0].name, k % rank
