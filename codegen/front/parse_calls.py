"""NumPy call signatures for the parse pass: which argument of a call, given
by position or by keyword, is which operand of its rule.

Each spelling's signature is written the way Python prints one, with NumPy's
parameter names in NumPy's order (``tests/test_issue13_front.py`` checks them
against ``inspect.signature`` of the installed NumPy):

* ``name`` or ``name=operand``: NumPy's parameter `name` is the rule's input
  or keyword `operand` (the same name when there is no ``=``);
* ``name=!``: a parameter codegen does not support (``order``, ``where``); an
  argument given there is refused, never taken for another operand;
* ``name=?``: the same for a parameter whose NumPy default is None
  (``out``, ``dtype``), except that an explicit None is accepted;
* ``name=[*xs]``: a list or tuple of arrays (``np.concatenate([a, b], 0)``),
  spread into the rule's variadic operands;
* ``*name=operand``: further positional arguments; into the variadic operand
  `operand`, or packed into one tuple operand (``x.reshape(N, D)``);
* ``/`` ends the positional-only parameters and ``*`` starts the keyword-only
  ones, as in Python.

Spellings not listed (`PLAIN`: ``np.einsum``, ``np.arange``, builtins,
``math``) take positional operands in the rule's order and the rule's
keywords by name.

`bind` maps the arguments of one call onto these slots, so that
``np.sum(x, 1)`` is ``np.sum(x, axis=1)`` and ``np.sum(x, 0, float)`` reads
``float`` as the dtype, as NumPy does.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import libcst as cst

if TYPE_CHECKING:
    from codegen.front.source import _Module

_UFUNC_1 = "x, /, out=?"
_UFUNC_2 = "x1=x, x2=y, /, out=?"

#: Canonical NumPy function -> signature (see the module docstring).
FUNCTIONS: dict[str, str] = {
    **{
        f"numpy.{f}": _UFUNC_1
        for f in [
            "exp",
            "log",
            "log1p",
            "sqrt",
            "square",
            "sin",
            "cos",
            "tan",
            "tanh",
            "sign",
            "floor",
            "abs",
            "absolute",
            "negative",
        ]
    },
    **{
        f"numpy.{f}": _UFUNC_2
        for f in [
            "maximum",
            "minimum",
            "power",
            "add",
            "subtract",
            "multiply",
            "divide",
            "true_divide",
            "matmul",
        ]
    },
    "numpy.clip": "a=x, a_min=lo, a_max=hi, out=?, *, min=lo, max=hi",
    "numpy.where": "condition=c, x, y, /",
    "numpy.sum": "a=x, axis, dtype, out=?, keepdims, initial=!, where",
    "numpy.mean": "a=x, axis, dtype, out=?, keepdims, *, where",
    **{
        f"numpy.{f}": "a=x, axis, out=?, keepdims, initial, where"
        for f in ("max", "min", "amax", "amin")
    },
    **{
        f"numpy.{f}": "a=x, axis, dtype=?, out=?, ddof, keepdims, *, where=!, "
        "mean=!, correction=!"
        for f in ("var", "std")
    },
    "numpy.dot": "a=x, b=y, out=?",
    "numpy.inner": "a=x, b=y, /",
    "numpy.vdot": "a=x, b=y, /",
    "numpy.cumsum": "a=x, axis, dtype=?, out=?",
    "numpy.outer": "a=x, b=y, out=?",
    "numpy.tensordot": "a=x, b=y, axes",
    "numpy.transpose": "a=x, axes",
    "numpy.reshape": "a=x, /, shape, order, *, copy=?",
    "numpy.expand_dims": "a=x, axis",
    "numpy.squeeze": "a=x, axis",
    "numpy.broadcast_to": "array=x, shape, subok=!",
    "numpy.concatenate": "arrays=[*xs], /, axis, out=?, *, dtype=?, casting=!",
    "numpy.stack": "arrays=[*xs], axis, out=?, *, dtype=?, casting=!",
    "numpy.pad": "array=x, pad_width, mode, *, constant_values",
    "numpy.lib.stride_tricks.sliding_window_view": (
        "x, window_shape, axis, *, subok=!, writeable=!"
    ),
    "numpy.shape": "a=x",
    "numpy.ndim": "a=x",
    "numpy.size": "a=x, axis=!",
    "numpy.copy": "a=x, order=!, subok=!",
    **{
        f"numpy.{f}": "shape, dtype, order=!, *, device=?, like=?"
        for f in ("zeros", "ones", "empty")
    },
    **{
        f"numpy.{f}": "a=x, dtype, order=!, subok=!, shape=?"
        for f in ("zeros_like", "ones_like")
    },
    "numpy.empty_like": "prototype=x, /, dtype, order=!, subok=!, shape=?, *, device=?",
    **{f"numpy.{f}": "a=x, axis, out=?, *, keepdims=!" for f in ("argmax", "argmin")},
}

#: NumPy spellings without a signature here: every argument is positional.
PLAIN = frozenset(
    {"numpy.einsum", "numpy.arange", "numpy.result_type", "len"}
    # np.atleast_*d(*arys) take one array here; np.linalg.cholesky's
    # keyword-only `upper` is newer than the NumPy versions supported; the
    # other np.linalg functions have a signature below (and in
    # parse_arrays.py: svd, eigh, slogdet, pinv)
    | {f"numpy.atleast_{n}d" for n in (1, 2, 3)}
    | {"numpy.linalg.cholesky"}
    | {f"numpy.linalg.{f}" for f in ("svd", "eigh", "slogdet", "pinv")}
    # ufunc.outer(A, B, /, **kwargs): two positional operands
    | {f"numpy.{u}.outer" for u in ("add", "subtract", "multiply", "divide")}
)

# The spellings of codegen/core/prims/breadth.py and linalg_more.py (issue 14).
FUNCTIONS.update(
    {
        **{
            f"numpy.{f}": _UFUNC_1
            for f in [
                "sinh",
                "cosh",
                "arcsinh",
                "arccosh",
                "arctanh",
                "arcsin",
                "arccos",
                "arctan",
                "log2",
                "log10",
                "exp2",
                "expm1",
                "cbrt",
                "deg2rad",
                "radians",
                "rad2deg",
                "degrees",
            ]
        },
        **{
            f"numpy.{f}": _UFUNC_2
            for f in ["mod", "remainder", "hypot", "logaddexp", "logaddexp2"]
        },
        "numpy.arctan2": "x1=y, x2=x, /, out=?",
        "numpy.prod": "a=x, axis, dtype=?, out=?, keepdims, initial=!, where",
        "numpy.swapaxes": "a=x, axis1, axis2",
        "numpy.moveaxis": "a=x, source, destination",
        "numpy.flip": "m=x, axis",
        "numpy.fliplr": "m=x",
        "numpy.flipud": "m=x",
        "numpy.rot90": "m=x, k, axes",
        "numpy.roll": "a=x, shift, axis",
        "numpy.fft.fftshift": "x, axes",
        "numpy.fft.ifftshift": "x, axes",
        "numpy.ravel": "a=x, order",
        "numpy.real": "val=x",
        "numpy.repeat": "a=x, repeats, axis",
        "numpy.tile": "A=x, reps",
        "numpy.tril": "m=x, k",
        "numpy.triu": "m=x, k",
        "numpy.diag": "v=x, k",
        "numpy.diagonal": "a=x, offset, axis1, axis2",
        "numpy.trace": "a=x, offset, axis1, axis2, dtype=?, out=?",
        "numpy.eye": "N, M, k, dtype, order=!, *, device=?, like=?",
        "numpy.cross": "a, b, axisa, axisb, axisc, axis",
        "numpy.kron": "a, b",
        "numpy.linalg.inv": "a=x",
        "numpy.linalg.det": "a=x",
        "numpy.linalg.solve": "a, b",
        "numpy.linalg.norm": "x, ord, axis, keepdims",
        "numpy.linalg.eigvalsh": "a=x, UPLO",
        "numpy.convolve": "a, v, mode",
        "numpy.polyval": "p, x",
        "numpy.correlate": "a, v, mode",
    }
)

# The spellings of codegen/core/prims/breadth_more.py (issue 14).
FUNCTIONS.update(
    {
        **{
            f"numpy.{f}": _UFUNC_1
            for f in [
                "isnan",
                "isfinite",
                "isinf",
                "ceil",
                "trunc",
                "rint",
                "fabs",
                "reciprocal",
                "conj",
                "conjugate",
            ]
        },
        "numpy.fix": "x, out=?",
        **{f"numpy.{t}{b}": "value=x, /" for t in ("float", "int") for b in (64, 32)},
        **{f"numpy.{f}": "a=x, decimals, out=?" for f in ("round", "around")},
        **{
            f"numpy.{f}": _UFUNC_2
            for f in [
                "greater",
                "greater_equal",
                "less",
                "less_equal",
                "equal",
                "not_equal",
                "floor_divide",
                "logical_and",
                "logical_or",
                "logical_xor",
            ]
        },
        "numpy.logical_not": _UFUNC_1,
        **{f"numpy.bitwise_{f}": _UFUNC_2 for f in ("and", "or", "xor")},
        **{f"numpy.{f}": _UFUNC_1 for f in ("invert", "bitwise_not", "bitwise_invert")},
        "numpy.isposinf": "x, out=?",
        "numpy.isneginf": "x, out=?",
        "numpy.isclose": "a=x, b=y, rtol, atol, equal_nan",
        **{
            f"numpy.{f}": "a=x, axis, out=?, keepdims, *, where=!"
            for f in ("any", "all")
        },
        "numpy.count_nonzero": "a=x, axis, *, keepdims",
        "numpy.nonzero": "a=x",
        "numpy.flatnonzero": "a=x",
        "numpy.triu_indices": "n, k, m",
        "numpy.tril_indices": "n, k, m",
        "numpy.diag_indices": "n, ndim",
        "numpy.indices": "dimensions, dtype=!, sparse=!",
        "numpy.ix_": "*args=xs",
        "numpy.searchsorted": "a=x, v, side, sorter=?",
        "numpy.argpartition": "a=x, kth, axis, kind=!, order=?",
        "numpy.isscalar": "element=x",
        "numpy.full": "shape, fill_value=value, dtype, order=!, *, device=?, like=?",
        "numpy.full_like": "a=x, fill_value=value, dtype, order=!, subok=!, shape=?, "
        "*, device=?",
        "numpy.fmax": _UFUNC_2,
        "numpy.fmin": _UFUNC_2,
        "numpy.rollaxis": "a=x, axis, start",
        "numpy.sinc": "x",
        "numpy.nan_to_num": "x, copy=!, nan, posinf, neginf",
        "numpy.real_if_close": "a=x, tol",
        "numpy.imag": "val=x",
        "numpy.angle": "z=x, deg",
    }
)

#: ``x.<method>`` -> signature of the arguments after the receiver (which is
#: the rule's input ``x``).
METHODS: dict[str, str] = {
    "sum": "axis, dtype, out=?, keepdims, initial=!, where",
    "mean": "axis, dtype, out=?, keepdims, *, where",
    "max": "axis, out=?, keepdims, initial, where",
    "min": "axis, out=?, keepdims, initial, where",
    "var": "axis, dtype=?, out=?, ddof, keepdims, *, where=!",
    "std": "axis, dtype=?, out=?, ddof, keepdims, *, where=!",
    "dot": "b=y, /, out=?",
    "cumsum": "axis, dtype=?, out=?",
    "reshape": "*shape=shape, order",
    "transpose": "*axes=axes",
    "clip": "min=lo, max=hi, out=?",
    "copy": "order=!",
    "squeeze": "axis",
    "argmax": "axis, out=?, *, keepdims=!",
    "argmin": "axis, out=?, *, keepdims=!",
}
METHODS.update(
    {
        "prod": "axis, dtype=?, out=?, keepdims, initial=!, where",
        "swapaxes": "axis1, axis2",
        "repeat": "repeats, axis",
        "ravel": "order",
        "flatten": "order",
        "diagonal": "offset, axis1, axis2",
        "trace": "offset, axis1, axis2, dtype=?, out=?",
        "astype": "dtype, order=!, casting=!, subok=!, copy",
        "round": "decimals, out=?",
        "any": "axis, out=?, keepdims, *, where=!",
        "all": "axis, out=?, keepdims, *, where=!",
        "nonzero": "",
        "item": "",
        "searchsorted": "v, side, sorter=?",
        "argpartition": "kth, axis, kind=!, order=?",
    }
)


@dataclass(frozen=True, slots=True)
class Slot:
    """One parameter of a NumPy signature."""

    #: NumPy's name for it.
    name: str
    #: The rule's input or keyword it fills; None when unsupported.
    operand: str | None
    #: May be given by position / by keyword.
    positional: bool
    keyword: bool
    #: ``[*xs]``: a list of arrays spread into the variadic operand.
    spread: bool = False
    #: ``*name``: collects the remaining positional arguments.
    rest: bool = False
    #: Unsupported, but None (NumPy's default) may be given.
    default_none: bool = False


@cache
def signature(text: str) -> tuple[Slot, ...]:
    """Parse a signature string (see the module docstring)."""
    slots: list[Slot] = []
    if not text:  # x.nonzero(): no parameters
        return ()
    positional_only = "/" in text.split(", ")
    keyword_only = False
    for part in text.split(", "):
        if part == "/":
            positional_only = False
            continue
        if part == "*":
            keyword_only = True
            continue
        name, _, operand = part.partition("=")
        rest = name.startswith("*")
        name = name.lstrip("*")
        spread = operand == "[*xs]"
        target = "xs" if spread else (operand or name)
        slots.append(
            Slot(
                name,
                None if target in ("!", "?") else target,
                positional=not keyword_only,
                keyword=not positional_only and not rest,
                spread=spread,
                rest=rest,
                default_none=target == "?",
            )
        )
        keyword_only = keyword_only or rest
    return tuple(slots)


def signature_of(what: str, method: bool) -> tuple[Slot, ...] | None:
    """The signature of a NumPy function (canonical name) or method, if known."""
    text = (METHODS if method else FUNCTIONS).get(what)
    return None if text is None else signature(text)


def _reused(node: cst.BaseExpression) -> bool:
    """``_reuse(name, ...)`` (`codegen.core.in_place`) of plain arguments."""
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "_reuse"
        and bool(node.args)
        and isinstance(node.args[0].value, cst.Name)
        and all(a.keyword is None and not a.star for a in node.args)
    )


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def bind(
    mod: _Module, what: str, slots: tuple[Slot, ...], node: cst.Call
) -> list[tuple[Slot, cst.Arg]]:
    """Pair each argument of `node` with its slot, in source order; refuse
    what NumPy would refuse and what codegen does not support, located."""
    shown = what.replace("numpy.", "np.")
    positional = [s for s in slots if s.positional]
    out: list[tuple[Slot, cst.Arg]] = []
    taken: set[str] = set()
    k = 0
    for arg in node.args:
        if arg.star:
            raise mod.error("star-arguments are not supported", arg)
        if arg.keyword is None:
            if k >= len(positional):
                raise mod.error(f"too many positional arguments for '{shown}'", arg)
            slot = positional[k]
            k += 0 if slot.rest else 1
        else:
            key = arg.keyword.value
            found = [s for s in slots if s.keyword and s.name == key]
            if not found:
                names = [s.name for s in slots if s.keyword and s.operand]
                raise mod.error(
                    f"keyword '{key}' is not supported for '{shown}'",
                    arg,
                    "supported keywords: " + (", ".join(names) or "none"),
                )
            slot = found[0]
        if slot.operand is None and slot.default_none and _is_none(arg.value):
            continue  # the default, said explicitly
        if slot.name == "out" and _reused(arg.value):
            # generated code's ``out=_reuse(a, ...)``: the same values as
            # without it; `a` may hold them now, so it is read no more
            assert isinstance(arg.value, cst.Call)
            name = arg.value.args[0].value
            assert isinstance(name, cst.Name)
            mod.written_over.append(name.value)
            continue
        if slot.operand is None:
            raise mod.error(
                f"the argument '{slot.name}' of '{shown}' is not supported",
                arg,
                "leave it at NumPy's default",
            )
        if slot.operand in taken and not (slot.rest or slot.spread):
            raise mod.error(f"'{shown}' got two values for '{slot.name}'", arg)
        taken.add(slot.operand)
        out.append((slot, arg))
    return out
