"""Statistics: the nan-reductions, median and quantiles, cumprod and
trapezoid; and the ufuncs heaviside, copysign, fmod and ldexp.

The nan-reductions skip NaN entries, so those get no gradient; a slice of
NaN only gets none either (its count is taken as 1, not 0). Median and
quantile route g through the sorting ranks, as np.sort does, to the one or
two entries the result interpolates. np.ptp and np.average are written as
these primitives by the parse pass (codegen/front/parse_statistics.py).
"""

from __future__ import annotations

from codegen.core.primitive import Facts, declare
from codegen.core.prims.reductions import _AXIS, _expand

# ----- reductions that skip NaN -----

_VALID = "np.logical_not(np.isnan(x))"


def _count(f: Facts) -> str:
    """How many entries of each slice are not NaN (at least 1), in x's type."""
    n = f"np.sum({_VALID}, axis=axis, keepdims=True, dtype=np.result_type(x))"
    return f"np.maximum({n}, 1)"


def _copied(f: Facts) -> str:
    """g copied back along the reduced axes."""
    return f"np.broadcast_to({_expand('g', f)}, np.shape(x))"


def _spread(f: Facts) -> str:
    """g copied back along the reduced axes, zero at the NaN entries."""
    return f"np.where(np.isnan(x), 0, {_copied(f)})"


def _nanmax_x(f: Facts) -> str:
    # z = nanmax(x, axis): to the maxima, tied ones sharing g; NaN never wins
    hit = f"(x == {_expand('ans', f)})"
    count = f"np.sum({hit}, axis=axis, keepdims=True, dtype=np.result_type(x))"
    return f"{_expand('g', f)} * {hit} / np.maximum({count}, 1)"


def _centred(f: Facts) -> str:
    """x less the mean of its valid entries, 0 - mean at NaN (so that no NaN
    reaches a product whose gradient is taken again)."""
    return "(np.where(np.isnan(x), 0, x) - np.nanmean(x, axis=axis, keepdims=True))"


def _nanvar_x(f: Facts) -> str:
    # z = sum over valid entries of (x - m)^2 / (n - ddof), n their count
    grad = f"{_copied(f)} * 2 * {_centred(f)} / ({_count(f)} - ddof)"
    return f"np.where(np.isnan(x), 0, {grad})"


def _nanstd_x(f: Facts) -> str:
    # z = sqrt(nanvar(x)):  dz/dx = (x - m) / ((n - ddof) z), 0 where z = 0
    std = _expand("ans", f)
    safe = f"np.where({std} == 0, 1.0, {std})"
    return (
        f"np.where(np.isnan(x), 0, {_copied(f)} * {_centred(f)}"
        f" / (({_count(f)} - ddof) * {safe}))"
    )


_NAN = {"shape": "reduce"}
declare(
    "nansum",
    ("x",),
    "np.nansum(x)",
    grads={"x": _spread},
    keywords=_AXIS,
    calls=("numpy.nansum",),
    **_NAN,
)
declare(
    "nanmean",
    ("x",),
    "np.nanmean(x)",
    grads={"x": lambda f: f"{_spread(f)} / {_count(f)}"},
    keywords=_AXIS,
    calls=("numpy.nanmean",),
    **_NAN,
)
for _op in ("nanmax", "nanmin"):
    declare(
        _op,
        ("x",),
        f"np.{_op}(x)",
        grads={"x": _nanmax_x},
        keywords=_AXIS,
        calls=(f"numpy.{_op}",),
        smooth=False,
        **_NAN,
    )
declare(
    "nanvar",
    ("x",),
    "np.nanvar(x)",
    grads={"x": _nanvar_x},
    keywords={**_AXIS, "ddof": "0"},
    calls=("numpy.nanvar",),
    **_NAN,
)
declare(
    "nanstd",
    ("x",),
    "np.nanstd(x)",
    grads={"x": _nanstd_x},
    keywords={**_AXIS, "ddof": "0"},
    calls=("numpy.nanstd",),
    **_NAN,
)

# ----- median and quantiles: through the sorting ranks -----


