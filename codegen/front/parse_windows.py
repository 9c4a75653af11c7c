"""Convolution and pooling idioms for the parse pass.

Three decisions the NumPy builder (`codegen.front.parse_arrays`) delegates here:

* `check_pad`: ``np.pad`` in constant mode (its adjoint is the interior
  slice), or in a mode that copies entries of x (`pad_copy`: g added back
  at each entry's source); any other mode is a located error.
* `strided_windows`: ``sliding_window_view(x, shape, axis=...)[::S]`` written
  as one expression becomes one ``strided_windows`` step, whose adjoint adds
  the window gradients straight back at the strided positions (col2im, one
  shifted add per window offset) instead of first scattering them into a
  full stride-1 window array; its forward refuses strides that don't fit.
* `pooled`: a max, mean or sum over axes that a reshape made explicit
  (``x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))``) or over the
  window axes of a sliding window view becomes ``pool_max``/``pool_mean``/
  ``pool_sum``: NumPy reduces such small strided axes many times slower than
  it combines whole slices elementwise, so these ops use the slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import libcst as cst

from codegen.core import ir
from codegen.front.source import _dotted

if TYPE_CHECKING:
    from codegen.front.source import _Module


class ArrayBuilder(Protocol):
    """What `strided_windows` needs of the parse builder."""

    mod: _Module
    env: dict[str, ir.Operand]
    steps: list[ir.Assign]

    def expr(self, node: cst.BaseExpression, name: str | None = None) -> ir.Operand: ...

    def index_parts(self, node: cst.Subscript) -> tuple[list[ir.Operand], bool]: ...

    def emit(
        self,
        op: str,
        args: Sequence[ir.Operand],
        node: cst.CSTNode,
        name: str | None,
        kwargs: Sequence[tuple[str, ir.Operand]] = (),
    ) -> ir.Var: ...


#: Canonical name of NumPy's window view.
SLIDING_WINDOW_VIEW = "numpy.lib.stride_tricks.sliding_window_view"

#: Reductions that have a small-window form.
POOLED: dict[str, str] = {"amax": "pool_max", "mean": "pool_mean", "sum": "pool_sum"}

#: Most entries a reduced window may hold for the slice-by-slice form to pay.
POOL_LIMIT = 16

_WINDOW_OPS = ("sliding_window_view", "strided_windows")


#: np.pad modes that copy entries of x (the `pad_copy` primitive).
COPYING_MODES = ("edge", "reflect", "symmetric", "wrap")


def check_pad(mod: _Module, kwargs: dict[str, ir.Operand], node: cst.CSTNode) -> str:
    """The op of ``np.pad`` in its mode: `pad` in constant mode, `pad_copy`
    in the modes that copy entries of x; other modes are refused."""
    mode = kwargs.get("mode")
    if mode is None:
        return "pad"
    value = ir.literal(mode.text) if isinstance(mode, ir.Const) else None
    if value == "constant":
        return "pad"
    if value in COPYING_MODES:
        return "pad_copy"
    shown = repr(value) if isinstance(value, str) else "given as a variable"
    raise mod.error(
        f"np.pad mode {shown} is not supported",
        node,
        "supported: mode='constant' (the default), 'edge', 'reflect', 'symmetric' "
        "and 'wrap' (entries of x copied), each given as a literal",
    )


def _producer(steps: Sequence[ir.Assign], operand: ir.Operand) -> ir.Assign | None:
    if not isinstance(operand, ir.Var):
        return None
    return next((s for s in reversed(steps) if s.target == operand.name), None)


def _axes(kwargs: dict[str, ir.Operand]) -> tuple[int, ...] | None:
    axis = kwargs.get("axis")
    value = ir.literal(axis.text) if isinstance(axis, ir.Const) else None
    if isinstance(value, int):
        return (value,)
    if isinstance(value, tuple) and value and all(isinstance(a, int) for a in value):
        return value
    return None


def _entries(steps: Sequence[ir.Assign], shape: ir.Operand) -> list[object] | None:
    """The entries of a shape operand: ints where constant, None where not."""
    if isinstance(shape, ir.Const):
        value = ir.literal(shape.text)
        return list(value) if isinstance(value, tuple) else None
    step = _producer(steps, shape)
    if step is None or step.op != "tuple":
        return None
    return [ir.literal(a.text) if isinstance(a, ir.Const) else None for a in step.args]


def _reshaped_small(sizes: list[object] | None, axes: tuple[int, ...]) -> bool:
    """True when a reshape names every reduced axis's size (not -1) and the
    constant ones hold at most POOL_LIMIT entries together."""
    if sizes is None or not all(-len(sizes) <= a < len(sizes) for a in axes):
        return False
    picked = [sizes[a] for a in axes]
    if any(isinstance(s, int) and s < 0 for s in picked):
        return False
    known = 1
    for s in picked:
        known *= s if isinstance(s, int) else 1
    return known <= POOL_LIMIT


def _window_rank(steps: Sequence[ir.Assign], window: ir.Operand) -> int | None:
    entries = _entries(steps, window)
    if entries is not None:
        return len(entries)
    value = ir.literal(window.text) if isinstance(window, ir.Const) else None
    return 1 if isinstance(value, int) else None


def pooled(
    op: str,
    args: Sequence[ir.Operand],
    kwargs: dict[str, ir.Operand],
    steps: Sequence[ir.Assign],
) -> str:
    """`op`, or its small-window form when `args[0]`'s reduced axes are
    pooling windows (see the module docstring)."""
    axes = _axes(kwargs)
    if op not in POOLED or axes is None or not args:
        return op  # before `_producer`: its scan per call made parse quadratic
    other = {k: v for k, v in kwargs.items() if k not in ("axis", "keepdims")}
    if any(not (isinstance(v, ir.Const) and v.text == "None") for v in other.values()):
        return op  # initial=, dtype=, where=: the reduction as written
    source = _producer(steps, args[0])
    if source is None:
        return op
    if source.op == "reshape":
        small = _reshaped_small(_entries(steps, source.args[1]), axes)
    elif source.op in _WINDOW_OPS:
        rank = _window_rank(steps, source.args[1])
        small = rank is not None and all(-rank <= a < 0 for a in axes)
    else:
        small = False
    return POOLED[op] if small else op


def is_window_call(
    mod: _Module, node: cst.BaseExpression, env: dict[str, ir.Operand]
) -> bool:
    """True for a call of numpy's sliding_window_view, however imported."""
    if not isinstance(node, cst.Call):
        return False
    dotted = _dotted(node.func)
    if dotted is None or dotted.split(".")[0] in env:
        return False
    return mod.canonical(dotted) == SLIDING_WINDOW_VIEW


def strided_windows(
    builder: ArrayBuilder, node: cst.Subscript, name: str | None
) -> ir.Operand | None:
    """``sliding_window_view(...)[slices]`` as one `strided_windows` step, or
    None when `node` is not that (the caller then lowers it as usual). The
    view may be the call itself or a name bound to it (``win[:, :, ::S]``);
    an unused view is then pruned from the generated forward."""
    if not all(isinstance(el.slice, cst.Slice) for el in node.slice):
        return None
    if is_window_call(builder.mod, node.value, builder.env):
        view = builder.expr(node.value)
        parts, _ = builder.index_parts(node)
        assert isinstance(view, ir.Var)
        at = next(i for i, s in enumerate(builder.steps) if s.target == view.name)
        step = builder.steps.pop(at)
    elif isinstance(node.value, cst.Name) and node.value.value in builder.env:
        found = _producer(builder.steps, builder.env[node.value.value])
        if found is None or found.op != "sliding_window_view":
            return None
        step = found
        parts, _ = builder.index_parts(node)
    else:
        return None
    return builder.emit(
        "strided_windows", (*step.args, *parts), node, name, step.kwargs
    )
