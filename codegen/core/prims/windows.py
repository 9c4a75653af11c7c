"""Convolution and pooling: np.pad, sliding_window_view (with strides taken
by slicing it), reductions over small pooling windows
(`codegen/front/parse_windows.py` recognises them), and the 1-d np.convolve
and np.correlate."""

from __future__ import annotations

from codegen.core.primitive import Facts, declare
from codegen.core.prims.reductions import _mean_x, _sum_x
from codegen.errors import CodegenError

SLIDING_WINDOW_VIEW = "numpy.lib.stride_tricks.sliding_window_view"
_AXIS = {"axis": "None", "keepdims": "False"}

# z = pad(x, pad_width) (constant mode):  x gets the interior of g
declare(
    "pad",
    ("x", "pad_width"),
    "np.pad(x, pad_width)",
    grads={"x": "_unpad(g, pad_width)"},
    keywords={"mode": "None", "constant_values": "None"},
    calls=("numpy.pad",),
    views=("x",),
)
declare(
    "unpad",
    ("x", "pad_width"),
    "_unpad(x, pad_width)",
    grads={"x": "np.pad(g, pad_width)"},
    calls=("_unpad",),
    views=("x",),
    view_result=True,  # the interior of x
    helper="_unpad",
)
# z = sliding_window_view(x, window_shape, axis): every window adds its
# gradient back where it read x (col2im), one shifted add per window offset
declare(
    "sliding_window_view",
    ("x", "window_shape"),
    "np.lib.stride_tricks.sliding_window_view(x, window_shape)",
    grads={"x": "_unwindow(g, x, window_shape, axis, ())"},
    keywords={"axis": "None"},
    calls=(SLIDING_WINDOW_VIEW,),
    view_result=True,
)
# z = sliding_window_view(x, window_shape, axis)[idx] (strides): the same,
# added straight at the strided positions
declare(
    "strided_windows",
    ("x", "window_shape", "*idx"),
    "_windows(x, window_shape, np.s_[idx])",
    grads={"x": "_unwindow(g, x, window_shape, axis, np.s_[idx])"},
    keywords={"axis": "None"},
    calls=("_windows",),
    view_result=True,
    helper="_windows",
)
# z = max(x, axis) over small pooling windows: routes to the maxima; tied
# maxima share the gradient equally (np.max's rule), slice by slice
declare(
    "pool_max",
    ("x",),
    "_pool_max(x)",
    forward="np.max(x)",
    grads={"x": "_pool_route(g, x, ans, axis, keepdims)"},
    keywords=_AXIS,
    calls=("_pool_max",),
    smooth=False,
    shape="reduce",
    helper="_pool_max",
)
declare(
    "pool_mean",
    ("x",),
    "_pool_mean(x)",
    forward="np.mean(x)",
    grads={"x": _mean_x},  # np.mean's adjoint
    keywords=_AXIS,
    calls=("_pool_mean",),
    shape="reduce",
    helper="_pool_mean",
)
declare(
    "pool_sum",
    ("x",),
    "_pool_sum(x)",
    forward="np.sum(x)",
    grads={"x": _sum_x},  # np.sum's adjoint
    keywords=_AXIS,
    calls=("_pool_sum",),
    views=("x",),
    shape="reduce",
    helper="_pool_sum",
)
# The adjoints above, declared so that a generated backward parses again.
# _unwindow adds window gradients back into x's shape: linear in v, so its
# adjoint takes the same windows of g.
declare(
    "unwindow",
    ("v", "x", "window_shape", "axis", "index"),
    "_unwindow(v, x, window_shape, axis, index)",
    grads={"v": "_windows(g, window_shape, index, axis=axis)"},
    views=("v",),  # windows of g
    calls=("_unwindow",),
    helper="_unwindow",
)
# _pool_route sends each window's gradient to its maxima: linear in v, so its
# adjoint sums g times each entry's share of its window's gradient.
declare(
    "pool_route",
    ("v", "x", "ans", "axis", "keepdims"),
    "_pool_route(v, x, ans, axis, keepdims)",
    grads={
        "v": "_pool_sum(g * _pool_share(x, ans, axis, keepdims),"
        " axis=axis, keepdims=keepdims)"
    },
    calls=("_pool_route",),
    helper="_pool_route",
)
# The share of its window's gradient each entry gets (1 / ties at a maximum).
declare(
    "pool_share",
    ("x", "ans", "axis", "keepdims"),
    "_pool_share(x, ans, axis, keepdims)",
    calls=("_pool_share",),
    helper="_pool_share",
)


# ----- 1-d convolution and correlation -----

_N, _M = "np.size(a)", "np.size(v)"
#: Where mode's output starts in the full one (NumPy's centring, checked for
#: every length pair up to 7 by tests/test_convolve.py).
_START = {
    ("convolve", "full"): "0",
    ("convolve", "valid"): f"min({_N}, {_M}) - 1",
    ("convolve", "same"): f"(min({_N}, {_M}) - 1) // 2",
    ("correlate", "full"): "0",
    ("correlate", "valid"): f"min({_N}, {_M}) - 1",
    # NumPy centres a longer v from the other end
    (
        "correlate",
        "same",
    ): f"({_M} - 1) // 2 * ({_N} >= {_M}) + {_N} // 2 * ({_N} < {_M})",
}


def _mode(f: Facts) -> str:
    text = f.kw["mode"].strip("'\"")
    if text not in ("full", "valid", "same"):
        raise CodegenError(
            f"mode={f.kw['mode']}: give 'full', 'valid' or 'same' as a literal",
            None,
            "the mode decides which entries of the full result are kept",
        )
    return text


def _full(op: str, f: Facts) -> str:
    """g put back in the full result's place: zeros where mode cut it off."""
    mode = _mode(f)
    if mode == "full":
        return "g"
    lo = _START[(op, mode)]
    return f"np.pad(g, ({lo}, {_N} + {_M} - 1 - ({lo}) - np.size(g)))"


def _convolve(part: str):
    """z = convolve(a, v), the full z[k] = sum_i a[i] v[k - i] cut to mode:
    a's gradient correlates the full g with v (v's, with a), each 'valid'."""

    def adjoint(f: Facts) -> str:
        other = "v" if part == "a" else "a"
        return f"np.reshape(np.correlate({_full('convolve', f)}, {other}), np.shape({part}))"

    return adjoint


def _correlate(part: str):
    """z = correlate(a, v) = convolve(a, v[::-1]) in full, cut to mode."""

    def adjoint(f: Facts) -> str:
        g = _full("correlate", f)
        if part == "a":
            return f"np.reshape(np.correlate({g}, v[::-1]), np.shape(a))"
        return f"np.reshape(np.correlate({g}, a)[::-1], np.shape(v))"

    return adjoint


for _op, _rule, _default in (
    ("convolve", _convolve, "'full'"),
    ("correlate", _correlate, "'valid'"),
):
    declare(
        _op,
        ("a", "v"),
        f"np.{_op}(a, v)",
        grads={"a": _rule("a"), "v": _rule("v")},
        keywords={"mode": _default},
        calls=(f"numpy.{_op}",),
    )
