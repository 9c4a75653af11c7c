"""NumPy breadth, second batch (issue 14): fmax and fmin, rollaxis, ceil,
fabs, reciprocal, sinc, nan_to_num, and the complex-number functions on real
values (conj, real_if_close, imag, angle), with the NaN tests their
adjoints need.

codegen is real-valued: conj and real_if_close of a real x are x itself,
imag is zero and angle is 0 or pi, so the last two carry no gradient.
"""

from __future__ import annotations

from codegen.core.primitive import Facts, declare
from codegen.core.prims.arithmetic import _abs_x
from codegen.core.prims.breadth import _IDS, _literal, _through

# ----- NaN tests (no gradient): used by the adjoints below -----

for _name in ("isnan", "isfinite", "isinf"):
    declare(
        _name,
        ("x",),
        f"np.{_name}(x)",
        calls=(f"numpy.{_name}",),
        shape="same",
    )

# ----- routers that skip NaN -----

_ROUTER = {"broadcast": True, "shape": "broadcast", "smooth": False}


def _skipping_nan(compare: str, symbol: str) -> None:
    """z = fmax(x, y) (fmin): maximum (minimum) that returns the other
    operand where one is NaN. The gradient goes to the operand returned:
    to x where x wins or ties (as np.maximum) or where y is NaN; to y
    otherwise (y wins, or x is NaN). Where both are NaN, z is NaN and x
    gets the gradient."""
    to_x = f"np.where(np.isnan(y), True, x {compare} y)"
    op = "fmax" if symbol == "max" else "fmin"
    declare(
        op,
        ("x", "y"),
        f"np.{op}(x, y)",
        # np.where keeps g's dtype (a float mask would make float32 float64)
        grads={"x": f"np.where({to_x}, g, 0)", "y": f"np.where({to_x}, 0, g)"},
        calls=(f"numpy.{op}",),
        symbol=f"f{symbol}",
        **_ROUTER,
    )


_skipping_nan(">=", "max")
_skipping_nan("<=", "min")

# ----- moving axes -----


def _rollaxis_x(f: Facts) -> str:
    """z = rollaxis(x, axis, start) = moveaxis(x, axis, d), d = start - 1
    when axis < start (after counting negative axes from the end), else
    start: g moves back from d to axis. With the axes unknown, or of
    mixed signs on an array of unknown rank, g goes back through the index
    map."""
    axis, start = _literal(f.const.get("axis")), _literal(f.kw["start"])
    rank = f.rank.get("x")
    if isinstance(axis, int) and isinstance(start, int):
        a, s = axis, start
        if rank is not None:
            a, s = a + rank * (a < 0), s + rank * (s < 0)
        if (a < 0) == (s < 0):  # one origin: the comparison holds
            d = s - 1 if a < s else s
            return f"np.moveaxis(g, {d}, {axis})"
    return _through(f"np.rollaxis({_IDS}, axis, start)")


declare(
    "rollaxis",
    ("x", "axis"),
    "np.rollaxis(x, axis)",
    grads={"x": _rollaxis_x},
    keywords={"start": "0"},
    calls=("numpy.rollaxis",),
    views=("x",),
    view_result=True,
    passthrough=True,
)

# ----- arrays filled with one value -----

#: g summed back onto the fill value; nothing when the array is of integers
#: (np.full_like(int_array, 0.7) is a cast of the value)
_FILLED = "_unbroadcast(g, np.shape(value)) * (np.result_type(ans) == np.result_type(ans, 0.5))"
# z = np.full(shape, value):  each entry is value
declare(
    "full",
    ("shape", "value"),
    "np.full(shape, value)",
    grads={"value": _FILLED},
    keywords={"dtype": "None"},
    calls=("numpy.full",),
)
# z = np.full_like(x, value):  x's shape and dtype, each entry value
declare(
    "full_like",
    ("x", "value"),
    "np.full_like(x, value)",
    grads={"value": _FILLED},
    keywords={"dtype": "None"},
    calls=("numpy.full_like",),
    shape="same",
)

# ----- elementwise functions -----

