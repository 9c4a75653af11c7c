"""The sigmoid written out (forward IR): ``1 / (1 + np.exp(-x))`` in one
statement is one ``sigmoid`` step.

Flattened, that statement is four steps (negate, exp, add one, divide one by
it), and the reverse pass would chain their four adjoints: where ``exp(-x)``
overflows (x below about -709), the chain multiplies 0 by inf and the
gradient is NaN, though the sigmoid is flat there and its value 0 is right.
As one step, the gradient is the sigmoid's own, ``g * (1 - s) * s``: the same
derivative, finite everywhere, in one line (the lectures' form), and one
cached value instead of two. The value is computed by the same expression,
so it is the same number.

Only codegen's own intermediates are fused, each read once: a value the user
named (``e = np.exp(-z)``) keeps its step and its gradient line.
`sigmoid_input` also recognises a helper that computes the sigmoid
(`codegen.front.parse_inline`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from codegen.core import ir
from codegen.core.passes import use_counts

_ONES = frozenset({"1", "1.0", "1."})


def _one(o: ir.Operand) -> bool:
    return isinstance(o, ir.Const) and o.text in _ONES


def sigmoid_input(
    div: ir.Assign, steps: Mapping[str, ir.Assign], fusable=lambda s: True
) -> tuple[ir.Operand, tuple[str, ...]] | None:
    """(x, the targets of the inner steps) when `div` computes
    ``1 / (1 + exp(-x))`` from the steps named in `steps`, each of them
    `fusable`; else None."""

    def inner(o: ir.Operand, op: str) -> ir.Assign | None:
        s = steps.get(o.name) if isinstance(o, ir.Var) else None
        ok = s is not None and s.op == op and not s.kwargs and fusable(s)
        return s if ok else None

    if div.op != "div" or len(div.args) != 2 or not _one(div.args[0]):
        return None
    add = inner(div.args[1], "add")
    if add is None or len(add.args) != 2 or sum(map(_one, add.args)) != 1:
        return None
    exp = inner(add.args[1] if _one(add.args[0]) else add.args[0], "exp")
    if exp is None or len(exp.args) != 1:
        return None
    neg = inner(exp.args[0], "neg")
    if neg is None or len(neg.args) != 1:
        return None
    return neg.args[0], (neg.target, exp.target, add.target)


def fuse_sigmoid(fn: ir.Function) -> ir.Function:
    """Each written-out sigmoid of `fn` as one ``sigmoid`` step."""
    uses = use_counts(fn)
    steps: dict[str, ir.Assign] = {}  # as rewritten so far: a nested
    # sigmoid reads the name its inner one was given

    def fusable(s: ir.Assign) -> bool:
        return s.intermediate and not s.extra_targets and uses.get(s.target) == 1

    fused: set[str] = set()
    # every name the function binds, the user's and the parse's, is taken
    taken = (
        {s.target for s in fn.body} | set(fn.user_names) | {p.name for p in fn.params}
    )
    rename: dict[str, ir.Operand] = {}
    body: list[ir.Assign] = []
    for step in fn.body:
        step = _renamed(step, rename)
        found = sigmoid_input(step, steps, fusable)
        if found is not None:
            x, inner = found
            fused.update(inner)
            scalar = steps[inner[1]].scalar  # math.exp: Python's float, as written
            step = replace(step, op="sigmoid", args=(x,), kwargs=(), scalar=scalar)
            name = re.sub(r"_div(_\d+)?$", r"_sigmoid\1", step.target)
            if step.intermediate and name not in taken:  # out_div: out_sigmoid
                taken.add(name)
                rename[step.target] = ir.Var(name)
                step = replace(step, target=name)
        steps[step.target] = step
        body.append(step)
    if not fused:
        return fn
    return replace(fn, body=tuple(s for s in body if s.target not in fused))


def _renamed(step: ir.Assign, rename: Mapping[str, ir.Operand]) -> ir.Assign:
    if not rename:
        return step

    def new(o: ir.Operand) -> ir.Operand:
        return rename.get(o.name, o) if isinstance(o, ir.Var) else o

    return replace(
        step,
        args=tuple(new(a) for a in step.args),
        kwargs=tuple((k, new(v)) for k, v in step.kwargs),
    )
