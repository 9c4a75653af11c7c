"""NumPy breadth (issue 14): mod, prod, moving and selecting entries (swapaxes
... diag, trace). More elementary functions, cross and kron are
`functions.py`.

Linear algebra beyond matmul is `linalg_more.py`. Where an op moves or copies
entries of x (repeat, tile, diag, diagonal) the general adjoint adds g back
through an index map: the same op applied to ``arange(size(x))`` says which
entry of x each entry of the result came from, and `_scatter_add` sums g
there. A literal operand gets a reshape-and-sum form instead.
"""

from __future__ import annotations

from codegen.core import ir
from codegen.core.primitive import Facts, declare
from codegen.core.prims.reductions import _expand

#: The flat position of each entry of x, in x's shape.
_IDS = "np.reshape(np.arange(np.size(x)), np.shape(x))"


def _through(index_map: str) -> str:
    """x's gradient when the result is x's entries at `index_map` (any
    shape): g added back at each entry's source, repeats summed."""
    return f"np.reshape(_scatter_add(g, (np.size(x),), {index_map}), np.shape(x))"


def _literal(text: str | None) -> object:
    """The value of a literal operand, or None when it is not one."""
    return None if text is None else ir.literal(text)


# ----- mod and prod -----

declare(
    "mod",
    ("x", "y"),
    "np.mod(x, y)",
    # z = x - y floor(x / y):  dz/dx = 1, dz/dy = -floor(x / y) (away from the
    # jumps), the quotient np.mod itself used (np.floor(1 / 0.1) is 10, not 9;
    # and of Python floats x / y would raise at y = 0, where z is nan)
    grads={"x": "g", "y": "-g * np.floor_divide(x, y)"},
    operator="%",
    calls=("numpy.mod", "numpy.remainder"),
    broadcast=True,
    shape="broadcast",
    views=("x",),
    smooth=False,
    symbol="%",
)


def _prod_x(f: Facts) -> str:
    """z = prod(x, axis):  dz/dx_j = the product of the other entries. That is
    z / x_j where x_j != 0; where x_j = 0 it is the product of the nonzero
    entries if x_j is the only zero, else 0 (never z / 0)."""
    grad, ans = _expand("g", f), _expand("ans", f)
    nonzero = "np.where(x == 0, 1.0, x)"
    zeros = "np.sum(x == 0, axis=axis, keepdims=True)"
    others = f"np.prod({nonzero}, axis=axis, keepdims=True) * ({zeros} == 1)"
    return f"{grad} * np.where(x == 0, {others}, {ans} / {nonzero})"


declare(
    "prod",
    ("x",),
    "np.prod(x)",
    grads={"x": _prod_x},
    keywords={"axis": "None", "keepdims": "False"},
    calls=("numpy.prod",),
    methods=("prod",),
    shape="reduce",
)

# ----- moving entries: each adjoint moves g back -----

_MOVE = {"views": ("x",), "view_result": True, "passthrough": True}

# z = swapaxes(x, a, b):  swapping the same axes back
declare(
    "swapaxes",
    ("x", "axis1", "axis2"),
    "np.swapaxes(x, axis1, axis2)",
    grads={"x": "np.swapaxes(g, axis1, axis2)"},
    calls=("numpy.swapaxes",),
    methods=("swapaxes",),
    **_MOVE,
)
# z = x.mT (NumPy 2), the last two axes swapped:  swapping them back
declare(
    "matrix_transpose",
    ("x",),
    "np.swapaxes(x, -1, -2)",
    grads={"x": "np.swapaxes(g, -1, -2)"},
    attributes=("mT",),
    **_MOVE,
)
# z = moveaxis(x, source, destination):  moving destination back to source
declare(
    "moveaxis",
    ("x", "source", "destination"),
    "np.moveaxis(x, source, destination)",
    grads={"x": "np.moveaxis(g, destination, source)"},
    calls=("numpy.moveaxis",),
    **_MOVE,
)
# z = flip(x, axis):  flipping g along the same axes
declare(
    "flip",
    ("x",),
    "np.flip(x)",
    grads={"x": "np.flip(g, axis=axis)"},
    keywords={"axis": "None"},
    calls=("numpy.flip",),
    **_MOVE,
)
# z = fliplr(x) (flipud(x)):  flipping g the same way
declare(
    "fliplr",
    ("x",),
    "np.fliplr(x)",
    grads={"x": "np.fliplr(g)"},
    calls=("numpy.fliplr",),
    **_MOVE,
)
declare(
    "flipud",
    ("x",),
    "np.flipud(x)",
    grads={"x": "np.flipud(g)"},
    calls=("numpy.flipud",),
    **_MOVE,
)
# z = rot90(x, k, axes):  rotating g back, by -k quarter turns
declare(
    "rot90",
    ("x",),
    "np.rot90(x)",
    grads={"x": "np.rot90(g, -k, axes=axes)"},
    keywords={"k": "1", "axes": "(0, 1)"},
    calls=("numpy.rot90",),
    **_MOVE,
)


