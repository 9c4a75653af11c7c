"""Backward IR pass for the conv workload (issue 17): no `_unbroadcast`
where the shapes are proven equal (`codegen.core.conv_masks` holds the other
one, `cache_masks`).

`drop_equal_unbroadcast` removes ``_unbroadcast(a, np.shape(v))`` from a
contribution to ``grad_v`` when a already has v's shape, so that nothing is
summed (the call would return a itself): an identity of the arrays computed.
It is proven in two cases, from the dimensions the annotations give, carried
through np.pad, shapes and sliding_window_view (`dims`):

* an elementwise, broadcasting step ``z = f(v, u, ...)`` where every other
  operand u is a number or has at most v's rank with each of its dimensions
  1 or v's own: z has v's shape, and so has a contribution that is the
  upstream gradient (shaped like z) times elementwise functions of the
  step's operands and z (`_carries`);
* ``z = np.einsum(spec, ..., v, ...)`` where every letter v shares with
  another operand has one proven size in both: the gradient einsum then
  gives each letter v's size (a letter only v has takes its size from the
  upstream gradient, which is z's: v's).

The upstream gradient of a step is shaped like the step's result: the
reverse pass keeps every gradient shaped like its value, and this pass only
drops a call that would not change the shape. Tested in
tests/test_conv_lean.py.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.passes import shape_arg
from codegen.core.reverse import Backward
from codegen.core.rules import shape_ops
from codegen.core.shapes import shapes

#: Per axis: a dimension name (``"N"``, ``"3"``, ``"1"``) or None when unknown.
Dims = tuple[str | None, ...]

_NP = E.Name("np")
_BROADCAST = shape_ops("broadcast")
_NUMBER = (int, float)


def _const(o: ir.Operand) -> object:
    return ir.literal(o.text) if isinstance(o, ir.Const) else None


def _ints(value: object) -> list[int] | None:
    """An int or a tuple of ints as a list, else None."""
    items = value if isinstance(value, tuple) else (value,)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return None
    return list(items)  # type: ignore[arg-type]


def dims(fn: ir.Function) -> dict[str, Dims | None]:
    """The dimensions of every value, per axis where the rank is known: the
    proven shapes of `codegen.core.shapes.shapes`, and further through
    ``np.pad`` (an axis padded by (0, 0) keeps its size), a shape's slices
    (``w.shape[2:]``) and ``sliding_window_view`` (the window axes last;
    a windowed axis shrinks to an unknown size)."""
    proven = shapes(fn)
    out: dict[str, Dims | None] = {
        k: None if v is None else tuple(v) for k, v in proven.items()
    }
    sizes: dict[str, Dims] = {}  # names bound to (part of) a shape: its dims
    for step in fn.body:
        x = step.args[0] if step.args else None
        xd = out.get(x.name) if isinstance(x, ir.Var) else None
        if step.op == "shape":
            out[step.target] = None  # a tuple of sizes, not an array
            if xd is not None:
                sizes[step.target] = xd
            continue
        if step.op == "getitem" and isinstance(x, ir.Var) and x.name in sizes:
            part = _shape_slice(sizes[x.name], step)
            if part is not None:  # w.shape[2:]: a tuple of sizes
                out[step.target] = None
                sizes[step.target] = part
            continue
        if out.get(step.target) is not None:
            continue
        if step.op == "pad" and xd is not None and len(step.args) == 2:
            out[step.target] = _padded(xd, _const(step.args[1]), step)
        elif step.op == "sliding_window_view" and xd is not None:
            out[step.target] = _windowed(xd, step, sizes)
        elif step.op == "einsum":
            out[step.target] = _einsum_dims(step, out)
    return out


def _shape_slice(shape: Dims, step: ir.Assign) -> Dims | None:
    """``w.shape[a:b]`` (constant bounds, no step): those sizes."""
    index = step.args[1] if len(step.args) == 2 else None
    if not isinstance(index, ir.Const) or index.text.count(":") != 1:
        return None
    text = index.text
    bounds = [p.strip() for p in text.split(":")]
    if not all(re.fullmatch(r"-?\d*", p) for p in bounds):
        return None
    lo, hi = (int(p) if p not in ("", "-") else None for p in bounds)
    return shape[lo:hi]


def _padded(xd: Dims, widths: object, step: ir.Assign) -> Dims | None:
    if any(k == "mode" for k, _ in step.kwargs):
        return None  # only the constant mode keeps the rank plainly
    try:
        pairs = np.broadcast_to(np.asarray(widths, dtype=int), (len(xd), 2))
    except (ValueError, TypeError):
        return None
    return tuple(
        d if lo == hi == 0 else None for d, (lo, hi) in zip(xd, pairs, strict=True)
    )


def _windowed(xd: Dims, step: ir.Assign, sizes: dict[str, Dims]) -> Dims | None:
    shape = step.args[1] if len(step.args) == 2 else None
    if isinstance(shape, ir.Var):
        window: Dims | None = sizes.get(shape.name)
    else:
        ints = _ints(_const(shape)) if shape is not None else None
        window = None if ints is None else tuple(str(n) for n in ints)
    axis_kw = dict(step.kwargs).get("axis")
    axis = _const(axis_kw) if axis_kw is not None else None
    spelled_none = isinstance(axis_kw, ir.Const) and axis_kw.text == "None"
    if window is None or (axis_kw is not None and axis is None and not spelled_none):
        return None
    axes = list(range(len(xd))) if axis is None else _ints(axis)
    if axes is None or len(axes) != len(window):
        return None
    if any(not -len(xd) <= a < len(xd) for a in axes):
        return None
    axes = [a % len(xd) for a in axes]
    if len(set(axes)) != len(axes):
        return None
    return tuple(None if k in axes else d for k, d in enumerate(xd)) + window


def _einsum_dims(step: ir.Assign, out: dict[str, Dims | None]) -> Dims | None:
    parsed = _einsum(step)
    if parsed is None:
        return None
    parts, result, operands = parsed
    known: dict[str, set[str | None]] = {}
    for part, o in zip(parts, operands, strict=True):
        od = out.get(o.name) if isinstance(o, ir.Var) else None
        for k, letter in enumerate(part):
            known.setdefault(letter, set()).add(
                od[k] if od is not None and len(od) == len(part) else None
            )
    res: list[str | None] = []
    for letter in result:
        found = known.get(letter, {None})
        res.append(found.pop() if len(found) == 1 else None)
    return tuple(res)


def _einsum(step: ir.Assign) -> tuple[list[str], str, tuple[ir.Operand, ...]] | None:
    """(operand subscripts, result subscripts, operands) of a plain einsum."""
    if step.op != "einsum" or not step.args:
        return None
    spec = _const(step.args[0])
    if not isinstance(spec, str) or "->" not in spec or "." in spec:
        return None
    ins, result = spec.replace(" ", "").split("->")
    parts = ins.split(",")
    if len(parts) != len(step.args) - 1:
        return None
    return parts, result, step.args[1:]


def _dominates(vd: Dims | None, ud: Dims | None) -> bool:
    """u broadcast against v gives v's shape: u has at most v's rank and each
    of its dimensions is 1 or v's own (proven)."""
    if vd is None or ud is None or len(ud) > len(vd):
        return False
    tail = vd[len(vd) - len(ud) :]
    return all(
        u == "1" or (u is not None and u == v) for u, v in zip(ud, tail, strict=True)
    )


