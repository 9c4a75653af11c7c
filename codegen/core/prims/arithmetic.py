"""Arithmetic and the routers: + - * / ** and unary -, abs, max, min."""

from __future__ import annotations

import ast
from dataclasses import replace

from codegen.core import ir
from codegen.core.primitive import PRIMITIVES, Facts, declare


def _pow_x(f: Facts) -> str | None:
    """d(x ** y)/dx = y x**(y - 1); a constant exponent is folded: 0 gives a
    known zero (no 0 ** -1 at x = 0), 1 gives g, 2 gives 2 x. A constant
    whose value the rule cannot compute (a module constant, ``N - 1``) is
    guarded as a variable one is: it may be 0."""
    y = f.const.get("y")
    value = None if y is None else _number(y)
    if value is not None:
        if value == 0:
            return None
        if value == 1:
            return "g"
        if value == 2:
            return "g * 2 * x"
    if f.lib == "np":
        # np.power where the forward may be np.power on a Python float, which
        # gives inf where ``**`` raises OverflowError; a float exponent, as an
        # int base to a negative int power is refused
        if value is not None:
            less = repr(float(value) - 1)
            return (
                f"g * y * {'np.square(x)' if less == '2.0' else f'np.power(x, {less})'}"
            )
        return "g * y * np.power(x, y - 1.0 + (y == 0))"
    if value is not None:
        return "g * y * x ** (y - 1)"
    # a variable exponent may be 0: x ** 0 = 1 has gradient 0, also at x = 0
    return "g * y * x ** (y - 1 + (y == 0))"


_ARITHMETIC = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)


def _number(text: str) -> int | float | None:
    """The value of a constant exponent written with numbers and arithmetic
    (``2``, ``-0.0``, ``(1 - 1)``, ``0x0``), or None (a name, a call)."""
    if len(text) > 200:  # x ** 1 ** 1 ** ...: a long chain is not read as a number
        return None
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float)) or isinstance(node.value, bool):
                return None
        elif not isinstance(node, _ARITHMETIC):
            return None
    try:  # numbers and arithmetic only (checked above)
        value = eval(
            compile(tree, "<exponent>", "eval"), {"__builtins__": {}}
        )  # noqa: S307
    except (ArithmeticError, ValueError, RecursionError):
        return None
    return value if isinstance(value, (int, float)) else None


def _pow_y(f: Facts) -> str:
    """d(x ** y)/dy = x**y log(x); where x = 0 (and y > 0) the true gradient
    is 0, so log reads 1 there instead of giving 0 * -inf."""
    base = ir.literal(f.const["x"]) if "x" in f.const else None
    if f.lib == "np" and isinstance(base, (int, float)) and base > 0:
        return f"g * ans * float(np.log({f.const['x']}))"  # float32 stays float32
    return f"g * ans * {f.lib}.log(x + (x == 0))"


def _abs_x(f: Facts) -> str:
    return "g * np.sign(x)" if f.lib == "np" else "g * (float(x > 0) - float(x < 0))"


declare(
    "add",
    ("x", "y"),
    "x + y",
    grads={"x": "g", "y": "g"},
    same="2 * g",
    operator="+",
    calls=("numpy.add",),
    broadcast=True,
    shape="broadcast",
    views=("x", "y"),
    symbol="+",
    tangents={"x": "dx", "y": "dy"},
)
declare(
    "sub",
    ("x", "y"),
    "x - y",
    grads={"x": "g", "y": "-g"},
    operator="-",
    calls=("numpy.subtract",),
    broadcast=True,
    shape="broadcast",
    views=("x",),
    symbol="-",
)
declare(
    "mul",
    ("x", "y"),
    "x * y",
    grads={"x": "g * y", "y": "g * x"},
    same="2 * g * x",
    operator="*",
    calls=("numpy.multiply",),
    broadcast=True,
    shape="broadcast",
    symbol="*",
    tangents={"x": "dx * y", "y": "x * dy"},
)
declare(
    "div",
    ("x", "y"),
    "x / y",
    # dz/dy = -x / y**2 = -z / y: squaring y overflows (or underflows) where
    # the gradient does not, as at x = 1e300, y = 1e155 (-1e-10, not -0.0)
    grads={"x": "g / y", "y": "-(g / y) * ans"},
    operator="/",
    calls=("numpy.divide", "numpy.true_divide"),
    broadcast=True,
    shape="broadcast",
    symbol="/",
)
declare(
    "pow",
    ("x", "y"),
    "x ** y",
    grads={"x": _pow_x, "y": _pow_y},
    operator="**",
    calls=("numpy.power", "pow"),  # pow(x, y) is x ** y
    broadcast=True,
    shape="broadcast",
    domain="positive",
    symbol="**",
)
# z = math.pow(x, y): x ** y as a float (math.pow refuses what would be complex)
declare(
    "math_pow",
    ("x", "y"),
    "math.pow(x, y)",
    forward="math.pow(x, y)",
    grads={"x": _pow_x, "y": _pow_y},
    calls=("math.pow",),
    shape="broadcast",
    domain="positive",
    symbol="**",
)


