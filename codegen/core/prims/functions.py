"""More elementary functions (hyperbolic, inverse trigonometric, logarithms
in other bases, arctan2, hypot, logaddexp, ...), the products cross and
kron, np.add.outer and its kin, and np.polyval; each in NumPy and, where `math` has it,
as its scalar twin."""

from __future__ import annotations

from collections.abc import Callable

from codegen.core.primitive import Adjoint, Facts, declare

# ----- elementary functions -----


def _float_log(form: str, base: int) -> Callable[[Facts], str]:
    """`form` with {log} the natural log of `base`: a Python float in NumPy
    modules (np.log(2) is a float64 scalar, which makes float32 float64)."""
    return lambda f: form.format(
        log=f"float(np.log({base}))" if f.lib == "np" else f"math.log({base})"
    )


def _unary(op: str, grad: Adjoint, math_name: str | None, **fields: object) -> None:
    """An elementwise function of one input; `math_name` its math twin."""
    calls: tuple[str, ...] = tuple(fields.pop("calls", (f"numpy.{op}",)))  # type: ignore[arg-type,call-overload]
    scalar = {}
    if math_name is not None:
        calls += (f"math.{math_name}",)
        scalar = {"forward": f"math.{math_name}(x)"}
    declare(
        op,
        ("x",),
        f"np.{op}(x)",
        grads={"x": grad},
        calls=calls,
        shape="same",
        **scalar,  # type: ignore[arg-type]
        **fields,
    )


# z = sinh(x):  dz/dx = cosh(x)
_unary("sinh", "g * LIB.cosh(x)", "sinh")
# z = cosh(x):  dz/dx = sinh(x)
_unary("cosh", "g * LIB.sinh(x)", "cosh")
# z = arcsinh(x):  dz/dx = 1 / sqrt(x**2 + 1), as hypot(x, 1) (x**2 overflows
# from |x| = 1e155, where the gradient is 1e-155)
_unary("arcsinh", "g / LIB.hypot(x, 1)", "asinh")
# z = arccosh(x), x > 1:  dz/dx = 1 / sqrt((x - 1)(x + 1))
_unary("arccosh", "g / LIB.sqrt((x - 1) * (x + 1))", "acosh", domain="positive")
# z = arctanh(x), |x| < 1:  dz/dx = 1 / (1 - x**2) = 1 / ((1 - x)(1 + x)),
# the product exact near |x| = 1, where 1 - x**2 cancels
_unary("arctanh", "g / ((1 - x) * (1 + x))", "atanh", domain="unit")
# z = arcsin(x), |x| < 1:  dz/dx = 1 / sqrt(1 - x**2)
_unary("arcsin", "g / LIB.sqrt((1 - x) * (1 + x))", "asin", domain="unit")
# z = arccos(x), |x| < 1:  dz/dx = -1 / sqrt(1 - x**2)
_unary("arccos", "-g / LIB.sqrt((1 - x) * (1 + x))", "acos", domain="unit")
# z = arctan(x):  dz/dx = 1 / (1 + x**2), as (1 / h) / h with h = hypot(1, x)
# (x**2 overflows from |x| = 1e155)
_unary("arctan", "g / LIB.hypot(1, x) / LIB.hypot(1, x)", "atan")
# z = log2(x):  dz/dx = 1 / (x log 2)
_unary("log2", _float_log("g / (x * {log})", 2), "log2", domain="positive")
# z = log10(x):  dz/dx = 1 / (x log 10)
_unary("log10", _float_log("g / (x * {log})", 10), "log10", domain="positive")
# z = 2**x:  dz/dx = 2**x log 2 = z log 2 (math.exp2: Python 3.11 and later)
_unary("exp2", _float_log("g * ans * {log}", 2), "exp2")
# z = exp(x) - 1:  dz/dx = exp(x) = z + 1
_unary("expm1", "g * (ans + 1)", "expm1")
# z = x ** (1/3) for every real x:  dz/dx = 1 / (3 z**2)  (infinite at 0)
_unary("cbrt", "g / (3 * ans * ans)", "cbrt")
# z = x pi / 180:  dz/dx = pi / 180
_unary(
    "deg2rad",
    "g * (LIB.pi / 180)",
    "radians",
    calls=("numpy.deg2rad", "numpy.radians"),
)
# z = x 180 / pi:  dz/dx = 180 / pi
_unary(
    "rad2deg",
    "g * (180 / LIB.pi)",
    "degrees",
    calls=("numpy.rad2deg", "numpy.degrees"),
)

_BINARY = {"broadcast": True, "shape": "broadcast"}

