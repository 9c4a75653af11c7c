"""Module-level constants computed from numbers at import (``H = 4 * D``,
``SCALE = 1 / math.sqrt(D)``, ``N = SHAPE[0]``): the file is never run, so
codegen evaluates the expression itself, from number literals, the module
constants bound before it, and a few functions of numbers, exactly as
Python would (the same operations on the same floats). Anything else is no
constant."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
#: Constants of the math and numpy modules, by canonical name.
_NAMED = {
    "math.pi": math.pi,
    "math.e": math.e,
    "math.tau": math.tau,
    "numpy.pi": float(np.pi),
    "numpy.e": float(np.e),
}
#: Functions of numbers, by canonical name; NumPy's run as NumPy (whose
#: results may differ from math's in the last bit) and give Python floats.
_MATH = ("sqrt", "exp", "log", "log2", "log10", "sin", "cos", "tan", "tanh")
_FUNCTIONS: dict[str, Callable[..., object]] = {
    "int": int,
    "float": float,
    "abs": abs,
    **{f"math.{n}": getattr(math, n) for n in _MATH},
    **{
        f"numpy.{n}": (lambda f: lambda *a: float(f(*a)))(getattr(np, n)) for n in _MATH
    },
}


class _NotConstant(Exception):
    pass


def computed(
    node: ast.expr, known: Mapping[str, object], canonical: Callable[[str], str]
) -> object:
    """The number (or tuple of numbers) `node` computes, or None. `known`
    holds the module constants bound before it; `canonical` resolves an
    import alias (``np.sqrt`` -> ``numpy.sqrt``)."""
    try:
        value = _value(node, known, canonical)
    except (_NotConstant, ArithmeticError, ValueError, TypeError, RecursionError):
        return None
    if isinstance(value, tuple) and value and all(_number(v) for v in value):
        return value
    return value if _number(value) else None


def _number(v: object) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return (
        math.isfinite(v) and abs(v) < 2**63 if isinstance(v, int) else math.isfinite(v)
    )


def _value(
    node: ast.expr, known: Mapping[str, object], canonical: Callable[[str], str]
) -> object:
    if isinstance(node, ast.Constant) and _number(node.value):
        return node.value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _value(node.left, known, canonical)
        right = _value(node.right, known, canonical)
        if isinstance(node.op, ast.Pow) and isinstance(right, int) and abs(right) > 256:
            raise _NotConstant  # 10 ** 10 ** 8 would run for minutes
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand, known, canonical))
    if isinstance(node, ast.Tuple):
        return tuple(_value(e, known, canonical) for e in node.elts)
    if isinstance(node, ast.Subscript):  # SHAPE[0] of a module tuple
        seq, k = _value(node.value, known, canonical), _value(
            node.slice, known, canonical
        )
        if isinstance(seq, tuple) and isinstance(k, int) and not isinstance(k, bool):
            return seq[k]
        raise _NotConstant
    dotted = _dotted(node.func if isinstance(node, ast.Call) else node)
    name = canonical(dotted) if dotted else ""
    if isinstance(node, ast.Attribute) and name in _NAMED:
        return _NAMED[name]
    if isinstance(node, ast.Call) and name in _FUNCTIONS and not node.keywords:
        args = [_value(a, known, canonical) for a in node.args]
        if not all(_number(a) for a in args):
            raise _NotConstant
        return _checked(_FUNCTIONS[name](*args))
    raise _NotConstant


def _checked(v: object) -> object:
    if not _number(v):
        raise _NotConstant
    return v


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])
