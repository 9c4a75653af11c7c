"""Reductions: sum, mean, max, min, var, std (with ddof) over an axis (int or
tuple).

Each adjoint first puts the reduced axes back (`_expand`), so that the
upstream gradient broadcasts against x; with ``keepdims`` they are there.
"""

from __future__ import annotations

from codegen.core import ir
from codegen.core.primitive import Facts, declare
from codegen.core.prims.elementwise import through_cast

_AXIS = {"axis": "None", "keepdims": "False"}


def _kept(f: Facts) -> bool:
    return f.kw["axis"] == "None" or f.kw["keepdims"] in ("True", "1")


def _expand(name: str, f: Facts) -> str:
    """`name` with the reduced axes back in place (size 1). Leading axes
    (``axis=0``, ``(0, 1)``) need none: broadcasting puts them back on the
    left, also for a 0-d x, which NumPy reduces over axis 0 too."""
    if _kept(f) or leading_axes(f.kw["axis"]):
        return name
    return f"np.expand_dims({name}, axis)"


def leading_axes(axis: str) -> bool:
    """Whether `axis` (source text) names the leading axes 0, 1, ..., k."""
    value = ir.literal(axis)
    if isinstance(value, int) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, tuple) and value == tuple(range(len(value))) != ()


def _sum_x(f: Facts) -> str | None:
    # z = sum(x, axis):  dz/dx = 1, copied back along the summed axes (a
    # dtype= casts x first: no gradient through an integer sum)
    copied = f"np.broadcast_to({_expand('g', f)}, np.shape(x))"
    return through_cast(copied, f.kw.get("dtype"))


def _mean_x(f: Facts) -> str | None:
    # z = mean(x, axis):  dz/dx = 1 / n, n the number of entries averaged
    spread = f"np.broadcast_to({_expand('g', f)}, np.shape(x)) / {_count(f)}"
    return through_cast(spread, f.kw.get("dtype"))


def _max_x(f: Facts) -> str:
    # z = max(x, axis):  routes to the maxima; tied maxima share g equally;
    # where `initial` is larger than every entry, x gets none (count 0 -> 1)
    hit = f"(x == {_expand('ans', f)})"
    count = f"np.sum({hit}, axis=axis, keepdims=True, dtype=np.result_type(x))"
    if f.kw.get("initial", "None") != "None":
        count = f"np.maximum({count}, 1)"
    return f"{_expand('g', f)} * {hit} / {count}"


def _count(f: Facts) -> str:
    """The number of entries each result averages: all of x's for no axis;
    else size(x) / size(g), where an empty result (an empty batch) leaves
    no entry to average (max(..., 1): not 0 / 0)."""
    if f.kw["axis"] == "None":
        return "np.size(x)"
    return "(np.size(x) / max(np.size(g), 1))"


def _dof(f: Facts) -> str:
    """n - ddof, n the number of entries each result averages."""
    n = _count(f)
    return f"({n})" if f.kw["ddof"] in ("0", "0.0") else f"({n} - ddof)"


def _var_x(f: Facts) -> str:
    # z = var(x, axis, ddof) = sum((x - mean(x))**2) / (n - ddof):
    # dz/dx = 2 (x - mean(x)) / (n - ddof) (the mean's own term sums to 0)
    centred = "(x - np.mean(x, axis=axis, keepdims=True))"
    return f"{_expand('g', f)} * 2 * {centred} / {_dof(f)}"


def _std_x(f: Facts) -> str:
    # z = std(x, axis, ddof) = sqrt(var(x, ddof)):  dz/dx = (x - mean(x)) /
    # ((n - ddof) z); where z = 0 every x - mean(x) is 0 too and the gradient
    # is 0, not 0 / 0.
    centred = "(x - np.mean(x, axis=axis, keepdims=True))"
    std = _expand("ans", f)
    safe = f"np.where({std} == 0, 1.0, {std})"
    return f"{_expand('g', f)} * {centred} / ({_dof(f)} * {safe})"


declare(
    "sum",
    ("x",),
    "np.sum(x)",
    grads={"x": _sum_x},
    keywords={**_AXIS, "dtype": "None"},
    calls=("numpy.sum",),
    methods=("sum",),
    shape="reduce",
    views=("x",),
)
declare(
    "mean",
    ("x",),
    "np.mean(x)",
    grads={"x": _mean_x},
    keywords={**_AXIS, "dtype": "None"},
    calls=("numpy.mean",),
    methods=("mean",),
    shape="reduce",
)
declare(
    "amax",
    ("x",),
    "np.max(x)",
    grads={"x": _max_x},
    keywords={**_AXIS, "initial": "None"},
    calls=("numpy.max", "numpy.amax"),
    methods=("max",),
    shape="reduce",
    smooth=False,
)
declare(
    "amin",
    ("x",),
    "np.min(x)",
    grads={"x": _max_x},  # the same routing, to the minima
    keywords={**_AXIS, "initial": "None"},
    calls=("numpy.min", "numpy.amin"),
    methods=("min",),
    shape="reduce",
    smooth=False,
)
declare(
    "var",
    ("x",),
    "np.var(x)",
    grads={"x": _var_x},
    keywords={**_AXIS, "ddof": "0"},
    calls=("numpy.var",),
    methods=("var",),
    shape="reduce",
)
declare(
    "std",
    ("x",),
    "np.std(x)",
    grads={"x": _std_x},
    keywords={**_AXIS, "ddof": "0"},
    calls=("numpy.std",),
    methods=("std",),
    shape="reduce",
)


def _cumsum_x(f: Facts) -> str:
    # z = cumsum(x, axis): z_i = sum of x_j for j <= i, so dz/dx_j sums g_i
    # over i >= j: the total of g, less its running sum, plus g itself
    if f.kw["axis"] == "None":  # cumsum of the flattened x
        return "np.reshape(np.sum(g) - np.cumsum(g) + g, np.shape(x))"
    summed = "np.sum(g, axis=axis, keepdims=True) - np.cumsum(g, axis=axis) + g"
    if (f.rank.get("x") or 0) < 1 and ir.literal(f.kw["axis"]) in (0, -1):
        return f"np.reshape({summed}, np.shape(x))"  # a 0-d x gives shape (1,)
    return summed


declare(
    "cumsum",
    ("x",),
    "np.cumsum(x)",
    grads={"x": _cumsum_x},
    keywords={"axis": "None"},
    calls=("numpy.cumsum",),
    methods=("cumsum",),
)