# z = arctan2(y, x), the angle of (x, y):  dz/dy = x / (x**2 + y**2),
# dz/dx = -y / (x**2 + y**2); divided twice by r = hypot(x, y), as the squares
# overflow from 1e155 and underflow below 1e-154 (a gradient of 5e169 at
# x = y = 1e-170 was inf)
declare(
    "arctan2",
    ("y", "x"),
    "np.arctan2(y, x)",
    forward="math.atan2(y, x)",
    grads={
        "y": "g * x / LIB.hypot(x, y) / LIB.hypot(x, y)",
        "x": "-g * y / LIB.hypot(x, y) / LIB.hypot(x, y)",
    },
    calls=("numpy.arctan2", "math.atan2"),
    **_BINARY,
)
# z = hypot(x, y) = sqrt(x**2 + y**2):  dz/dx = x / z, dz/dy = y / z; at the
# origin (a kink) 0, as for abs: x / (z + (z == 0)) reads 0 / 1 there
declare(
    "hypot",
    ("x", "y"),
    "np.hypot(x, y)",
    forward="math.hypot(x, y)",
    grads={"x": "g * x / (ans + (ans == 0))", "y": "g * y / (ans + (ans == 0))"},
    calls=("numpy.hypot", "math.hypot"),
    **_BINARY,
)
# z = log(exp(x) + exp(y)):  dz/dx = exp(x - z), dz/dy = exp(y - z)
declare(
    "logaddexp",
    ("x", "y"),
    "np.logaddexp(x, y)",
    grads={"x": "g * np.exp(x - ans)", "y": "g * np.exp(y - ans)"},
    calls=("numpy.logaddexp",),
    **_BINARY,
)
# z = log2(2**x + 2**y):  dz/dx = 2**(x - z), dz/dy = 2**(y - z)
declare(
    "logaddexp2",
    ("x", "y"),
    "np.logaddexp2(x, y)",
    grads={"x": "g * np.exp2(x - ans)", "y": "g * np.exp2(y - ans)"},
    calls=("numpy.logaddexp2",),
    **_BINARY,
)

# ----- products -----

# z = cross(a, b) along axisa, axisb (axis sets all three), the result's
# vectors along axisc:  <g, a x b> = <a, b x g> = <b, g x a>. The helpers move
# the vector axes last, pad 2-vectors with a zero as NumPy does (two
# 2-vectors give the third component only), sum over broadcast batch axes
# and move the axis back, so every axis combination NumPy accepts is one rule.
_CROSS_AXES = "axisa, axisb, axisc, axis"
declare(
    "cross",
    ("a", "b"),
    "np.cross(a, b)",
    grads={
        "a": f"_cross_vjp_a(g, a, b, {_CROSS_AXES})",
        "b": f"_cross_vjp_b(g, a, b, {_CROSS_AXES})",
    },
    keywords={"axisa": "-1", "axisb": "-1", "axisc": "-1", "axis": "None"},
    calls=("numpy.cross",),
)


def _kron(part: str):
    """z = kron(a, b): z[i p + k, j q + l] = a[i, j] b[k, l]. With g's axes
    split into (a's, b's) pairs, each operand's gradient contracts g with
    the other operand; for 1-d and 2-d operands of one rank."""

    def adjoint(f: Facts) -> str:
        ra, rb = f.rank.get("a"), f.rank.get("b")
        if ra == rb == 1:
            pairs = "(np.size(a), np.size(b))"
            split = f"np.reshape(g, {pairs})"
            return f"{split} @ b" if part == "a" else f"a @ {split}"
        if ra == rb == 2:
            dims = "(np.shape(a)[0], np.shape(b)[0], np.shape(a)[1], np.shape(b)[1])"
            spec = '"ikjl,kl->ij"' if part == "a" else '"ikjl,ij->kl"'
            other = "b" if part == "a" else "a"
            return f"np.einsum({spec}, np.reshape(g, {dims}), {other})"
        # any ranks: a's gradient sums g times b over each block (and b's, g
        # times a over each block position), through index maps of kron
        own, other = (part, "b" if part == "a" else "a")
        ids = f"np.reshape(np.arange(np.size({own})), np.shape({own}))"
        ones = f"np.ones(np.shape({other}), dtype=np.int64)"
        blocks = f"np.kron({ids}, {ones})" if part == "a" else f"np.kron({ones}, {ids})"
        spread = (
            f"np.kron(np.ones_like({own}), {other})"
            if part == "a"
            else f"np.kron({other}, np.ones_like({own}))"
        )
        return (
            f"np.reshape(_scatter_add(g * {spread}, (np.size({own}),), {blocks}),"
            f" np.shape({own}))"
        )

    return adjoint


declare(
    "kron",
    ("a", "b"),
    "np.kron(a, b)",
    grads={"a": _kron("a"), "b": _kron("b")},
    calls=("numpy.kron",),
)


