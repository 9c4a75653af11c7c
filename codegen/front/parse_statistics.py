"""Statistics and matrix-chain spellings for the parse pass, written as the
primitives of codegen/core/prims/statistics.py and linalg.py:

* ``np.ptp(x, axis)``: ``np.max(x, axis) - np.min(x, axis)``;
* ``np.average(x, axis, weights)``: ``np.mean`` without weights; with them
  ``np.sum(x * w, axis) / np.sum(w, axis)``, a 1-d w along `axis` first
  reshaped to lie along it (the `along` step);
* ``np.median``, ``np.quantile``, ``np.percentile``: their primitives, with
  an integer or no axis, one quantile given as a number, NumPy's 'linear'
  method;
* ``np.linalg.multi_dot([a, b, c])``: ``a @ b @ c``;
* ``np.linalg.lstsq(a, b, rcond)``: a step per output (x, the residuals,
  the rank, the singular values), of which unused ones are dropped;
* ``np.linalg.matrix_power(a, n)``, n an integer literal: the products
  NumPy itself forms (binary powers; of ``inv(a)`` for n < 0).

`SIGNATURES` holds their NumPy signatures (those of declared primitives
join the parse pass's table, `codegen.front.parse_calls`), `LOWERED` their
lowerings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import libcst as cst

from codegen.core import ir
from codegen.core.rules import CALLS as DECLARED_CALLS
from codegen.core.rules import RULES
from codegen.front.parse_calls import FUNCTIONS, METHODS
from codegen.front.parse_stacking import _arguments as _bound
from codegen.front.parse_stacking import _is_int, _literal, _needed, _short

_REDUCE = "a=x, axis, out=?, keepdims"
_NAN_STATS = (
    "a=x, axis, dtype=?, out=?, ddof, keepdims, *, where=!, mean=!, correction=!"
)
_QUANTILE = "a=x, q, axis, out=?, overwrite_input=!, method, keepdims, *, weights=!"
_UFUNC_1 = "x, /, out=?"
_UFUNC_2 = "x1=x, x2=y, /, out=?"

#: NumPy signatures of the spellings written here.
SIGNATURES: dict[str, str] = {
    "numpy.ptp": _REDUCE,
    "numpy.average": "a=x, axis, weights=w, returned=!, *, keepdims",
    "numpy.nansum": "a=x, axis, dtype=?, out=?, keepdims, initial=!, where=!",
    "numpy.nanmean": "a=x, axis, dtype=?, out=?, keepdims, *, where=!",
    **{
        f"numpy.{f}": "a=x, axis, out=?, keepdims, initial=!, where=!"
        for f in ("nanmax", "nanmin")
    },
    "numpy.nanvar": _NAN_STATS,
    "numpy.nanstd": _NAN_STATS,
    "numpy.median": "a=x, axis, out=?, overwrite_input=!, keepdims",
    "numpy.quantile": _QUANTILE,
    "numpy.percentile": _QUANTILE,
    "numpy.cumprod": "a=x, axis, dtype=?, out=?",
    "numpy.interp": "x, xp, fp, left, right, period=?",
    "numpy.trapezoid": "y, x=?, dx, axis",
    "numpy.linalg.multi_dot": "arrays=[*xs], *, out=?",
    "numpy.linalg.lstsq": "a, b, rcond",
    "numpy.linalg.matrix_power": "a=x, n",
}


def _arguments(b: Any, what: str, node: cst.Call) -> dict[str, cst.Arg]:
    return _bound(b, what, node, SIGNATURES)


FUNCTIONS.update({k: v for k, v in SIGNATURES.items() if k in DECLARED_CALLS})
FUNCTIONS["numpy.signbit"] = _UFUNC_1
FUNCTIONS.update(
    {f"numpy.{f}": _UFUNC_2 for f in ("heaviside", "copysign", "fmod", "ldexp")}
)
METHODS.setdefault("cumprod", "axis, dtype=?, out=?")


def _reduce_kwargs(b: Any, args: dict[str, cst.Arg]) -> list[tuple[str, ir.Operand]]:
    """The axis and keepdims operands given, in that order."""
    kwargs = [(k, b.expr(args[k].value)) for k in ("axis", "keepdims") if k in args]
    return [(k, b.keepdims(v, args[k]) if k == "keepdims" else v) for k, v in kwargs]


def _ptp(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.ptp(x, axis) is np.max(x, axis) - np.min(x, axis)."""
    args = _arguments(b, what, node)
    x = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    kwargs = _reduce_kwargs(b, args)
    top = b.emit("amax", (x,), node, None, kwargs)
    bottom = b.emit("amin", (x,), node, None, kwargs)
    return b.emit("sub", (top, bottom), node, name)


