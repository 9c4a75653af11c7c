"""Splitting and stacking (issue 14): the pieces of np.split and its kin,
np.hstack, differences and np.gradient, np.linspace, sorting.

A call returning a list of arrays (``np.split(x, 3)``, ``np.gradient(x,
axis=(0, 1))``) is lowered by the parse pass to one step per piece, each a
primitive here with the piece's number ``k``; the pieces form a tuple of
values (unpacked, indexed with a constant, or returned as several outputs).
The other spellings that reduce to concatenate and stack (vstack,
column_stack, append, np.array of a list, np.r_, np.c_) and np.select (a
chain of np.where) are lowered there too (`codegen.front.parse_stacking`).

Each piece's adjoint puts g back where the piece came from: the same split
applied to ``arange(size(x))`` says which entries of x the piece holds.
Sorting routes g through the sorting permutation, an inactive index.
"""

from __future__ import annotations

from codegen.core.primitive import Facts, declare
from codegen.core.prims.breadth import _IDS, _through
from codegen.core.prims.breadth import _literal as literal

# ----- the pieces of a split -----

#: The axis each split spelling cuts, when fixed (hsplit's depends on rank).
_SPLIT_AXIS = {"vsplit": 0, "dsplit": 2}


def _split_axis(name: str, f: Facts) -> int | None:
    """The axis piece k is cut along, non-negative, or None if not known."""
    rank = f.rank.get("x")
    if name == "hsplit":
        return None if rank is None else int(rank > 1)
    axis = _SPLIT_AXIS.get(name, literal(f.const.get("axis")))
    if not isinstance(axis, int) or isinstance(axis, bool):
        return None
    if axis < 0:
        return None if rank is None else axis % max(rank, 1)
    return axis


def _split(name: str):
    def adjoint(f: Facts) -> str:
        """z = split(x, sections, axis)[k]:  g goes back where piece k was
        cut from: with literal sections and a known axis, written into zeros
        at that slice; otherwise through the same split of x's flat
        positions (``arange(size(x))``)."""
        axis = _split_axis(name, f)
        sections, k = literal(f.const.get("sections")), literal(f.const.get("k"))
        bounds: tuple[str, str] | None = None
        if axis is not None and isinstance(k, int) and isinstance(sections, list):
            cuts = ["", *(str(c) for c in sections), ""]
            bounds = (cuts[k], cuts[k + 1])
        elif (
            axis is not None
            and isinstance(k, int)
            and name != "array_split"
            and isinstance(sections, int)
            and not isinstance(sections, bool)
        ):
            size = f"np.shape(x)[{axis}] // {sections}"  # equal pieces
            cut = ["", size, *(f"{size} * {j}" for j in range(2, sections))]
            bounds = (cut[k], (cut + [""])[k + 1])
        if bounds is not None and axis is not None:
            index = "np.s_[" + ":, " * axis + f"{bounds[0]}:{bounds[1]}]"
            return f"_scatter(g, np.shape(x), {index})"
        args = "sections, axis" if name in ("split", "array_split") else "sections"
        ids = f"np.{name}({_IDS}, {args})[k]"
        return f"np.reshape(_scatter(g, (np.size(x),), {ids}), np.shape(x))"

    return adjoint


# z = np.split(x, sections, axis)[k] (array_split alike): piece k of x
for _name in ("split", "array_split"):
    declare(
        _name,
        ("x", "sections", "axis", "k"),
        f"np.{_name}(x, sections, axis)[k]",
        grads={"x": _split(_name)},
        calls=(f"numpy.{_name}",),
        view_result=True,
        passthrough=True,
    )
# z = np.hsplit(x, sections)[k] (vsplit, dsplit): piece k along their axis
for _name in ("hsplit", "vsplit", "dsplit"):
    declare(
        _name,
        ("x", "sections", "k"),
        f"np.{_name}(x, sections)[k]",
        grads={"x": _split(_name)},
        calls=(f"numpy.{_name}",),
        view_result=True,
        passthrough=True,
    )

# ----- hstack: concatenate along axis 0 (1-d operands) or axis 1 -----

#: The axis hstack joins along, from g's rank: 0 for 1-d, else 1.
_HAXIS = "np.minimum(np.ndim(g), 2) - 1"


def _hstack_xs(f: Facts) -> str:
    """z = hstack(xs): operand i gets its part of g along the joined axis,
    from the sizes of the operands before it. The axis is 0 when the
    operands are 1-d (or 0-d) and 1 otherwise; when no operand's rank is
    known it is read off g at run time."""
    i = f.i or 0
    known = [f.rank.get(f"xs_{k}") for k in range(f.n)]
    rank = next((r for r in known if r is not None), None)
    if rank is not None and rank <= 1:
        sizes = [f"np.size(xs_{k})" for k in range(f.n)]
        part = _part(sizes, i, f.n)
        return f"np.reshape(g[{part}], np.shape(xs_{i}))"
    if rank is not None:
        sizes = [f"np.shape(xs_{k})[1]" for k in range(f.n)]
        return f"g[:, {_part(sizes, i, f.n)}]"
    sizes = [f"np.shape(np.atleast_1d(xs_{k}))[{_HAXIS}]" for k in range(f.n)]
    front = f"np.moveaxis(g, {_HAXIS}, 0)[{_part(sizes, i, f.n)}]"
    return f"np.reshape(np.moveaxis({front}, 0, {_HAXIS}), np.shape(xs_{i}))"