# The helpers of cross's adjoint. Each is linear in v (the upstream gradient)
# and in the other operand: the transpose of h -> cross(h, b) (of
# h -> cross(a, h)), so its adjoint in v is that map, and in the other
# operand the other helper, as for matmul's helpers.
_CROSS_HELPER = ("v", "a", "b", "axisa", "axisb", "axisc", "axis")
_CROSS_KW = "axisa=axisa, axisb=axisb, axisc=axisc, axis=axis"
declare(
    "cross_vjp_a",
    _CROSS_HELPER,
    f"_cross_vjp_a(v, a, b, {_CROSS_AXES})",
    grads={
        "v": f"np.cross(g, b, {_CROSS_KW})",
        "b": f"_cross_vjp_b(v, g, b, {_CROSS_AXES})",
    },
    calls=("_cross_vjp_a",),
    helper="_cross_vjp_a",
)
declare(
    "cross_vjp_b",
    _CROSS_HELPER,
    f"_cross_vjp_b(v, a, b, {_CROSS_AXES})",
    grads={
        "v": f"np.cross(a, g, {_CROSS_KW})",
        "a": f"_cross_vjp_a(v, a, g, {_CROSS_AXES})",
    },
    calls=("_cross_vjp_b",),
    helper="_cross_vjp_b",
)


# z = fftshift(x, axes): each axis rolled by half its length; ifftshift rolls
# back (also for odd lengths), so each one's adjoint is the other
for _op, _back in (("fftshift", "ifftshift"), ("ifftshift", "fftshift")):
    declare(
        _op,
        ("x",),
        f"np.fft.{_op}(x)",
        grads={"x": f"np.fft.{_back}(g, axes)"},
        keywords={"axes": "None"},
        calls=(f"numpy.fft.{_op}",),
        shape="same",
        passthrough=True,
    )


# ----- np.<ufunc>.outer: every x entry with every y entry -----

#: g with x's entries down and y's across (z's axes are x's, then y's).
_G = "np.reshape(g, (np.size(x), np.size(y)))"
_OUTER = {
    # z[i, j] = x[i] + y[j]
    "add": ("np.sum({G}, axis=1)", "np.sum({G}, axis=0)"),
    "subtract": ("np.sum({G}, axis=1)", "-np.sum({G}, axis=0)"),
    # z[i, j] = x[i] y[j]
    "multiply": ("{G} @ np.ravel(y)", "np.ravel(x) @ {G}"),
    # z[i, j] = x[i] / y[j]:  dz/dy[j] = -x[i] / y[j]**2
    "divide": (
        "{G} @ (1 / np.ravel(y))",
        "-(np.ravel(x) @ {G}) / np.ravel(y) / np.ravel(y)",
    ),
}
for _ufunc, (_gx, _gy) in _OUTER.items():
    declare(
        f"{_ufunc}_outer",
        ("x", "y"),
        f"np.{_ufunc}.outer(x, y)",
        grads={
            "x": f"np.reshape({_gx.format(G=_G)}, np.shape(x))",
            "y": f"np.reshape({_gy.format(G=_G)}, np.shape(y))",
        },
        calls=(f"numpy.{_ufunc}.outer",),
    )


# ----- polynomials -----

# z = polyval(p, x) = p[0] x**(n-1) + ... + p[n-1]:  dz/dp[k] = x**(n-1-k);
# dz/dx = polyval(p') with p' = p[:-1] (n-1, ..., 1), the derivative's
# coefficients (none for a constant: polyval of [] is 0). Each coefficient
# may itself be an array (np.polyval([a, b], x)): NumPy broadcasts it with x.


def _polyval_p(f: Facts) -> str:
    # the integer powers in x's type (an int64 array would make float32 float64)
    powers = "np.arange(len(p) - 1, -1, -1).astype(np.result_type(x))"
    if f.rank.get("p") == 1:  # coefficients of numbers: one product
        return f"np.reshape(g, (-1,)) @ np.reshape(x, (-1, 1)) ** {powers}"
    # each coefficient broadcast with x: summed back with the coefficient
    # axis moved last, so that its own axes align on the right as NumPy's
    column = f"np.reshape({powers}, (-1,) + (1,) * np.ndim(g))"
    terms = (
        f"np.moveaxis(np.expand_dims(g, 0) * np.expand_dims(x, 0) ** {column}, 0, -1)"
    )
    shape = "np.shape(np.moveaxis(p, 0, -1))"
    return f"np.moveaxis(_unbroadcast({terms}, {shape}), -1, 0)"


def _polyval_x(f: Facts) -> str:
    steps = "np.arange(len(p) - 1, 0, -1).astype(np.result_type(p))"
    if f.rank.get("p") != 1:
        steps = f"np.reshape({steps}, (-1,) + (1,) * (np.ndim(p) - 1))"
    return f"g * np.polyval(p[:-1] * {steps}, x)"


declare(
    "polyval",
    ("p", "x"),
    "np.polyval(p, x)",
    grads={"p": _polyval_p, "x": _polyval_x},
    calls=("numpy.polyval",),
)