def _average(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.average: the mean, or the weighted sum over the sum of weights."""
    args = _arguments(b, what, node)
    x = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    kwargs = _reduce_kwargs(b, args)
    weights = b.expr(args["w"].value) if "w" in args else ir.Const("None")
    if isinstance(weights, ir.Const) and weights.text == "None":
        return b.emit("mean", (x,), node, name, kwargs)
    axis = dict(kwargs).get("axis", ir.Const("None"))
    w = b.emit("along", (b.as_array(weights, node), x), node, None, (("axis", axis),))
    total = b.emit("sum", (b.emit("mul", (x, w), node, None),), node, None, kwargs)
    return b.emit("div", (total, b.emit("sum", (w,), node, None, kwargs)), node, name)


def _axis_checked(b: Any, what: str, args: dict[str, cst.Arg]) -> None:
    """Median and quantiles along one integer axis, or of x flattened."""
    if "axis" not in args:
        return
    axis = b.expr(args["axis"].value)
    if isinstance(axis, ir.Const) and (axis.text == "None" or _is_int(_literal(axis))):
        return
    raise b.mod.error(
        f"'{_short(what)}' needs its axis as an integer literal or None here",
        args["axis"],
        f"give one axis, {_short(what)}(x, axis=0), or move the axes together "
        "and reshape first",
    )


def _median(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    _axis_checked(b, what, _arguments(b, what, node))
    return b.call_op("median", what, node, name)


def _quantile(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.quantile / np.percentile of one q given as a number, 'linear'."""
    args = _arguments(b, what, node)
    _axis_checked(b, what, args)
    q = _literal(b.expr(_needed(b, args, "q", what, node)))
    if not isinstance(q, (int, float)) or isinstance(q, bool):
        raise b.mod.error(
            f"'{_short(what)}' needs q as a number here",
            args["q"],
            f"give one quantile as a literal, {_short(what)}(x, 0.25); for several, "
            "one call each",
        )
    if "method" in args and _literal(b.expr(args["method"].value)) != "linear":
        raise b.mod.error(
            f"'{_short(what)}' supports the method 'linear' (NumPy's default) only",
            args["method"],
            "leave method at its default",
        )
    return b.call_op(what.split(".")[-1], what, node, name)


def _multi_dot(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.linalg.multi_dot([a, b, c]) as a @ b @ c."""
    args = _arguments(b, what, node)
    xs = b.array_sequence(_needed(b, args, "xs", what, node), what)
    if len(xs) < 2:
        raise b.mod.error(
            "np.linalg.multi_dot needs at least two arrays", node, "give a list of two"
        )
    acc = xs[0]
    for k, nxt in enumerate(xs[1:], start=2):
        acc = b.emit("matmul", (acc, nxt), node, name if k == len(xs) else None)
    return acc


def _lstsq(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.linalg.lstsq(a, b, rcond): its four outputs, one step each (x =
    pinv(a) b, the residuals, the rank, the singular values of a)."""
    args = _arguments(b, what, node)
    a, rhs = (b.as_array(b.expr(_needed(b, args, k, what, node)), node) for k in "ab")
    rcond = b.expr(args["rcond"].value) if "rcond" in args else ir.Const("None")
    ops = ("lstsq", "lstsq_residuals", "lstsq_rank", "lstsq_s")
    parts = [b.emit(op, (a, rhs, rcond), node, None) for op in ops]
    return b.pack(parts, node, name)


def _matrix_power(b: Any, what: str, node: cst.Call, name: str | None) -> ir.Operand:
    """np.linalg.matrix_power(a, n) as NumPy forms it: a, a @ a, (a @ a) @ a
    for n = 1, 2, 3; beyond, the product of the binary powers a^(2^k) of n's
    bits; of inv(a) for n < 0."""
    args = _arguments(b, what, node)
    a = b.as_array(b.expr(_needed(b, args, "x", what, node)), node)
    n = _literal(b.expr(_needed(b, args, "n", what, node)))
    if not _is_int(n) or n == 0:
        raise b.mod.error(
            "np.linalg.matrix_power needs its power as a nonzero integer literal",
            args["n"],
            "write the power as a number, matrix_power(a, 3) (n = 0 is the "
            "identity, which has no gradient: write np.eye)",
        )
    assert isinstance(n, int)
    if n < 0:
        a, n = b.emit("inv", (a,), node, name if n == -1 else None), -n
        if n == 1:
            return a
    if n == 1:  # a new array, as NumPy's
        copy = b.emit("copy", (a,), node, name)
        b.fresh_memory(copy.name)
        return copy
    # the products as NumPy forms them, by their operands' indices in `made`
    products: list[tuple[int, int]] = []
    if n <= 3:
        products = [(0, 0)] + ([(1, 0)] if n == 3 else [])
    else:
        z, result = 0, None  # indices in `made` of a^(2^k), of the product so far
        for bit_index in range(n.bit_length()):
            if bit_index:  # a^(2^k) = a^(2^(k-1)) @ a^(2^(k-1))
                products.append((z, z))
                z = len(products)
            n, bit = divmod(n, 2)
            if bit and result is None:
                result = z
            elif bit:
                assert result is not None
                products.append((result, z))
                result = len(products)
    made = [a]
    for k, (i, j) in enumerate(products):
        last = k == len(products) - 1
        made.append(b.emit("matmul", (made[i], made[j]), node, name if last else None))
    return made[-1]


#: What a masked-out entry counts as in each reduction (amax, amin: `initial`).
_NEUTRAL = {"sum": "0", "mean": "0", "prod": "1"}


def masked(b: Any, op: str, values: dict[str, Any], node: cst.Call, name: str | None):
    """``np.sum(x, where=m)`` (mean, prod, max and min too): the reduction of
    ``np.where(m, x, e)``, e the reduction's neutral value (max and min: their
    `initial`, which NumPy requires with a mask); the mean divides by the
    number of entries selected."""
    x, mask = values["x"], values["where"]
    kwargs = {k: values[k] for k in RULES[op].keywords if k in values}
    if "keepdims" in kwargs:
        kwargs["keepdims"] = b.keepdims(kwargs["keepdims"], node)
    if op in ("amax", "amin") and "initial" not in kwargs:
        raise b.mod.error(
            f"'{op[1:]}' with a where= mask needs an initial value, as NumPy does",
            node,
            "give initial=, np.max(x, where=m, initial=-np.inf)",
        )
    fill = kwargs["initial"] if op in ("amax", "amin") else ir.Const(_NEUTRAL[op])
    selected = b.emit("where", (mask, x, fill), node, None)
    ordered = tuple((k, kwargs[k]) for k in RULES[op].keywords if k in kwargs)
    if op != "mean":
        return b.emit(op, (selected,), node, name, ordered)
    total = b.emit("sum", (selected,), node, None, ordered)
    ones = b.emit("ones_like", (x,), node, None)
    count = b.emit(
        "sum", (b.emit("where", (mask, ones, fill), node, None),), node, None, ordered
    )
    return b.emit("div", (total, count), node, name)


#: Spellings lowered here -> lowering(builder, canonical name, call, name).
LOWERED: dict[str, Callable[[Any, str, cst.Call, str | None], ir.Operand]] = {
    "numpy.ptp": _ptp,
    "numpy.average": _average,
    "numpy.median": _median,
    "numpy.quantile": _quantile,
    "numpy.percentile": _quantile,
    "numpy.linalg.multi_dot": _multi_dot,
    "numpy.linalg.matrix_power": _matrix_power,
    "numpy.linalg.lstsq": _lstsq,
}
