"""Backward IR pass for the conv workload (issue 17): `cache_masks` caches
a ReLU's boolean mask instead of the array it compares. An identity of the
arrays computed; tested in tests/test_conv_lean.py."""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.passes import cache_of, rewrite_blocks, unused_name
from codegen.core.reverse import Backward
from codegen.core.rules import shape_ops

_BROADCAST = shape_ops("broadcast")
_NUMBER = (int, float)

#: Comparison operators and their IR ops.
_COMPARISONS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "==": "eq", "!=": "ne"}


def _number(e: E.Expr) -> bool:
    if not isinstance(e, E.Lit):
        return False
    value = ir.literal(e.text)
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _mask_of(e: E.Expr) -> str | None:
    """The name compared in ``v >= 0`` (or ``0 < v``, any comparison with
    a number), else None."""
    if not (isinstance(e, E.Compare) and e.op in _COMPARISONS):
        return None
    if isinstance(e.left, E.Name) and _number(e.right):
        return e.left.id
    if isinstance(e.right, E.Name) and _number(e.left):
        return e.right.id
    return None


def _operand(e: E.Expr) -> ir.Operand:
    if isinstance(e, E.Name):
        return ir.Var(e.id)
    assert isinstance(e, E.Lit)  # _mask_of: a name and a number
    return ir.Const(e.text)


def cache_masks(bwd: Backward) -> Backward:
    """Cache a mask instead of an array: a forward array v made by an
    elementwise op (a new array, never a view) that the backward reads only
    in one comparison with a number (``conv >= 0``, a ReLU's) is compared in
    the forward, and the backward reads the boolean result (one byte an
    entry, v's own shape). The comparison is the same one, on the same
    values, so the gradient is the same array; v itself is then released
    after the forward (a float64 v: an eighth of its memory is kept)."""
    if bwd.lib != "np":
        return bwd
    exprs = [gs.expr for b in bwd.blocks for gs in b.steps]
    compared: dict[str, set[E.Expr]] = {}
    for e in exprs:
        for node in E.walk(e):
            v = _mask_of(node)
            if v is not None:
                compared.setdefault(v, set()).add(node)
    if not compared:
        return bwd
    other: set[str] = set()
    for e in exprs:
        other |= E.names(E.rewrite(e, lambda n: E.Lit("()") if _mask_of(n) else None))
    producer = {s.target: s for s in bwd.forward}
    keep = set(bwd.fn.results) | {p.name for p in bwd.fn.params}
    chosen = sorted(
        v
        for v, nodes in compared.items()
        if len(nodes) == 1
        and v not in other
        and v not in keep
        and v in producer
        and producer[v].op in _BROADCAST
        and not producer[v].extra_targets
    )
    if not chosen:
        return bwd
    taken = set(bwd.fn.user_names) | set(producer) | set(bwd.grad_names.values())
    taken |= {p.name for p in bwd.fn.params}
    names: dict[E.Expr, str] = {}
    steps: dict[str, ir.Assign] = {}
    for v in chosen:
        (node,) = compared[v]
        name = unused_name(f"{v}_mask", taken)
        names[node] = name
        assert isinstance(node, E.Compare)
        args = tuple(_operand(side) for side in (node.left, node.right))
        steps[v] = replace(
            producer[v],
            target=name,
            op=_COMPARISONS[node.op],
            args=args,
            kwargs=(),
            display="",
            intermediate=True,
        )

    def point(e: E.Expr) -> E.Expr | None:
        return E.Name(names[e]) if e in names else None

    blocks = rewrite_blocks(bwd.blocks, point)
    forward: list[ir.Assign] = []
    for step in bwd.forward:
        forward.append(step)
        if step.target in steps:
            forward.append(steps[step.target])
    new = replace(bwd, forward=tuple(forward), blocks=blocks)
    return replace(new, cache=cache_of(new))


__all__ = ["cache_masks"]