def _roll_x(f: Facts) -> str:
    # z = roll(x, shift, axis):  rolling g back by -shift
    shift = _literal(f.const.get("shift"))
    if isinstance(shift, int):
        return f"np.roll(g, {-shift}, axis=axis)"
    if isinstance(shift, tuple) and all(isinstance(s, int) for s in shift):
        return f"np.roll(g, {tuple(-s for s in shift)!r}, axis=axis)"
    return "np.roll(g, np.negative(shift), axis=axis)"


declare(
    "roll",
    ("x", "shift"),
    "np.roll(x, shift)",
    grads={"x": _roll_x},
    keywords={"axis": "None"},
    calls=("numpy.roll",),
    passthrough=True,
)
# z = ravel(x) (x.flatten()):  g back in x's shape
declare(
    "ravel",
    ("x",),
    "np.ravel(x)",
    grads={"x": "np.reshape(g, np.shape(x))"},
    calls=("numpy.ravel",),
    methods=("ravel",),
    **_MOVE,
)
declare(
    "flatten",
    ("x",),
    "np.ravel(x).copy()",
    grads={"x": "np.reshape(g, np.shape(x))"},
    methods=("flatten",),
    views=("x",),
    passthrough=True,
)
# z = atleast_Nd(x):  x with size-1 axes added; g back in x's shape
for _n in (1, 2, 3):
    declare(
        f"atleast_{_n}d",
        ("x",),
        f"np.atleast_{_n}d(x)",
        grads={"x": "np.reshape(g, np.shape(x))"},
        calls=(f"numpy.atleast_{_n}d",),
        **_MOVE,
    )
# z = real(x) = x for real x (complex input is out of scope)
declare(
    "real",
    ("x",),
    "np.real(x)",
    grads={"x": "g"},
    calls=("numpy.real",),
    attributes=("real",),
    shape="same",
    **_MOVE,
)

# ----- copying entries: repeat, tile -----


def _repeat_x(f: Facts) -> str | None:
    """z = repeat(x, r, axis):  each x_i is copied r times, so it gets the sum
    of g over its copies: with literal r and axis, g's axis split into
    (n, r) and the r summed; otherwise through the index map."""
    r, axis = _literal(f.const.get("repeats")), _literal(f.kw["axis"])
    if not isinstance(r, int) or isinstance(r, bool):
        return _through(f"np.repeat({_IDS}, repeats, axis=axis)")
    if r == 0:  # no copies: x does not reach the result
        return None
    # the sizes of x, not -1, which an empty g leaves undetermined
    if axis is None:  # repeat of the flattened x
        return (
            f"np.reshape(np.sum(np.reshape(g, (np.size(x), {r})), axis=1), np.shape(x))"
        )
    if not isinstance(axis, int):
        return _through(f"np.repeat({_IDS}, repeats, axis=axis)")
    rest = "" if axis == -1 else f" + np.shape(g)[{axis + 1}:]"
    split = f"np.shape(g)[:{axis}] + (np.shape(x)[{axis}], {r}){rest}"
    return f"np.sum(np.reshape(g, {split}), axis={axis + 1 if axis >= 0 else axis})"


declare(
    "repeat",
    ("x", "repeats"),
    "np.repeat(x, repeats)",
    grads={"x": _repeat_x},
    keywords={"axis": "None"},
    calls=("numpy.repeat",),
    methods=("repeat",),
    passthrough=True,
)


