"""Values that carry no gradient: comparisons, shapes, sizes, constants,
integer arithmetic, index objects and masks. Their results are inactive,
never a silent zero: a primitive with no `grads` is not differentiated."""

from __future__ import annotations

from codegen.core.primitive import declare


def _nograd(
    op: str, inputs: tuple[str, ...], forward_np: str, **fields: object
) -> None:
    declare(op, inputs, forward_np, **fields)


_XY = ("x", "y")
_X = ("x",)

# comparisons; & | ^, bitwise, of masks (and integers) as NumPy and Python do
for _op, _sym, _ufunc in (
    ("gt", ">", "greater"),
    ("ge", ">=", "greater_equal"),
    ("lt", "<", "less"),
    ("le", "<=", "less_equal"),
    ("eq", "==", "equal"),
    ("ne", "!=", "not_equal"),
    ("bitand", "&", "bitwise_and"),
    ("bitor", "|", "bitwise_or"),
    ("bitxor", "^", "bitwise_xor"),
):
    _nograd(
        _op,
        _XY,
        f"x {_sym} y",
        operator=_sym,
        calls=(f"numpy.{_ufunc}",),
        shape="broadcast",
    )

_nograd("const", _X, "x")
_nograd(
    "floor",
    _X,
    "np.floor(x)",
    forward="math.floor(x)",
    calls=("math.floor", "numpy.floor"),
    shape="same",
)
_nograd("floordiv", _XY, "x // y", operator="//")
# as NumPy computes it: of Python floats too, inf or nan at y = 0 (// raises)
_nograd("floor_divide", _XY, "np.floor_divide(x, y)", calls=("numpy.floor_divide",))
_nograd("sign", _X, "np.sign(x)", calls=("numpy.sign",), shape="same")
_nograd("item", _XY, "x[y]")
# conv_param["stride"]: an entry of a dict of settings (any value, any shape)
_nograd("entry", _XY, "x[y]")
_nograd("shape", _X, "x.shape", attributes=("shape",), shape="shape")
_nograd("shape_of", _X, "np.shape(x)", calls=("numpy.shape",), shape="shape")
_nograd("dtype", _X, "x.dtype", attributes=("dtype",))
_nograd("size", _X, "np.size(x)", calls=("numpy.size",), attributes=("size",))
_nograd("ndim", _X, "np.ndim(x)", calls=("numpy.ndim",), attributes=("ndim",))
_nograd("result_type", ("*xs",), "np.result_type(*xs)", calls=("numpy.result_type",))
_nograd("slice", ("lo", "hi", "step"), "slice(lo, hi, step)", calls=("slice",))
_nograd("index", ("*parts",), "np.s_[parts]")
_nograd("arange", ("*xs",), "np.arange(*xs)", calls=("numpy.arange",))
# range(N) in an index (scores[range(N), y]): NumPy reads it as np.arange(N)
_nograd("range", ("*xs",), "range(*xs)", calls=("range",))
# np.zeros(n, dtype=int) and kin: the dtype as given
for _name in ("zeros_like", "ones_like", "empty_like"):
    _nograd(
        _name,
        _X,
        f"np.{_name}(x)",
        keywords={"dtype": "None"},
        calls=(f"numpy.{_name}",),
        shape="same",
    )
for _name in ("zeros", "ones", "empty"):
    _nograd(
        _name,
        ("shape",),
        f"np.{_name}(shape)",
        keywords={"dtype": "None"},
        calls=(f"numpy.{_name}",),
    )
_nograd(
    "argmax",
    _X,
    "np.argmax(x)",
    keywords={"axis": "None"},
    calls=("numpy.argmax",),
    methods=("argmax",),
)
_nograd(
    "argmin",
    _X,
    "np.argmin(x)",
    keywords={"axis": "None"},
    calls=("numpy.argmin",),
    methods=("argmin",),
)
_nograd("len", _X, "len(x)", forward="len(x)", calls=("len",))
# The positions np.take(x, indices) reads, as np.take converts them
# (booleans as 0 and 1, negative ones from the end): np.take of an arange.
_nograd("take", ("x", "indices"), "np.take(x, indices)", keywords={"mode": "'raise'"})

