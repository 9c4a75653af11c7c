"""Backward IR pass (issue 17): `_unbroadcast` spelled as the sum it is,
where both shapes are proven.

``_unbroadcast(grad_z, np.shape(v))`` sums the gradient of z down to v's
shape, deciding at run time which axes to sum (several ``np.shape`` calls, a
tuple built in Python, on every call). `sum_unbroadcast` writes the sum
itself when the dimensions of z and v are proven (`codegen.core.conv_lean.dims`,
from the annotations through the IR), every axis known:

* ``grad_z`` is a gradient variable: the reverse pass keeps every gradient
  shaped like its value, so its shape is z's;
* z has at least v's rank; the leading axes z has and v has not are summed
  (``np.sum(g, axis=0)``), as `_unbroadcast` sums them;
* of the trailing axes, each is either the same dimension in both (the same
  name or number: equal sizes, nothing summed) or 1 in v, summed with
  ``keepdims=True`` (when z's size there is 1 too, the sum over it changes
  nothing, as `_unbroadcast`, which skips it, changes nothing); any other
  pair (two different names, which may or may not be equal) leaves the call.

With nothing to sum the call is the gradient itself, which `_unbroadcast`
returns then too. The sums are NumPy's own, in the gradient's dtype, so the
values are those `_unbroadcast` computes. Tested in tests/test_sum_lean.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from codegen.core import expr as E
from codegen.core.conv_lean import dims
from codegen.core.passes import cache_of, rewrite_blocks, shape_arg
from codegen.core.reverse import Backward

_UNBROADCAST = E.Name("_unbroadcast")
_SUM = E.Attr(E.Name("np"), "sum")


def sum_unbroadcast(bwd: Backward) -> Backward:
    """Every ``_unbroadcast(grad_z, np.shape(v))`` with proven dimensions
    becomes its sum (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    known = dims(bwd.fn)
    var_of = {g: v for v, g in bwd.grad_names.items()}
    changed = False

    def point(e: E.Expr) -> E.Expr | None:
        nonlocal changed
        if not (isinstance(e, E.Call) and e.func == _UNBROADCAST and not e.kwargs):
            return None
        if len(e.args) != 2:
            return None
        g, shape = e.args
        if not (isinstance(g, E.Name) and g.id in var_of):
            return None
        v = shape_arg(shape)
        if v is None:
            return None
        out = _summed(g, known.get(var_of[g.id]), known.get(v))
        if out is not None:
            changed = True
        return out

    blocks = rewrite_blocks(bwd.blocks, point)
    if not changed:
        return bwd
    out = replace(bwd, blocks=blocks)
    return replace(out, cache=cache_of(out))


def _summed(
    g: E.Expr,
    dz: tuple[str | None, ...] | None,
    dv: tuple[str | None, ...] | None,
) -> E.Expr | None:
    """`g` (shaped `dz`) summed down to `dv`, or None when not proven."""
    if dz is None or dv is None or None in dz or None in dv:
        return None
    lead = len(dz) - len(dv)
    if lead < 0:
        return None
    keep: list[int] = []
    for i, (a, b) in enumerate(zip(dz[lead:], dv, strict=True)):
        if a == b:
            continue
        if b == "1":
            keep.append(i)
            continue
        return None
    out = g
    if lead:
        out = E.Call(_SUM, (out,), (("axis", _axes(range(lead))),))
    if keep:
        kwargs = (("axis", _axes(keep)), ("keepdims", E.Lit("True")))
        out = E.Call(_SUM, (out,), kwargs)
    return out


def _axes(axes: Iterable[int]) -> E.Expr:
    items = list(axes)
    if len(items) == 1:
        return E.Lit(str(items[0]))
    return E.Lit("(" + ", ".join(str(a) for a in items) + ")")


__all__ = ["sum_unbroadcast"]