def _ranks(f: Facts) -> tuple[str, str]:
    """(the rank of each entry of x in its slice once sorted, the slice's size)."""
    if f.kw["axis"] == "None":  # of x flattened
        flat = "np.argsort(np.argsort(x, axis=None))"
        return f"np.reshape({flat}, np.shape(x))", "np.size(x)"
    return "np.argsort(np.argsort(x, axis=axis), axis=axis)", "np.shape(x)[axis]"


def _median_x(f: Facts) -> str:
    # z = the middle entry of the sorted slice (n odd), or the mean of the two
    # middle ones (n even): those with |2 rank - (n - 1)| <= 1, weighted
    # 1 / (2 - n % 2)
    rank, n = _ranks(f)
    middle = f"np.abs(2 * {rank} - ({n} - 1)) <= 1"
    return f"np.where({middle}, {_copied(f)}, 0) / (2 - {n} % 2)"


def _quantile(percent: bool):
    def adjoint(f: Facts) -> str:
        # z = s[lo] + (s[lo + 1] - s[lo]) t at the position q (n - 1) = lo + t
        # of the sorted slice s (NumPy's 'linear' method)
        rank, n = _ranks(f)
        at = f"({'q / 100' if percent else 'q'} * ({n} - 1))"
        lo, t = f"({at} // 1)", f"({at} - {at} // 1)"
        return (
            f"np.where({rank} == {lo}, {_copied(f)}, 0) * (1 - {t})"
            f" + np.where({rank} == {lo} + 1, {_copied(f)}, 0) * {t}"
        )

    return adjoint


declare(
    "median",
    ("x",),
    "np.median(x)",
    grads={"x": _median_x},
    keywords=_AXIS,
    calls=("numpy.median",),
    shape="reduce",
    smooth=False,
)
declare(
    "quantile",
    ("x",),
    "np.quantile(x)",
    grads={"x": _quantile(percent=False)},
    keywords={"q": "0.5", **_AXIS},
    calls=("numpy.quantile",),
    shape="reduce",
    smooth=False,
)
declare(
    "percentile",
    ("x",),
    "np.percentile(x)",
    grads={"x": _quantile(percent=True)},
    keywords={"q": "50", **_AXIS},
    calls=("numpy.percentile",),
    shape="reduce",
    smooth=False,
)

# ----- np.average's weights -----

# w shaped to broadcast against x (a 1-d w laid along axis): a reshape
declare(
    "along",
    ("w", "x"),
    "_along(w, x)",
    grads={"w": "np.reshape(g, np.shape(w))"},
    keywords={"axis": "None"},
    views=("w",),
    calls=("_along",),
    helper="_along",
    passthrough=True,
)

# ----- cumprod: exact where entries are zero (no division by x) -----


declare(
    "cumprod",
    ("x",),
    "np.cumprod(x)",
    grads={"x": "_cumprod_vjp(g, x=x, axis=axis)"},
    keywords={"axis": "None"},
    calls=("numpy.cumprod",),
    methods=("cumprod",),
)
# The gradient of cumprod, linear in v (x a keyword: no second derivative
# through x), and its transpose, each the other's adjoint.
declare(
    "cumprod_vjp",
    ("v",),
    "_cumprod_vjp(v)",
    grads={"v": "_cumprod_vjp_t(g, x=x, axis=axis)"},
    keywords={"x": "None", "axis": "None"},
    calls=("_cumprod_vjp",),
    helper="_cumprod_vjp",
)
declare(
    "cumprod_vjp_t",
    ("v",),
    "_cumprod_vjp_t(v)",
    grads={"v": "_cumprod_vjp(g, x=x, axis=axis)"},
    keywords={"x": "None", "axis": "None"},
    calls=("_cumprod_vjp_t",),
    helper="_cumprod_vjp_t",
)

# ----- trapezoid (unit or dx spacing): a weighted sum along axis -----

declare(
    "trapezoid",
    ("y",),
    "np.trapezoid(y)",
    grads={"y": "_trapezoid_vjp(g, np.shape(y), dx=dx, axis=axis)"},
    keywords={"dx": "1.0", "axis": "-1"},
    calls=("numpy.trapezoid",),
)
# Its gradient: g copied along axis, times dx, halved at the two ends;
# linear in v, with trapezoid itself as its adjoint.
declare(
    "trapezoid_vjp",
    ("v", "shape"),
    "_trapezoid_vjp(v, shape)",
    grads={"v": "np.trapezoid(g, dx=dx, axis=axis)"},
    keywords={"dx": "1.0", "axis": "-1"},
    calls=("_trapezoid_vjp",),
    helper="_trapezoid_vjp",
)