def _float_x(f: Facts) -> str:
    """z = float(x): g passes; an array of one entry gets g in its own shape."""
    return "g" if f.lib == "math" else "_unbroadcast(g, np.shape(x))"


# z = float(x): a Python float of a number, a 0-d or one-entry array
declare(
    "float",
    ("x",),
    "float(x)",
    forward="float(x)",
    grads={"x": _float_x},
    calls=("float",),
    symbol="float",
)
declare(
    "neg",
    ("x",),
    "-x",
    grads={"x": "-g"},
    calls=("numpy.negative",),
    shape="same",
    symbol="*-1",
)
declare(
    "copy",
    ("x",),
    "x",
    grads={"x": "g"},
    calls=("numpy.copy",),
    methods=("copy",),
    shape="same",
    views=("x",),
    symbol="=",
    passthrough=True,
)
# z = np.asarray(x): x itself when it is an array, else an array of it
declare(
    "asarray",
    ("x",),
    "np.asarray(x)",
    grads={"x": "g"},
    shape="same",
    views=("x",),
    view_result=True,
    symbol="=",
    passthrough=True,
)
# z = _copy(x): the generated modules' copy of a returned array (a number as
# it is), runtime/_copy.j2; a backward that returns one parses again
declare(
    "owned_copy",
    ("x",),
    "_copy(x)",
    grads={"x": "g"},
    calls=("_copy",),
    shape="same",
    views=("x",),
    symbol="=",
    passthrough=True,
    helper="_copy",
)
declare(
    "abs",
    ("x",),
    "np.abs(x)",
    forward="abs(x)",
    # |x|' = sign(x), 0 at x = 0 (scalar modules need no NumPy for it)
    grads={"x": _abs_x},
    calls=("numpy.abs", "numpy.absolute"),
    shape="same",
    smooth=False,
    symbol="abs",
)
# builtin abs, as written in NumPy modules too: of a Python int an int (np.abs
# would make it np.int64, which overflows and refuses negative powers)
declare(
    "pyabs",
    ("x",),
    "abs(x)",
    forward="abs(x)",
    grads={"x": _abs_x},
    calls=("abs",),
    shape="same",
    smooth=False,
    symbol="abs",
)
declare(
    "maximum",
    ("x", "y"),
    "np.maximum(x, y)",
    # the gradient goes to the larger input; ties go to x
    grads={"x": "g * (x >= y)", "y": "g * (x < y)"},
    calls=("numpy.maximum",),
    broadcast=True,
    shape="broadcast",
    smooth=False,
    symbol="max",
)
declare(
    "minimum",
    ("x", "y"),
    "np.minimum(x, y)",
    # the gradient goes to the smaller input; ties go to x
    grads={"x": "g * (x <= y)", "y": "g * (x > y)"},
    calls=("numpy.minimum",),
    broadcast=True,
    shape="broadcast",
    smooth=False,
    symbol="min",
)

# Python's max(x, y) and min(x, y) (of numbers): x unless y is larger
# (smaller), so ties and a NaN y go to x, a NaN x (returned) keeps it too
for _name, _beats in (("max", ">"), ("min", "<")):
    declare(
        _name,
        ("x", "y"),
        f"{_name}(x, y)",
        forward=f"{_name}(x, y)",
        grads={"x": f"g * (not y {_beats} x)", "y": f"g * (y {_beats} x)"},
        calls=(_name,),
        broadcast=True,
        shape="broadcast",
        view_result=True,  # it returns one of its operands, not a new array
        smooth=False,
        symbol=_name,
    )


def _ufunc_twins() -> None:
    """``np.add(x, y)`` is ``x + y`` with NumPy's result type: on two Python
    floats it gives a NumPy float (which, unlike a float, can be indexed).
    Each NumPy spelling is its operator's primitive, with the same adjoints,
    whose forward is the NumPy call."""
    for op, name, extra in (
        ("add", "add", ()),
        ("sub", "subtract", ()),
        ("mul", "multiply", ()),
        ("div", "divide", ("numpy.true_divide",)),
        ("pow", "power", ()),
        ("neg", "negative", ()),
    ):
        base = PRIMITIVES[op]  # keeps its builtin spelling: pow(x, y) is x ** y
        builtin = tuple(c for c in base.calls if not c.startswith("numpy."))
        PRIMITIVES[op] = replace(base, calls=builtin)
        args = ", ".join(base.fixed)
        PRIMITIVES[f"np_{name}"] = replace(
            base,
            op=f"np_{name}",
            forward_np=f"np.{name}({args})",
            forward="",
            calls=(f"numpy.{name}", *extra),
            operator=None,
        )


_ufunc_twins()
