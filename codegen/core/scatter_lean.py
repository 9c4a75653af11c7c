"""Backward IR pass (issue 17): a slice's gradient added into its place.

`scatter_in_place` rewrites an in-place accumulation
``grad_a += _scatter(c, np.shape(a), np.s_[idx])`` into ``grad_a[idx] += c``:
no zeros the size of a, and no pass over all of it, for each slice (the
LSTM's four gates each add back a quarter of ``a``'s gradient).

What is proven, on the IR, before a contribution is rewritten:

* it is an accumulation already marked in place
  (`codegen.core.passes.accumulate_in_place`): ``grad_a`` holds an array the
  backward allocated itself, shaped like a, that no other name holds;
* it is the adjoint of a basic-indexing step ``z = a[idx]`` (op ``getitem``,
  whose x operand is a itself), the only rule that writes ``_scatter`` with
  the step's own index; integer-array indexing is the op ``gather``, whose
  adjoint is ``_scatter_add``, never touched here;
* the scatter's shape is a's own: ``np.shape(a)``, or the name
  `codegen.core.passes.cache_shapes` bound to ``np.shape(a)``;
* every index item is a slice (``:``, ``lo:hi``), ``None``, ``...``, an
  integer literal, or a name the forward bound with ``slice(...)``: basic
  indexing, so ``grad_a[idx]`` is a view whose positions are distinct.

Then ``_scatter`` is zeros with c written at those positions, and adding it
to ``grad_a`` changes exactly ``grad_a[idx]``, by c (broadcast to the view
the same way the assignment inside ``_scatter`` broadcasts it): the sum is
the same array, element for element, and it keeps grad_a's dtype, as the
in-place ``+=`` did. Tested in tests/test_scatter_lean.py.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.reverse import Backward, GradStep

_SCATTER = E.Name("_scatter")
_S = E.Attr(E.Name("np"), "s_")
_SHAPE = E.Attr(E.Name("np"), "shape")


def scatter_in_place(bwd: Backward) -> Backward:
    """``grad_a += _scatter(c, np.shape(a), np.s_[idx])`` -> ``grad_a[idx] += c``
    where proven (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    steps = {s.target: s for s in bwd.forward}
    changed = False
    blocks = []
    for block in bwd.blocks:
        new = []
        for gs in block.steps:
            index = _slice_index(gs, steps)
            if index is not None:
                assert isinstance(gs.expr, E.Call)
                gs = replace(gs, expr=gs.expr.args[0], index=index)
                changed = True
            new.append(gs)
        blocks.append(replace(block, steps=tuple(new)))
    return replace(bwd, blocks=tuple(blocks)) if changed else bwd


def _slice_index(
    gs: GradStep, steps: dict[str, ir.Assign]
) -> tuple[E.Expr, ...] | None:
    """The index items of `gs`'s scatter when the rewrite is proven, else None."""
    if not (gs.accumulate and gs.in_place and gs.index is None and gs.op == "getitem"):
        return None
    e = gs.expr
    if not (isinstance(e, E.Call) and e.func == _SCATTER and len(e.args) == 3):
        return None
    if e.kwargs:
        return None
    source = steps.get(gs.step)
    if source is None or source.op != "getitem" or source.args[:1] != (ir.Var(gs.var),):
        return None
    _, shape, index = e.args
    if not _shape_of_var(shape, gs.var, steps):
        return None
    if not (isinstance(index, E.Index) and index.value == _S and index.items):
        return None
    if not all(_basic(item, steps) for item in index.items):
        return None
    return index.items


def _shape_of_var(shape: E.Expr, var: str, steps: dict[str, ir.Assign]) -> bool:
    """True when `shape` is ``np.shape(var)`` or a name bound to it."""
    if isinstance(shape, E.Call):
        return (
            shape.func == _SHAPE and shape.args == (E.Name(var),) and not shape.kwargs
        )
    if isinstance(shape, E.Name):
        bound = steps.get(shape.id)
        return (
            bound is not None
            and bound.op == "shape_of"
            and bound.args == (ir.Var(var),)
            and not bound.extra_targets
        )
    return False


def _basic_literal(text: str) -> bool:
    """``:``, ``1:4``, ``::2``, ``-1``, ``(-1)``, ``None``, ``...``: the text of
    a slice of integer literals, an integer, None or Ellipsis."""
    try:
        node = ast.parse(f"_[{text}]", mode="eval").body
    except SyntaxError:
        return False
    assert isinstance(node, ast.Subscript)
    item = node.slice
    if isinstance(item, ast.Slice):
        parts = [p for p in (item.lower, item.upper, item.step) if p is not None]
        return all(_integer(p) for p in parts)
    if isinstance(item, ast.Constant) and (item.value is None or item.value is ...):
        return True
    return _integer(item)


def _integer(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
    )


def _basic(item: E.Expr, steps: dict[str, ir.Assign]) -> bool:
    """A basic index item: a slice, None, ``...``, an integer, or a name bound
    by ``slice(...)``."""
    if isinstance(item, E.Slice):
        return True  # slice objects index basically whatever their bounds
    if isinstance(item, E.Lit):
        return _basic_literal(item.text)
    if isinstance(item, E.Name):
        bound = steps.get(item.id)
        return bound is not None and bound.op == "slice" and not bound.extra_targets
    return False


__all__ = ["scatter_in_place"]