def _part(sizes: list[str], i: int, n: int) -> str:
    """The slice of operand i when operands of `sizes` are laid end to end."""
    start = " + ".join(sizes[:i])
    if i == n - 1:
        return f"{start}:"
    if start:
        return f"{start}:{start} + {sizes[i]}"
    return f":{sizes[i]}"


declare(
    "hstack",
    ("*xs",),
    "np.hstack(xs)",
    grads={"xs": _hstack_xs},
    views=("xs",),  # a part of g
    calls=("numpy.hstack",),
)

# z = vstack(x) (hstack, column_stack) of one array: of the rows x[0],
# x[1], ..., which hold each entry of x once, so g goes back through the
# same op applied to x's flat positions
_CALLED = {"vstack": ("numpy.vstack", "numpy.row_stack"), "hstack": ()}
for _name in ("vstack", "hstack", "column_stack"):
    declare(
        f"{_name}_rows",
        ("x",),
        f"np.{_name}(x)",
        grads={
            "x": f"np.reshape(_scatter(g, (np.size(x),), np.{_name}({_IDS})), "
            "np.shape(x))"
        },
        # the spelling's other forms are lowered (codegen/front/parse_stacking.py)
        calls=_CALLED.get(_name, (f"numpy.{_name}",)),
        passthrough=True,
    )

# ----- differences -----

# z = diff(x, n, axis): a linear map, so x gets its transpose applied to g
# (g padded with a zero on each side and differenced, negated, n times)
declare(
    "diff",
    ("x",),
    "np.diff(x)",
    grads={"x": "_diff_vjp(g, n, axis, np.shape(x)[axis])"},
    view_result=True,  # n=0: x itself
    keywords={"n": "1", "axis": "-1"},
    calls=("numpy.diff",),
)
# The transpose of diff (diff's adjoint); its own transpose is diff again.
declare(
    "diff_vjp",
    ("x", "n", "axis", "size"),
    "_diff_vjp(x, n, axis, size)",
    grads={"x": "np.diff(g, n=n, axis=axis)"},
    calls=("_diff_vjp",),
    helper="_diff_vjp",
)
# z = gradient(x, axis=axis) along one axis (unit spacing, edge_order 1):
# central differences inside, one-sided ones at the two ends; linear, so x
# gets the transpose of that map applied to g
declare(
    "gradient",
    ("x", "axis"),
    "np.gradient(x, axis=axis)",
    grads={"x": "_gradient_vjp(g, axis)"},
    calls=("numpy.gradient",),
)
declare(
    "gradient_vjp",
    ("x", "axis"),
    "_gradient_vjp(x, axis)",
    grads={"x": "np.gradient(g, axis=axis)"},
    calls=("_gradient_vjp",),
    helper="_gradient_vjp",
)

# ----- linspace -----

#: The weight of stop in each entry of linspace(start, stop, num).
_T = "np.linspace(0.0, 1.0, num, endpoint=endpoint).astype(np.result_type(g))"

# z = linspace(start, stop, num) = start + (stop - start) t with t = _T
# along axis 0:  start gets sum over t of g (1 - t), stop sum of g t
declare(
    "linspace",
    ("start", "stop"),
    "np.linspace(start, stop)",
    grads={
        "start": f"_unbroadcast(np.tensordot(1.0 - {_T}, g, 1), np.shape(start))",
        "stop": f"_unbroadcast(np.tensordot({_T}, g, 1), np.shape(stop))",
    },
    keywords={"num": "50", "endpoint": "True"},
    calls=("numpy.linspace",),
)

# ----- sorting: g goes back through the permutation -----

#: The rank of each entry of x along axis (its position once sorted).
_RANKS = "np.argsort(np.argsort(x, axis=axis), axis=axis)"

# z = sort(x, axis) = x at the permutation p = argsort(x):  entry j of x went
# to position rank(x)_j, so x gets g there
declare(
    "sort",
    ("x",),
    "np.sort(x)",
    grads={"x": f"np.take_along_axis(g, {_RANKS}, axis=axis)"},
    keywords={"axis": "-1"},
    calls=("numpy.sort",),
    smooth=False,
    passthrough=True,
)
# z = partition(x, kth, axis): the entries of x in an order NumPy picks; the
# entry of x of rank r is at the position of rank r in z, argsort(z)[r]
declare(
    "partition",
    ("x", "kth"),
    "np.partition(x, kth)",
    grads={
        "x": "np.take_along_axis(g, np.take_along_axis(np.argsort(ans, axis=axis), "
        f"{_RANKS}, axis=axis), axis=axis)"
    },
    keywords={"axis": "-1"},
    calls=("numpy.partition",),
    smooth=False,
    passthrough=True,
)


# z = take_along_axis(x, indices, axis): each entry of z is an entry of x
# (repeats allowed), so g is added back at each entry's source
_ALONG = "np.take_along_axis(" + _IDS + ", indices, axis=axis)"
declare(
    "take_along_axis",
    ("x", "indices"),
    "np.take_along_axis(x, indices)",
    grads={"x": _through(_ALONG)},
    keywords={"axis": "-1"},
    calls=("numpy.take_along_axis",),
    passthrough=True,
)
# The sorting permutation: an index, no gradient.
declare(
    "argsort",
    ("x",),
    "np.argsort(x)",
    keywords={"axis": "-1"},
    calls=("numpy.argsort",),
    methods=("argsort",),
)
