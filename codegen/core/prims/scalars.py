"""Python's and `math`'s functions of numbers beyond the elementwise ones:
sums and norms of several values, logarithms to a base, the error function,
the IEEE remainder, and the integer-valued functions (round, int, isqrt, ...),
which carry no gradient. Each forward is the call as written: its float is
the user's forward's, bit for bit (``math.fsum`` is not a chain of ``+``)."""

from __future__ import annotations

from codegen.core.primitive import Facts, declare

# z = fsum([x0, x1, ...]), the correctly rounded sum:  dz/dxi = 1
declare(
    "fsum",
    ("*xs",),
    "math.fsum(xs)",
    forward="math.fsum(xs)",
    grads={"xs": "g"},
    views=("xs",),  # g itself
    symbol="Σ",
)


def _hypot_xs(f: Facts) -> str:
    """z = hypot(x0, x1, ...) = sqrt(x0**2 + x1**2 + ...):  dz/dxi = xi / z,
    0 at the origin (a kink), as for abs."""
    return f"g * xs_{f.i} / (ans + (ans == 0))"


# math.hypot of one value or of three and more (of two: the `hypot` primitive)
declare(
    "hypot_n",
    ("*xs",),
    "math.hypot(*xs)",
    forward="math.hypot(*xs)",
    grads={"xs": _hypot_xs},
    smooth=False,
    symbol="hypot",
)
# z = log(x) / log(b), math.log with a base:  dz/dx = 1 / (x log b),
# dz/db = -log(x) / (b log(b)**2) = -z / (b log b)
declare(
    "log_base",
    ("x", "b"),
    "math.log(x, b)",
    forward="math.log(x, b)",
    grads={"x": "g / (x * LIB.log(b))", "b": "-g * ans / (b * LIB.log(b))"},
    domain="positive",
    symbol="log",
)
# z = erf(x):  dz/dx = 2 / sqrt(pi) exp(-x**2) (x * x overflows to inf far
# out, where exp(-inf) is the 0 the derivative is)
declare(
    "erf",
    ("x",),
    "math.erf(x)",
    forward="math.erf(x)",
    grads={"x": "g * (2 / LIB.sqrt(LIB.pi)) * LIB.exp(-(x * x))"},
    calls=("math.erf",),
)
# z = erfc(x) = 1 - erf(x):  dz/dx = -2 / sqrt(pi) exp(-x**2)
declare(
    "erfc",
    ("x",),
    "math.erfc(x)",
    forward="math.erfc(x)",
    grads={"x": "-g * (2 / LIB.sqrt(LIB.pi)) * LIB.exp(-(x * x))"},
    calls=("math.erfc",),
)
# z = remainder(x, y) = x - n y, n the integer nearest x / y (ties to even):
# dz/dx = 1, dz/dy = -n, n read back from the result
declare(
    "remainder_ieee",
    ("x", "y"),
    "math.remainder(x, y)",
    forward="math.remainder(x, y)",
    grads={"x": "g", "y": "-g * round((x - ans) / y)"},
    views=("x",),
    calls=("math.remainder",),
    smooth=False,
    symbol="rem",
)

# ----- integers: no gradient -----

# round(x) is an int; round(x, n) a float, piecewise constant
_SPELT = {"symbol": "round"}
declare(
    "builtin_round", ("x",), "round(x)", forward="round(x)", calls=("round",), **_SPELT
)
declare("builtin_round_to", ("x", "n"), "round(x, n)", forward="round(x, n)", **_SPELT)
declare("builtin_int", ("x",), "int(x)", forward="int(x)", calls=("int",), symbol="int")
for _name, _inputs in (
    ("isqrt", ("n",)),
    ("factorial", ("n",)),
    ("comb", ("n", "k")),
    ("perm", ("n", "k")),
):
    _args = ", ".join(_inputs)
    declare(
        _name,
        _inputs,
        f"math.{_name}({_args})",
        forward=f"math.{_name}({_args})",
        calls=(f"math.{_name}",),
    )
for _name in ("gcd", "lcm"):
    declare(
        _name,
        ("*xs",),
        f"math.{_name}(*xs)",
        forward=f"math.{_name}(*xs)",
        calls=(f"math.{_name}",),
    )
