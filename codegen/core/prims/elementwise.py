"""Elementary functions and the elementwise NumPy ops (exp ... clip, where)."""

from __future__ import annotations

from codegen.core.primitive import Facts, declare


def _unary(op: str, grad: str, **fields: object) -> None:
    """A function of one input available in both ``math`` and ``numpy``."""
    calls = tuple(fields.pop("calls", ())) + (f"math.{op}", f"numpy.{op}")  # type: ignore[arg-type]
    declare(
        op,
        ("x",),
        f"np.{op}(x)",
        forward=f"math.{op}(x)",
        grads={"x": grad},
        calls=calls,
        shape="same",
        **fields,
    )


# z = exp(x):  dz/dx = exp(x) = z
_unary("exp", "g * ans", tangents={"x": "dx * ans"})
# z = log(x):  dz/dx = 1 / x
_unary("log", "g / x", domain="positive")
# z = sqrt(x):  dz/dx = 1 / (2 sqrt(x)) = 1 / (2 z)
_unary("sqrt", "g / (2 * ans)", domain="positive")
# z = sin(x):  dz/dx = cos(x)
_unary("sin", "g * LIB.cos(x)")
# z = cos(x):  dz/dx = -sin(x)
_unary("cos", "-g * LIB.sin(x)")
# z = tan(x):  dz/dx = 1 + tan(x)**2 = 1 + z**2
_unary("tan", "g * (1 + ans ** 2)", domain="unit")
# z = tanh(x):  dz/dx = 1 - tanh(x)**2 = 1 - z**2
_unary("tanh", "g * (1 - ans ** 2)")
# z = log(1 + x):  dz/dx = 1 / (1 + x)
_unary("log1p", "g / (1 + x)", domain="positive")

# z = sigmoid(x) = 1 / (1 + exp(-x)):  dz/dx = (1 - z) z. Recognised by parse
# in a helper that computes 1 / (1 + exp(-x)); the lectures' closed form.
declare(
    "sigmoid",
    ("x",),
    "1 / (1 + np.exp(-x))",
    # math returns a float: with float literals CPython converts no int (the
    # same number, a third faster)
    forward="1.0 / (1.0 + math.exp(-x))",
    grads={"x": "g * (1 - ans) * ans"},
    shape="same",
    symbol="σ",
)
# z = x**2:  dz/dx = 2 x
declare(
    "square",
    ("x",),
    "np.square(x)",
    forward="x ** 2",
    grads={"x": "g * 2 * x"},
    calls=("numpy.square",),
    shape="same",
)


def _clip(part: str):
    """clip(x, lo, hi) passes g to x inside [lo, hi] (bounds included), to lo
    where x is below it and to hi where x is above it (and everywhere when
    lo > hi, where NumPy returns hi); a None bound is absent."""

    def adjoint(f: Facts) -> str | None:
        lo, hi = f.const.get("lo") != "None", f.const.get("hi") != "None"
        if part == "x":
            factors = ["g"] + ["(x >= lo)"] * lo + ["(x <= hi)"] * hi
            return " * ".join(factors)
        if part == "lo":  # where lo > hi NumPy returns hi: lo has no effect
            if not lo:
                return None
            return "g * (x < lo) * (lo <= hi)" if hi else "g * (x < lo)"
        if not hi:
            return None
        # hi wins where x is above it, and everywhere when lo > hi
        return "g * ((x > hi) + (x <= hi) * (lo > hi))" if lo else "g * (x > hi)"

    return adjoint


declare(
    "clip",
    ("x", "lo", "hi"),
    "np.clip(x, lo, hi)",
    forward="min(max(x, lo), hi)",
    grads={"x": _clip("x"), "lo": _clip("lo"), "hi": _clip("hi")},
    calls=("numpy.clip",),
    methods=("clip",),
    broadcast=True,
    shape="broadcast",
    smooth=False,
)
# z = where(c, x, y):  the gradient goes to x where c holds, to y elsewhere
declare(
    "where",
    ("c", "x", "y"),
    "np.where(c, x, y)",
    grads={"x": "np.where(c, g, 0.0)", "y": "np.where(c, 0.0, g)"},
    calls=("numpy.where",),
    broadcast=True,
    shape="broadcast",
    smooth=False,
)


_FLOAT_TYPES = frozenset(
    {"float", "np.float64", "np.float32", "np.float16", "'float64'", "'float32'"}
)
_EXACT_TYPES = frozenset(
    {"int", "bool", "np.int64", "np.int32", "np.int8", "np.uint8", "np.bool_"}
    | {"'int64'", "'int32'", "'bool'"}
)


def through_cast(grad: str, spelled: str | None) -> str | None:
    """`grad` through a cast to the dtype spelled `spelled` (None: no cast):
    it passes where the type is a float type; a cast to integers or booleans
    is piecewise constant (no gradient); for a type known only at run time
    (``mask.astype(x.dtype)``) the backward tells which it is."""
    if spelled in _FLOAT_TYPES or spelled in (None, "None"):
        return grad
    if spelled in _EXACT_TYPES:
        return None
    return f"{grad} * (np.result_type(ans) == np.result_type(ans, 0.5))"


def _astype_x(f: Facts) -> str | None:
    """z = x.astype(t): g through the cast (`through_cast`)."""
    return through_cast("g", f.const.get("dtype") or "?")


# z = np.float64(x), np.float32(x): a cast to a float type passes g through
# (of a Python float, a NumPy scalar; of an array, an array)
for _bits in (64, 32):
    declare(
        f"float{_bits}",
        ("x",),
        f"np.float{_bits}(x)",
        grads={"x": "g"},
        calls=(f"numpy.float{_bits}",),
        shape="same",
        views=("x",),  # g itself: copied before it is returned
    )

# z = x.astype(dtype): a cast; float to float passes g through
declare(
    "astype",
    ("x", "dtype"),
    "x.astype(dtype)",
    grads={"x": _astype_x},
    methods=("astype",),
    shape="same",
    keywords={"copy": "True"},  # False: x itself when it has the dtype already
    views=("x",),  # g itself through a float cast
)