# ----- ufuncs -----

declare(
    "signbit",
    ("x",),
    "np.signbit(x)",
    calls=("numpy.signbit",),
    shape="same",
)
_UFUNC = {"broadcast": True, "shape": "broadcast", "smooth": False}
# z = heaviside(x, h): 0 below 0, h at 0, 1 above: only h at x = 0 moves z
declare(
    "heaviside",
    ("x", "y"),
    "np.heaviside(x, y)",
    grads={"y": "np.where(x == 0, g, 0)"},
    calls=("numpy.heaviside",),
    **_UFUNC,
)
# z = copysign(x, y) = |x| with y's sign:  dz/dx = sign(x) sign(y) (signs of
# zeros too)
declare(
    "copysign",
    ("x", "y"),
    "np.copysign(x, y)",
    grads={"x": "g * LIB.copysign(1.0, x) * LIB.copysign(1.0, y)"},
    forward="math.copysign(x, y)",
    calls=("numpy.copysign", "math.copysign"),
    **_UFUNC,
)
# z = fmod(x, y) = x - n y, n = trunc(x / y) (the sign of x):  dz/dy = -n,
# read back from z as fmod computed it: (x - z) / y is n to well under 1/2
# (np.trunc(1 / 0.1) is 10 where fmod's n is 9; x / y of Python floats would
# raise at y = 0, where z is nan)
declare(
    "fmod",
    ("x", "y"),
    "np.fmod(x, y)",
    grads={
        "x": "g",
        "y": lambda f: f"-g * {'np.round' if f.lib == 'np' else 'round'}((x - ans) / y)",
    },
    forward="math.fmod(x, y)",
    calls=("numpy.fmod", "math.fmod"),
    views=("x",),
    **_UFUNC,
)
# z = ldexp(x, n) = x 2^n (n an integer):  dz/dx = 2^n, exactly
declare(
    "ldexp",
    ("x", "y"),
    "np.ldexp(x, y)",
    grads={"x": "LIB.ldexp(g, y)"},
    forward="math.ldexp(x, y)",
    calls=("numpy.ldexp", "math.ldexp"),
    broadcast=True,
    shape="broadcast",
)


# ----- interp: piecewise linear in x, linear in fp -----


def _interp_transposed(f: Facts) -> str:
    # the transpose of fp -> interp(x, xp, fp): interp of g, whose constant
    # left and right values (when given) carry nothing
    left = "0.0" if f.kw["left"] != "None" else "None"
    right = "0.0" if f.kw["right"] != "None" else "None"
    return f"np.interp(x, xp, g, left={left}, right={right})"


_INTERP = {"xp": "None", "left": "None", "right": "None"}
declare(
    "interp",
    ("x", "fp"),
    "np.interp(x, fp=fp)",
    grads={
        "x": "_interp_vjp_x(g, x, xp=xp, fp=fp, left=left, right=right)",
        "fp": "_interp_vjp_fp(g, x, np.shape(fp), xp=xp, left=left, right=right)",
    },
    keywords=_INTERP,
    calls=("numpy.interp",),
    smooth=False,
)
# Their helpers: v times the slope (elementwise, its own transpose; fp a
# keyword, so no second derivative through fp), and the split of v between
# the knots (whose transpose is interp itself).
declare(
    "interp_vjp_x",
    ("v", "x"),
    "_interp_vjp_x(v, x)",
    grads={"v": "_interp_vjp_x(g, x, xp=xp, fp=fp, left=left, right=right)"},
    keywords={**_INTERP, "fp": "None"},
    calls=("_interp_vjp_x",),
    helper="_interp_vjp_x",
)
declare(
    "interp_vjp_fp",
    ("v", "x", "shape"),
    "_interp_vjp_fp(v, x, shape)",
    grads={"v": _interp_transposed},
    keywords=_INTERP,
    calls=("_interp_vjp_fp",),
    helper="_interp_vjp_fp",
)
