"""The float twin (forward IR): a NumPy-spelled scalar function also gets a
``math`` version for calls on Python floats.

``1 / (1 + np.exp(-dot))`` on Python floats works, but every NumPy call on a
float costs a microsecond where ``math.exp`` costs tens of nanoseconds, and
the NumPy backward must sum gradients down to shapes it cannot know. When every
step of the function has a ``math`` form that computes the same float, or
raises where NumPy would return inf or nan, `float_twin` returns the function
as scalar code. The renderer then writes its value-and-grad as a private
``_<f>_value_and_grad_floats`` and makes ``<f>_value_and_grad`` call it when
every argument is a Python float (an ``int`` where the parameter is an
integer), falling back to the NumPy code when math raises: the result is
NumPy's in every case, and on floats it is as fast as math code.

What keeps the two equal is the op list below: arithmetic, integer powers and
the functions of `math` that raise (OverflowError, ZeroDivisionError,
ValueError) instead of returning inf or nan. ``max``/``min`` are not in it (on
NaN they keep the other operand where NumPy propagates NaN), nor are powers
with a fractional or unknown exponent (a negative float to such a power is a
complex number in Python and NaN in NumPy).
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import ir

#: Ops whose ``math`` form is a function of math that always returns a float,
#: and raises (OverflowError, ValueError) where NumPy gives inf or nan.
MATH_FLOAT_OPS = frozenset(
    {
        "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt",
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2", "hypot",
        "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "sigmoid",
        "deg2rad", "rad2deg",
    }
)  # fmt: skip
#: Ops whose ``math`` form computes NumPy's float, or raises where NumPy
#: gives inf or nan.
SAME_ON_FLOATS = MATH_FLOAT_OPS | {
    "add", "sub", "mul", "div", "neg", "const", "copy", "abs", "pyabs", "square", "pow",
}  # fmt: skip

#: The annotations a parameter of a twin may carry.
_NUMBER_ANNOTATIONS = (None, "float", "int")


def float_twin(fn: ir.Function) -> ir.Function | None:
    """`fn` as scalar (``math``) code for Python-float arguments, or None when
    it is already scalar code or some step could differ from NumPy on floats."""
    if not fn.array or not fn.params or fn.constants:
        return None
    ints = integer_params(fn)
    for p in fn.params:
        if p.annotation not in _NUMBER_ANNOTATIONS or p.keys:
            return None
        if p.default is not None and not _number(p.default):
            return None
    for step in fn.body:
        if step.op not in SAME_ON_FLOATS or step.kwargs or step.extra_targets:
            return None
        if step.op == "pow" and not _integer_exponent(step.args[1], ints):
            return None
    return replace(fn, array=False)


def integer_params(fn: ir.Function) -> frozenset[str]:
    """The parameters a twin takes as Python ints: annotated ``int``, or with
    an integer default."""
    return frozenset(
        p.name
        for p in fn.params
        if p.integer or (p.default is not None and _integer(p.default))
    )


def _integer_exponent(arg: ir.Operand, ints: frozenset[str]) -> bool:
    if isinstance(arg, ir.Const):
        return _integer(arg.text)
    return arg.name in ints


def _integer(text: str) -> bool:
    return text.strip("()").lstrip("+-").isdigit()


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
