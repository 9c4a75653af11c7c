"""Indexing: x[idx] (basic and integer-array), the functional update of
x[idx] = v, and the scatters their adjoints write (declared so that a
generated backward parses again)."""

from __future__ import annotations

from codegen.core.primitive import Facts, declare


def _index_consts(f: Facts) -> list[str | None]:
    """The index operands' texts (None for a computed one, e.g. an array)."""
    return [f.const.get(f"idx_{k}") for k in range(f.n)]


def advanced(f: Facts) -> bool:
    """True when an index operand is an array or a list: integer-array
    indexing, where positions may repeat."""
    return any(t is None or t.lstrip("(").startswith("[") for t in _index_consts(f))


def _getitem_x(f: Facts) -> str:
    """z = x[idx] (basic): g is written back into zeros at idx; an index of
    only ``:`` and None adds axes, undone by a reshape."""
    if all(t in (":", "None") for t in _index_consts(f)):
        return "np.reshape(g, np.shape(x))"
    return "_scatter(g, np.shape(x), np.s_[idx])"


def _setitem_v(f: Facts) -> str:
    """v gets g at idx; with an integer-array index only the last write to a
    position counts (NumPy keeps it), so earlier writes get no gradient. The
    write takes x's dtype: into integers (or booleans) it truncates, a step
    with no gradient, so where x is not provably floating
    (`codegen.core.flow`) the backward asks."""
    grad = "g[idx] * _last_write(g, np.s_[idx])" if advanced(f) else "g[idx]"
    if "x" in f.floating:
        return grad
    return f"{grad} * (np.result_type(x) == np.result_type(x, 0.5))"


declare(
    "getitem",
    ("x", "*idx"),
    "x[idx]",
    grads={"x": _getitem_x},
    views=("x",),  # x[None]'s gradient is a reshape of g
    view_result=True,
    passthrough=True,
    shape="getitem",
)
# z = x[idx] (integer-array indexing): g is added back at idx; repeats add up
declare(
    "gather",
    ("x", "*idx"),
    "x[idx]",
    grads={"x": "_scatter_add(g, np.shape(x), np.s_[idx])"},
    passthrough=True,
    shape="gather",
)
# z = x with z[idx] = v: x keeps the gradient outside idx, v gets g[idx]
declare(
    "setitem",
    ("x", "v", "*idx"),
    "_setitem(x, v, np.s_[idx])",
    grads={"x": "_setitem(g, 0.0, np.s_[idx])", "v": _setitem_v},
    views=("v",),  # g[idx]
    index_shaped=("v",),
    calls=("_setitem",),
    broadcast=True,
    shape="same",
    helper="_setitem",
)
declare(
    "scatter",
    ("v", "shape", "index"),
    "_scatter(v, shape, index)",
    grads={"v": "g[index]"},
    views=("v",),
    calls=("_scatter",),
    helper="_scatter",
)
declare(
    "scatter_add",
    ("v", "shape", "index"),
    "_scatter_add(v, shape, index)",
    grads={"v": "g[index]"},
    views=("v",),
    calls=("_scatter_add",),
    helper="_scatter_add",
)


def _add_at_v(f: Facts) -> str:
    """v gets g at index, summed to v's shape; nothing where x holds integers
    (each add is truncated there), which the backward asks unless proven."""
    grad = "_unbroadcast(g[index], np.shape(v))"
    if "x" in f.floating:
        return grad
    return f"{grad} * (np.result_type(x) == np.result_type(x, 0.5))"


# z = np.add.at(x, index, v) on a copy: x gets g, v gets g at index (summed
# back to v's shape where it broadcast)
declare(
    "add_at",
    ("x", "index", "v"),
    "_add_at(x, index, v)",
    grads={"x": "g", "v": _add_at_v},
    views=("x",),
    calls=("_add_at",),
    helper="_add_at",
)