# z = ceil(x): piecewise constant, no gradient (as floor)
declare(
    "ceil",
    ("x",),
    "np.ceil(x)",
    forward="math.ceil(x)",
    calls=("numpy.ceil", "math.ceil"),
    shape="same",
)
# z = trunc(x), rint(x), fix(x), round(x, decimals): piecewise constant, no
# gradient (as floor and ceil)
declare(
    "trunc",
    ("x",),
    "np.trunc(x)",
    forward="math.trunc(x)",
    calls=("numpy.trunc", "math.trunc"),
    shape="same",
)
declare("rint", ("x",), "np.rint(x)", calls=("numpy.rint",), shape="same")
declare("fix", ("x",), "np.fix(x)", calls=("numpy.fix",), shape="same")
declare(
    "round",
    ("x",),
    "np.round(x)",
    keywords={"decimals": "0"},
    calls=("numpy.round", "numpy.around"),
    methods=("round",),
    shape="same",
)
# z = fabs(x) = |x|:  dz/dx = sign(x), 0 at x = 0 (as abs)
declare(
    "fabs",
    ("x",),
    "np.fabs(x)",
    forward="math.fabs(x)",  # a float, also of an int (math.fabs as written)
    grads={"x": _abs_x},
    calls=("numpy.fabs", "math.fabs"),
    shape="same",
    smooth=False,
    symbol="abs",
)
# z = 1 / x:  dz/dx = -1 / x**2 = -z**2
declare(
    "reciprocal",
    ("x",),
    "np.reciprocal(x)",
    grads={"x": "-g * ans * ans"},
    calls=("numpy.reciprocal",),
    shape="same",
    domain="positive",
)
# z = sinc(x) = sin(pi x) / (pi x), 1 at 0:  dz/dx = (cos(pi x) - z) / x,
# 0 at x = 0 (sinc is even there)
declare(
    "sinc",
    ("x",),
    "np.sinc(x)",
    grads={
        "x": "g * np.where(x == 0, 0.0, (np.cos(np.pi * x) - ans)"
        " / np.where(x == 0, 1.0, x))"
    },
    calls=("numpy.sinc",),
    shape="same",
)
# z = nan_to_num(x): x where it is finite, a constant where it is NaN or
# infinite, so dz/dx = 1 at finite entries and 0 elsewhere. The replacement
# values are keywords: a differentiated one is refused (no adjoint).
declare(
    "nan_to_num",
    ("x",),
    "np.nan_to_num(x)",
    grads={"x": "g * np.isfinite(x)"},
    keywords={"nan": "0.0", "posinf": "None", "neginf": "None"},
    calls=("numpy.nan_to_num",),
    shape="same",
)

# ----- complex-number functions of real values -----

# z = conj(x) = x for real x
declare(
    "conj",
    ("x",),
    "np.conj(x)",
    grads={"x": "g"},
    calls=("numpy.conj", "numpy.conjugate"),
    shape="same",
    views=("x",),
    passthrough=True,
)
# z = real_if_close(x) = x itself for real x
declare(
    "real_if_close",
    ("x",),
    "np.real_if_close(x)",
    grads={"x": "g"},
    keywords={"tol": "100"},
    calls=("numpy.real_if_close",),
    shape="same",
    views=("x",),
    view_result=True,
    passthrough=True,
)
# z = imag(x) = 0 for real x: no gradient
declare("imag", ("x",), "np.imag(x)", calls=("numpy.imag",), shape="same")
# z = angle(x) = 0 for x >= 0, pi (180 with deg) for x < 0: no gradient
declare(
    "angle",
    ("x",),
    "np.angle(x)",
    keywords={"deg": "False"},
    calls=("numpy.angle",),
    shape="same",
)


# z = pad(x, pad_width, mode) in a mode that copies entries of x (edge,
# reflect, symmetric, wrap): each entry of z is an entry of x, the one the
# same padding of x's entry numbers names, so x gets g added back there
declare(
    "pad_copy",
    ("x", "pad_width"),
    "np.pad(x, pad_width)",
    grads={"x": _through(f"np.pad({_IDS}, pad_width, mode=mode)")},
    keywords={"mode": "'edge'"},
    passthrough=True,
)


# z = x.item(): the one entry of x as a Python number; x gets g in its shape
declare(
    "item_value",
    ("x",),
    "x.item()",
    grads={"x": "np.full(np.shape(x), g, dtype=np.result_type(x, 1.0))"},
    methods=("item",),
)