def _rank0(o: ir.Operand, out: dict[str, Dims | None]) -> bool:
    if isinstance(o, ir.Const):
        value = ir.literal(o.text)
        return isinstance(value, _NUMBER) and not isinstance(value, bool)
    return out.get(o.name) == ()


def _elementwise_proof(step: ir.Assign, v: str, out: dict[str, Dims | None]) -> bool:
    """z = f(v, u, ...) broadcasting has v's shape."""
    if step.op not in _BROADCAST or step.kwargs:
        return False
    vd = out.get(v)
    for o in step.args:
        if isinstance(o, ir.Var) and o.name == v:
            continue
        if _rank0(o, out):
            continue
        ud = out.get(o.name) if isinstance(o, ir.Var) else None
        if not _dominates(vd, ud):
            return False
    return any(isinstance(o, ir.Var) and o.name == v for o in step.args)


def _einsum_proof(step: ir.Assign, v: str, out: dict[str, Dims | None]) -> bool:
    """Every letter v shares with another operand of the einsum has one
    proven size in both (v is one operand, its letters distinct)."""
    parsed = _einsum(step)
    if parsed is None:
        return False
    parts, _, operands = parsed
    mine = [k for k, o in enumerate(operands) if isinstance(o, ir.Var) and o.name == v]
    if len(mine) != 1:
        return False  # v twice: two contributions, and sizes are its own anyway
    part = parts[mine[0]]
    vd = out.get(v)
    if len(set(part)) != len(part):
        return False
    for k, (p, o) in enumerate(zip(parts, operands, strict=True)):
        if k == mine[0]:
            continue
        od = out.get(o.name) if isinstance(o, ir.Var) else None
        for j, letter in enumerate(p):
            if letter not in part:
                continue
            if vd is None or od is None or len(od) != len(p) or len(vd) != len(part):
                return False
            mine_dim, other_dim = vd[part.index(letter)], od[j]
            if mine_dim is None or mine_dim != other_dim:
                return False
    return True