_nograd("tuple", ("*xs",), "(*xs,)")
# The mask of positions an integer-array assignment x[index] = v writes last.
_nograd(
    "last_write",
    ("x", "index"),
    "_last_write(x, index)",
    calls=("_last_write",),
    helper="_last_write",
)

# ----- masks, counts and positions (HIPS autograd's nondifferentiable list) -----
# in math modules (chained comparisons, a < b < c), of Python bools
for _op, _bits in (("logical_and", "&"), ("logical_or", "|"), ("logical_xor", "^")):
    _nograd(
        _op,
        _XY,
        f"np.{_op}(x, y)",
        forward=f"x {_bits} y",
        calls=(f"numpy.{_op}",),
        shape="broadcast",
    )
# integer casts of numbers: piecewise constant, no gradient
for _width in (64, 32):
    _nograd(f"int{_width}", _X, f"np.int{_width}(x)", calls=(f"numpy.int{_width}",))
# ~x, bitwise not
_nograd(
    "invert",
    _X,
    "~x",
    calls=("numpy.invert", "numpy.bitwise_not", "numpy.bitwise_invert"),
    shape="same",
)
# logical_not is also Python's `not` (in math modules, its forward)
_nograd(
    "logical_not",
    _X,
    "np.logical_not(x)",
    forward="(not x)",
    calls=("numpy.logical_not",),
    shape="same",
)
for _op in ("isposinf", "isneginf"):
    _nograd(_op, _X, f"np.{_op}(x)", calls=(f"numpy.{_op}",), shape="same")
_nograd(
    "isclose",
    _XY,
    "np.isclose(x, y)",
    keywords={"rtol": "1e-05", "atol": "1e-08", "equal_nan": "False"},
    calls=("numpy.isclose",),
    shape="broadcast",
)
for _op in ("any", "all"):
    _nograd(
        _op,
        _X,
        f"np.{_op}(x)",
        keywords={"axis": "None", "keepdims": "False"},
        calls=(f"numpy.{_op}",),
        methods=(_op,),
        shape="reduce",
    )
_nograd(
    "count_nonzero",
    _X,
    "np.count_nonzero(x)",
    keywords={"axis": "None", "keepdims": "False"},
    calls=("numpy.count_nonzero",),
)
# np.nonzero(m): a tuple of index arrays, x[np.nonzero(m)] an integer-array index
_nograd("nonzero", _X, "np.nonzero(x)", calls=("numpy.nonzero",), methods=("nonzero",))
# index builders: tuples of index arrays of a length the call fixes
# (parse_array_api lowers them to their items, so they unpack)
for _side in ("triu", "tril"):
    _nograd(
        f"{_side}_indices",
        ("n",),
        f"np.{_side}_indices(n)",
        keywords={"k": "0", "m": "None"},
        calls=(f"numpy.{_side}_indices",),
    )
_nograd(
    "diag_indices",
    ("n",),
    "np.diag_indices(n)",
    keywords={"ndim": "2"},
    calls=("numpy.diag_indices",),
)
_nograd("ix_", ("*xs",), "np.ix_(*xs)", calls=("numpy.ix_",))
_nograd("indices", ("dimensions",), "np.indices(dimensions)", calls=("numpy.indices",))
_nograd("flatnonzero", _X, "np.flatnonzero(x)", calls=("numpy.flatnonzero",))
_nograd(
    "searchsorted",
    ("x", "v"),
    "np.searchsorted(x, v)",
    keywords={"side": "'left'"},
    calls=("numpy.searchsorted",),
    methods=("searchsorted",),
)
_nograd(
    "argpartition",
    ("x", "kth"),
    "np.argpartition(x, kth)",
    keywords={"axis": "-1"},
    calls=("numpy.argpartition",),
    methods=("argpartition",),
)
_nograd("isscalar", _X, "np.isscalar(x)", calls=("numpy.isscalar",))
