"""Backward IR pass (issue 17): a scatter's gradient added into its place.

`scatter_in_place` rewrites an in-place accumulation of a scatter into the
part it writes:

* ``grad_a += _scatter(c, np.shape(a), np.s_[idx])`` (the adjoint of a basic
  slice ``a[idx]``) becomes ``grad_a[idx] += c``: no zeros the size of a and
  no pass over all of it for each slice (the LSTM's four gates each add back
  a quarter of ``a``'s gradient);
* ``grad_s += _scatter_add(c, np.shape(s), np.s_[rows, y])`` (the adjoint of
  a gather ``s[np.arange(N), y]``) becomes ``grad_s[rows, y] += c`` where
  the positions are proven distinct: no zeros and no ``np.add.at`` (the SVM
  and softmax losses' correct-class scores).

What is proven, on the IR, before a contribution is rewritten:

* it is an accumulation already marked in place (`passes.accumulate_in_place`,
  `alias_lean.alias_in_place`): ``grad_a`` holds an array the backward
  allocated itself, shaped like a, that no other live name holds;
* it is the adjoint of the step it names, whose x operand is a itself: a
  basic-indexing step (op ``getitem``, the only rule that writes ``_scatter``
  with the step's own index) or an integer-array gather (op ``gather``, whose
  adjoint is ``_scatter_add``);
* the scatter's shape is a's own: ``np.shape(a)``, or the name
  `passes.cache_shapes` bound to ``np.shape(a)``;
* for ``_scatter``, every index item is a slice, ``None``, ``...``, an
  integer literal, or a name the forward bound with ``slice(...)``: basic
  indexing, whose positions are distinct;
* for ``_scatter_add``, one item is ``np.arange(n)`` (one operand: 0, ...,
  n - 1, each once), every other item is basic as above or a value whose
  proven shape (`codegen.core.shapes`, from the annotations) is ``()`` or the
  arange's own ``(n,)``: the broadcast index is one-dimensional with the
  arange along it, so no two positions repeat.

Then the scatter is zeros with c written (or added) at distinct positions,
and adding it to ``grad_a`` changes exactly ``grad_a[idx]``, by c broadcast
to that part as the scatter broadcasts it: the same array, element for
element, in grad_a's dtype, as the in-place ``+=`` kept it. A cached shape
read by nothing else any more is dropped from the forward and the cache.
Tested in tests/test_scatter_lean.py (slices) and tests/test_alias_lean.py
(the gather's rows).
"""

from __future__ import annotations

import ast
from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.passes import cache_of
from codegen.core.reverse import Backward, GradStep
from codegen.core.shapes import shapes

_SCATTER = E.Name("_scatter")
_SCATTER_ADD = E.Name("_scatter_add")
_S = E.Attr(E.Name("np"), "s_")
_SHAPE = E.Attr(E.Name("np"), "shape")


def scatter_in_place(bwd: Backward) -> Backward:
    """``grad_a += _scatter(c, np.shape(a), np.s_[idx])`` -> ``grad_a[idx] += c``
    where proven (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    steps = {s.target: s for s in bwd.forward}
    known: dict[str, tuple[str, ...] | None] | None = None
    changed = False
    blocks = []
    for block in bwd.blocks:
        new = []
        for gs in block.steps:
            index = _slice_index(gs, steps)
            if index is None and gs.op == "gather" and gs.in_place:
                known = shapes(bwd.fn) if known is None else known
                index = _rows_index(gs, steps, known)
            if index is not None:
                assert isinstance(gs.expr, E.Call)
                gs = replace(gs, expr=gs.expr.args[0], index=index)
                changed = True
            new.append(gs)
        blocks.append(replace(block, steps=tuple(new)))
    if not changed:
        return bwd
    out = replace(bwd, blocks=tuple(blocks))
    cache = cache_of(out)  # a scatter's shape may be read no more: not cached
    read = {o.name for s in out.forward for o in s.args if isinstance(o, ir.Var)}
    forward = tuple(
        s
        for s in out.forward
        if s.op != "shape_of" or s.target in cache or s.target in read
    )
    return replace(out, cache=cache, forward=forward)


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


def _rows_index(
    gs: GradStep,
    steps: dict[str, ir.Assign],
    known: dict[str, tuple[str, ...] | None],
) -> tuple[E.Expr, ...] | None:
    """The index items of `gs`'s ``_scatter_add`` when they are proven to
    pick distinct positions: one is ``np.arange(n)``, every other integer
    array is shaped like it (or a number), the rest basic."""
    if not (gs.accumulate and gs.in_place and gs.index is None):
        return None
    e = gs.expr
    if not (isinstance(e, E.Call) and e.func == _SCATTER_ADD and len(e.args) == 3):
        return None
    source = steps.get(gs.step)
    if source is None or source.op != "gather" or source.args[:1] != (ir.Var(gs.var),):
        return None
    _, shape, index = e.args
    if e.kwargs or not _shape_of_var(shape, gs.var, steps):
        return None
    if not (isinstance(index, E.Index) and index.value == _S and index.items):
        return None
    rows = [i for i in index.items if isinstance(i, E.Name) and _arange(i.id, steps)]
    if not rows:
        return None
    length = known.get(rows[0].id)
    if length is None or len(length) != 1:
        return None
    for item in index.items:
        if item is rows[0] or _basic(item, steps):
            continue
        if not isinstance(item, E.Name) or known.get(item.id) not in ((), length):
            return None
    return index.items


def _arange(name: str, steps: dict[str, ir.Assign]) -> bool:
    """``np.arange(n)``: 0, 1, ..., n - 1, each once."""
    bound = steps.get(name)
    return (
        bound is not None
        and bound.op == "arange"
        and len(bound.args) == 1
        and not bound.kwargs
        and not bound.extra_targets
    )


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