def _ufunc(name: str) -> bool:
    return isinstance(getattr(np, name, None), np.ufunc)


def _safe(e: E.Expr, allowed: set[str]) -> bool:
    """An elementwise function of the allowed names and numbers."""
    if isinstance(e, E.Name):
        return e.id in allowed
    if isinstance(e, E.Lit):
        return isinstance(ir.literal(e.text), _NUMBER)
    if isinstance(e, E.Unary):
        return _safe(e.operand, allowed)
    if isinstance(e, (E.BinOp, E.Compare)):
        if isinstance(e, E.BinOp) and e.op not in ("+", "-", "*", "/", "**"):
            return False
        return _safe(e.left, allowed) and _safe(e.right, allowed)
    if isinstance(e, E.Call) and not e.kwargs and isinstance(e.func, E.Attr):
        f = e.func
        if f.value == _NP and _ufunc(f.attr):
            return all(_safe(a, allowed) for a in e.args)
    return False


def _carries(e: E.Expr, g: str, allowed: set[str]) -> bool:
    """e is g times (or over) elementwise functions of the allowed names."""
    if e == E.Name(g):
        return True
    if isinstance(e, E.Unary) and e.op == "-":
        return _carries(e.operand, g, allowed)
    if isinstance(e, E.BinOp) and e.op in ("*", "/"):
        if _carries(e.left, g, allowed) and _safe(e.right, allowed):
            return True
        return e.op == "*" and _safe(e.left, allowed) and _carries(e.right, g, allowed)
    return False


def _einsum_call(e: E.Expr, g: str) -> bool:
    """``np.einsum(spec, g, ...)``: the gradient einsum of the reverse pass."""
    return (
        isinstance(e, E.Call)
        and e.func == E.Attr(_NP, "einsum")
        and len(e.args) >= 2
        and e.args[1] == E.Name(g)
        and all(isinstance(a, E.Name) for a in e.args[1:])
    )


def drop_equal_unbroadcast(bwd: Backward) -> Backward:
    """Remove ``_unbroadcast(a, np.shape(v))`` from each contribution to
    ``grad_v`` where a is proven to have v's shape (see the module)."""
    if bwd.lib != "np":
        return bwd
    out = dims(bwd.fn)
    producer = {s.target: s for s in bwd.fn.body}
    changed = False
    blocks = []
    for block in bwd.blocks:
        steps = []
        for gs in block.steps:
            step = producer.get(gs.step)
            if step is not None and gs.upstream and gs.var:
                new = _dropped(gs.expr, gs.var, gs.upstream, step, out)
                if new != gs.expr:
                    gs, changed = replace(gs, expr=new), True
            steps.append(gs)
        blocks.append(replace(block, steps=tuple(steps)))
    return replace(bwd, blocks=tuple(blocks)) if changed else bwd


def _dropped(
    e: E.Expr, v: str, g: str, step: ir.Assign, out: dict[str, Dims | None]
) -> E.Expr:
    allowed = {a.name for a in step.args if isinstance(a, ir.Var)} | {step.target}
    elementwise = _elementwise_proof(step, v, out)
    einsum = _einsum_proof(step, v, out)

    def point(node: E.Expr) -> E.Expr | None:
        if not (isinstance(node, E.Call) and node.func == E.Name("_unbroadcast")):
            return None
        if len(node.args) != 2 or node.kwargs or shape_arg(node.args[1]) != v:
            return None
        a = node.args[0]
        if elementwise and _carries(a, g, allowed | {g}):
            return a
        if einsum and _einsum_call(a, g):
            return a
        return None

    return E.rewrite(e, point)


__all__ = ["dims", "drop_equal_unbroadcast"]