def _tile_x(f: Facts) -> str:
    """z = tile(x, reps):  x is copied reps[i] times along axis i (counted
    from the end), so it gets the sum of g over its copies: with literal reps,
    each tiled axis of g split into (reps[i], size) and the reps summed."""
    reps = _literal(f.const.get("reps"))
    reps = (reps,) if isinstance(reps, int) else reps
    if not isinstance(reps, tuple) or not all(
        isinstance(r, int) and not isinstance(r, bool) and r > 0 for r in reps
    ):
        return _through(f"np.tile({_IDS}, reps)")
    parts: list[str] = []
    summed: list[int] = []
    n = len(reps)
    for i, r in enumerate(reps):
        dim = f"np.shape(g)[{i - n}]"
        if r == 1:
            parts.append(dim)
        else:
            parts += [str(r), f"{dim} // {r}"]
            summed.append(len(parts) - 2)
    if not summed:
        return "np.reshape(g, np.shape(x))"
    width = len(parts)
    axes = tuple(a - width for a in summed)
    split = f"np.shape(g)[:{-n}] + ({', '.join(parts)},)"
    axis = axes[0] if len(axes) == 1 else axes
    return f"np.reshape(np.sum(np.reshape(g, {split}), axis={axis}), np.shape(x))"


declare(
    "tile",
    ("x", "reps"),
    "np.tile(x, reps)",
    grads={"x": _tile_x},
    calls=("numpy.tile",),
    passthrough=True,
)

# ----- triangles, diagonals, trace -----


def _triangle(name: str):
    def adjoint(f: Facts) -> str:
        # z = tril(x, k) (triu):  the same mask on g; a 1-d x is broadcast to
        # rows first, so its gradient sums the masked rows back
        masked = f"np.{name}(g, k=k)"
        rank = f.rank.get("x")
        if rank is not None and rank >= 2:
            return masked
        return f"_unbroadcast({masked}, np.shape(x))"

    return adjoint


for _name in ("tril", "triu"):
    declare(
        _name,
        ("x",),
        f"np.{_name}(x)",
        grads={"x": _triangle(_name)},
        keywords={"k": "0"},
        calls=(f"numpy.{_name}",),
        passthrough=True,
    )


def _diag_x(f: Facts) -> str:
    """z = diag(x, k): a 1-d x is put on the k-th diagonal, so it gets that
    diagonal of g; a 2-d x gives its k-th diagonal, so g goes back there.
    Rank unknown: through the index map, counted from 1 so that the zeros
    off a built diagonal point nowhere."""
    rank = f.rank.get("x")
    if rank == 1:
        return "np.diag(g, k)"
    ids = "np.reshape(np.arange(1, np.size(x) + 1), np.shape(x))"
    back = f"_scatter_add(g, (np.size(x) + 1,), np.diag({ids}, k))[1:]"
    return f"np.reshape({back}, np.shape(x))"


declare(
    "diag",
    ("x",),
    "np.diag(x)",
    grads={"x": _diag_x},
    keywords={"k": "0"},
    calls=("numpy.diag",),
    views=("x",),
    view_result=True,
    passthrough=True,
)
# z = diagonal(x, offset, axis1, axis2):  g goes back onto that diagonal
declare(
    "diagonal",
    ("x",),
    "np.diagonal(x)",
    grads={"x": _through(f"np.diagonal({_IDS}, offset, axis1, axis2)")},
    keywords={"offset": "0", "axis1": "0", "axis2": "1"},
    calls=("numpy.diagonal",),
    methods=("diagonal",),
    view_result=True,
    passthrough=True,
)


def _trace_x(f: Facts) -> str:
    """z = trace(x) = sum of the diagonal:  dz/dx = 1 on the diagonal (an
    identity of x's shape, shifted by offset); for a batch or other axes,
    g is added back onto each diagonal through the index map."""
    default = f.kw["axis1"] == "0" and f.kw["axis2"] == "1"
    if f.rank.get("x") == 2 and default:
        return "g * np.eye(np.shape(x)[0], np.shape(x)[1], k=offset, dtype=np.result_type(g))"
    diagonal = f"np.diagonal({_IDS}, offset, axis1, axis2)"
    index = f"_scatter_add(np.expand_dims(g, -1), (np.size(x),), {diagonal})"
    return f"np.reshape({index}, np.shape(x))"


declare(
    "trace",
    ("x",),
    "np.trace(x)",
    grads={"x": _trace_x},
    keywords={"offset": "0", "axis1": "0", "axis2": "1"},
    calls=("numpy.trace",),
    methods=("trace",),
)
# The identity (a constant): used by trace's and cholesky's adjoints.
declare(
    "eye",
    ("N",),
    "np.eye(N)",
    keywords={"M": "None", "k": "0", "dtype": "None"},
    calls=("numpy.eye",),
)
