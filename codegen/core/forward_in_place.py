"""Forward IR pass: an arithmetic step computed in its dying operand's array.

`update_in_place` finds the forward step that makes a result, ``t = a + b``
(``-``, ``*``, ``/``), where a is an array the forward made itself that
nothing reads afterwards: ``out = gamma * xhat + beta``, whose product is a
temporary the size of the output. (Only results: the same holds for any
such step, but four lines for one would make every module longer for an
array that is freed at once.) NumPy would allocate a second array of that size for the
sum; the pass has it written into a's array instead:

    out_dtype = np.result_type(out_mul, beta)
    out_cast = out_mul.astype(out_dtype, copy=False)
    out_cast += beta
    out = out_cast

The cast makes it exact for every dtype the caller may pass: when a already
has the sum's dtype (float64 throughout, float32 throughout) it returns a
itself and the sum is in place; when b is wider (a float64 beta with a
float32 product) it returns a widened copy, every element converted exactly
(a narrower float type's values are all values of the wider one), and ``+=``
then computes what ``a + b`` computes: NumPy converts a to that dtype for
the sum just the same. The result has the sum's shape because a's shape is
the broadcast of both (proven on the symbolic shapes of the annotations).

Conditions, proven on the IR: a is the result of an arithmetic step (so a new
array) of known rank 1 or more, is not a parameter, a result or in the
backward's cache, and no later forward step reads it; t reads it once. The
renderer releases a (``del``) right after the cast, so no other name holds
the array when it is updated: the generated module parses again (second
order), whose alias check refuses an in-place update of a shared array.
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import ir
from codegen.core.passes import unused_name
from codegen.core.reverse import Backward
from codegen.core.shapes import _broadcast, ranks, shapes

_ARITHMETIC = ("add", "sub", "mul", "div")


def update_in_place(bwd: Backward) -> Backward:
    """Each proven ``t = a op b`` as ``a``'s array updated (module docstring)."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)
    shape = shapes(bwd.fn)
    steps = list(bwd.forward)
    step_of = {s.target: s for s in steps}
    results = set(bwd.fn.results)
    kept = set(bwd.cache) | results | {p.name for p in bwd.fn.params}
    taken = {s.target for s in (*bwd.fn.body, *steps)} | set(bwd.fn.user_names)
    taken |= {p.name for p in bwd.fn.params} | set(bwd.grad_names.values())
    out: list[ir.Assign] = []
    for k, t in enumerate(steps):
        if (
            t.into
            or t.target not in results
            or t.op not in _ARITHMETIC
            or t.kwargs
            or len(t.args) != 2
        ):
            out.append(t)
            continue
        a, b = t.args
        made = step_of.get(a.name) if isinstance(a, ir.Var) else None
        if (
            made is None
            or not isinstance(b, ir.Var)
            or a == b
            or made.op not in _ARITHMETIC
            or made.kwargs
            or not rank.get(made.target)
            or made.target in kept
            or any(ir.Var(made.target) in s.args for s in steps[k + 1 :])
            or any(ir.Var(made.target) in (v for _, v in s.kwargs) for s in steps)
        ):
            out.append(t)
            continue
        sa, sb = shape.get(made.target), shape.get(b.name)
        if sa is None or sb is None or _broadcast([sa, sb]) != sa:
            out.append(t)
            continue
        dtype, cast = (
            unused_name(f"{t.target}_dtype", taken),
            unused_name(f"{t.target}_cast", taken),
        )

        cast_kw = (("copy", ir.Const("False")),)
        # a true division's dtype: float for integers (1.0 is a Python float,
        # which widens no floating dtype)
        types = (a, b, ir.Const("1.0")) if t.op == "div" else (a, b)
        out.append(_step(t, dtype, "result_type", types))
        out.append(_step(t, cast, "astype", (a, ir.Var(dtype)), cast_kw))
        out.append(replace(t, args=(ir.Var(cast), b), into=True))
    if len(out) == len(steps):
        return bwd
    return replace(bwd, forward=tuple(out))


def _step(
    t: ir.Assign,
    target: str,
    op: str,
    args: tuple[ir.Operand, ...],
    kwargs: tuple[tuple[str, ir.Operand], ...] = (),
) -> ir.Assign:
    """A step of t's statement, named by codegen."""
    return ir.Assign(
        target, op, args, kwargs, t.loc, t.source, display=t.display, intermediate=True
    )
