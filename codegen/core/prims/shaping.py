"""Moving entries around: transpose, reshape, expand_dims, squeeze,
broadcast_to, concatenate, stack. Each adjoint undoes the move."""

from __future__ import annotations

import ast

from codegen.core.primitive import Facts, declare


def _transpose_x(f: Facts) -> str:
    """Transposing back: by the inverse permutation, computed here when the
    axes are a literal (negative axes counted from the end)."""
    axes = f.kw["axes"]
    if axes == "None":
        return "np.transpose(g)"
    try:
        perm = [int(a) for a in ast.literal_eval(axes)]
    except (ValueError, SyntaxError, TypeError):
        return "np.transpose(g, np.argsort(np.mod(axes, np.ndim(g))))"
    n = len(perm)
    perm = [a % n for a in perm]
    inverse = sorted(range(n), key=perm.__getitem__)
    return f"np.transpose(g, {tuple(inverse)!r})"


def _axis(f: Facts, extra: int = 0) -> int | None:
    """The literal axis as a non-negative number (counted in a result with
    `extra` more axes than the operands), or None when that is not known."""
    try:
        axis = ast.literal_eval(f.kw["axis"])
    except (ValueError, SyntaxError):
        return None
    if not isinstance(axis, int):
        return None
    if axis >= 0:
        return axis
    rank = f.rank.get(f"xs_{f.i}")
    return None if rank is None else axis % (rank + extra)


def _concatenate_xs(f: Facts) -> str:
    """concatenate(xs, axis): operand i gets its slice of g, from the sizes of
    the operands before it to that plus its own size."""
    axis = _axis(f)
    if axis is None:  # a negative axis of an operand of unknown rank
        sizes = ", ".join(f"np.shape(xs_{k})[axis]" for k in range(f.n))
        return f"np.split(g, np.cumsum([{sizes}])[:-1], axis=axis)[{f.i}]"
    before = [f"np.shape(xs_{k})[{axis}]" for k in range(f.i or 0)]
    start = " + ".join(before)
    if f.i == f.n - 1:  # the last operand: to the end
        part = f"{start}:"
    elif before:
        part = f"{start}:{start} + np.shape(xs_{f.i})[{axis}]"
    else:
        part = f":np.shape(xs_{f.i})[{axis}]"
    return "g[" + ":, " * axis + part + "]"


def _stack_xs(f: Facts) -> str:
    """stack(xs, axis): operand i gets entry i of g along the new axis."""
    axis = _axis(f, extra=1)
    if axis is None:
        return f"np.take(g, {f.i}, axis=axis)"
    return "g[" + ":, " * axis + f"{f.i}]"


_BACK = "np.reshape(g, np.shape(x))"

declare(
    "transpose",
    ("x",),
    "np.transpose(x)",
    grads={"x": _transpose_x},
    keywords={"axes": "None"},
    calls=("numpy.transpose",),
    methods=("transpose",),
    attributes=("T",),
    packed="axes",
    shape="transpose",
    views=("x",),
    view_result=True,
    passthrough=True,
)
declare(
    "reshape",
    ("x", "shape"),
    "np.reshape(x, shape)",
    grads={"x": _BACK},
    calls=("numpy.reshape",),
    methods=("reshape",),
    packed="shape",
    shape="reshape",
    views=("x",),
    view_result=True,
    passthrough=True,
)
declare(
    "expand_dims",
    ("x", "axis"),
    "np.expand_dims(x, axis)",
    grads={"x": _BACK},
    calls=("numpy.expand_dims",),
    shape="expand_dims",
    views=("x",),
    view_result=True,
    passthrough=True,
)
declare(
    "squeeze",
    ("x",),
    "np.squeeze(x)",
    grads={"x": _BACK},
    keywords={"axis": "None"},
    calls=("numpy.squeeze",),
    methods=("squeeze",),
    views=("x",),
    view_result=True,
    passthrough=True,
)
declare(
    "broadcast_to",
    ("x", "shape"),
    "np.broadcast_to(x, shape)",
    grads={"x": "_unbroadcast(g, np.shape(x))"},
    views=("x",),  # g itself when nothing was broadcast
    calls=("numpy.broadcast_to",),
    view_result=True,
    passthrough=True,
)
# The sum back to an operand's shape that the reverse pass writes around
# broadcast contributions; declared so that a generated backward parses again.
declare(
    "unbroadcast",
    ("x", "shape"),
    "_unbroadcast(x, shape)",
    # summing where the target has 1 and spreading where x has 1 (einsum's
    # broadcast size-1 axes) are each other's transposes: the adjoint is the
    # same helper, back to x's shape (np.broadcast_to fails on the second)
    grads={"x": "_unbroadcast(g, np.shape(x))"},
    calls=("_unbroadcast",),
    shape="unbroadcast",
    views=("x",),
    view_result=True,  # x itself when nothing is summed
    helper="_unbroadcast",
)
declare(
    "concatenate",
    ("*xs",),
    "np.concatenate(xs)",
    grads={"xs": _concatenate_xs},
    views=("xs",),  # a part of g
    keywords={"axis": "0"},
    calls=("numpy.concatenate",),
)
declare(
    "stack",
    ("*xs",),
    "np.stack(xs)",
    grads={"xs": _stack_xs},
    views=("xs",),  # an entry of g
    keywords={"axis": "0"},
    calls=("numpy.stack",),
)
