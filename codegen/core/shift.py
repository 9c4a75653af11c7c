"""Shift invariance (forward IR): a maximum subtracted only to stabilise a
softmax or a log-sum-exp carries exactly zero gradient.

* input: a parsed `ir.Function`;
* output: the names of the maxima ``m = np.max(x, axis=a, keepdims=True)`` the
  result does not depend on, holding x fixed; the reverse pass takes them as
  constants (`codegen.core.reverse.reverse`), so the backward has no
  comparison mask for them and caches no maximum;
* invariant: a name is returned only when the IR proves the result unchanged
  by any shift of m along axis a; anything the proof does not follow keeps
  the general rule (tests/test_passes_perf.py).
"""

from __future__ import annotations

import ast

from codegen.core import ir
from codegen.core.shapes import ranks

#: A value's dependence on a shift d of the maximum m (d constant along the
#: reduced axis): ("add", k) changes by k * d, ("mul", p) is multiplied by
#: exp(p * d), INVARIANT does not change, and None is anything else.
_Dep = tuple[str, int] | None
INVARIANT: _Dep = ("add", 0)


def shift_invariant(fn: ir.Function) -> frozenset[str]:
    """The maxima ``m = np.max(x, axis=a, keepdims=True)`` on which the result
    does not depend at all, holding x fixed: then d(result)/dm is zero and
    the gradient through the maximum is exactly zero, never computed.

    Proof by following a shift d of m (constant along axis a, as m has size 1
    there) through the steps after it: ``x - m`` moves by -d, ``exp`` turns a
    move by k d into a factor exp(k d), a sum or max along the same axis with
    keepdims keeps either, ``log`` turns a factor back into a move, and
    products, quotients, sums and differences combine them; every result must
    come out unchanged (softmax ``e / np.sum(e, ...)``, log-sum-exp
    ``z - np.log(np.sum(np.exp(z), ...))``). Every value moved must have the
    rank of x, so that axis a names the same axis everywhere: proven by the
    annotations, or because a moved value only meets x itself, numbers and
    other moved values. Any other use of a moved value (an index, a reshape,
    a product of two moves) stops the proof: the maximum keeps its gradient."""
    if not fn.array:
        return frozenset()
    rank = ranks(fn)
    zero: set[str] = set()
    for i, step in enumerate(fn.body):
        x = step.args[0] if step.op == "amax" and len(step.args) == 1 else None
        if not isinstance(x, ir.Var):
            continue
        r = rank.get(x.name)
        axis = _axis_of(step, r)
        if axis is None or rank.get(step.target) != r:
            continue
        deps: dict[str, _Dep] = {step.target: ("add", 1)}
        for later in fn.body[i + 1 :]:
            dep = _follow(later, deps, x.name, axis, rank)
            if dep != INVARIANT:
                for t in (later.target, *later.extra_targets):
                    deps[t] = dep
        if all(deps.get(res, INVARIANT) == INVARIANT for res in fn.results):
            zero.add(step.target)
    return frozenset(zero)


def _axis_of(step: ir.Assign, rank: int | None) -> int | None:
    """The one axis `step` reduces with keepdims=True: counted from 0 when
    the rank is known, else as written."""
    kw = dict(step.kwargs)
    if set(kw) - {"axis", "keepdims"}:
        return None
    keep, axis = kw.get("keepdims"), kw.get("axis")
    if not isinstance(keep, ir.Const) or keep.text != "True":
        return None
    if not isinstance(axis, ir.Const):
        return None
    try:
        a = ast.literal_eval(axis.text)  # "1", "-1", "(-1)"
    except (ValueError, SyntaxError):
        return None
    if not isinstance(a, int) or isinstance(a, bool):
        return None
    if rank is None:
        return a
    return a % rank if -rank <= a < rank else None


def _number(o: ir.Operand) -> bool:
    if not isinstance(o, ir.Const):
        return False
    try:
        float(o.text)
    except ValueError:
        return False
    return True


def _follow(
    step: ir.Assign,
    deps: dict[str, _Dep],
    x: str,
    axis: int,
    rank: dict[str, int | None],
) -> _Dep:
    """How `step`'s value depends on the shift, given its operands'."""
    ops = [
        deps.get(o.name, INVARIANT) if isinstance(o, ir.Var) else INVARIANT
        for o in step.args
    ]
    kws = [deps.get(v.name, INVARIANT) for _, v in step.kwargs if isinstance(v, ir.Var)]
    if all(d == INVARIANT for d in ops + kws):
        return INVARIANT
    if any(d != INVARIANT for d in kws) or None in ops or step.extra_targets:
        return None
    known = rank.get(x) is not None and rank.get(step.target) == rank.get(x)
    for o, d in zip(step.args, ops, strict=True):
        still = isinstance(o, ir.Var) and o.name == x
        if d == INVARIANT and not (known or still or _number(o)):
            return None  # an operand that may broadcast in more axes
    out = _combine(step, ops, axis, rank.get(x))
    return INVARIANT if out is not None and out[1] == 0 else out


def _combine(step: ir.Assign, ops: list[_Dep], axis: int, rank: int | None) -> _Dep:
    op, n = step.op, len(ops)
    if op in ("add", "sub") and n == 2:
        (ka, a), (kb, b) = ops  # type: ignore[misc]
        if ka == kb == "add":  # (u + a d) - (v + b d)
            return ("add", a + b if op == "add" else a - b)
        if ka == kb == "mul" and a == b:  # u e^{ad} + v e^{ad}: one factor
            return ("mul", a)
        return None  # INVARIANT is ("add", 0): it never meets a factor here
    if op in ("mul", "div") and n == 2:
        (ka, a), (kb, b) = ops  # type: ignore[misc]
        if (ka == "mul" or a == 0) and (kb == "mul" or b == 0):  # INVARIANT: e^0
            return ("mul", a + b if op == "mul" else a - b)
        return None
    if n != 1:
        return None
    kind, k = ops[0]  # type: ignore[misc]
    if op == "neg":
        return (kind, -k if kind == "add" else k)
    if op == "exp" and kind == "add":
        return ("mul", k)
    if op == "log" and kind == "mul":
        return ("add", k)
    if op in ("sum", "mean", "amax", "amin"):
        if _axis_of(step, rank) != axis:
            return None
        if op == "sum" and kind != "mul":
            return None
        return (kind, k)
    return None
