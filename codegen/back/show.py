"""Printing the expression IR as Python source: `show` puts parentheses
only where Python's precedence needs them (`strength`), so adjoints read as
one writes them (``g * (1 - ans) * ans``)."""

from __future__ import annotations

import ast
from functools import cache

from codegen.core.expr import (
    BINARY,
    Attr,
    BinOp,
    Call,
    Compare,
    Expr,
    Index,
    List,
    Lit,
    Name,
    Slice,
    Star,
    Tuple,
    Unary,
)

# Binding strength, loosest first (Python's grammar).
_NOT, _COMPARE_P, _BIT_OR, _BIT_XOR, _BIT_AND = 1, 2, 3, 4, 5
_ADD, _MUL, _UNARY_P, _POW, _ATOM = 6, 7, 8, 9, 10
_BIN_P = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "@": _MUL, "//": _MUL, "%": _MUL}
_BIN_P |= {"|": _BIT_OR, "^": _BIT_XOR, "&": _BIT_AND}


@cache
def _lit_strength(text: str) -> int:
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return _ATOM
    if isinstance(node, ast.UnaryOp):
        return _UNARY_P
    if isinstance(node, ast.BinOp):
        return _POW if isinstance(node.op, ast.Pow) else _BIN_P[BINARY[type(node.op)]]
    if isinstance(node, (ast.Compare, ast.BoolOp, ast.IfExp, ast.Lambda)):
        return _NOT
    if isinstance(node, ast.Tuple) and not text.lstrip().startswith("("):
        return _NOT
    return _ATOM


def strength(e: Expr) -> int:
    """How tightly `e` binds when printed (higher: tighter)."""
    if isinstance(e, Lit):
        return _lit_strength(e.text)
    if isinstance(e, BinOp):
        return _POW if e.op == "**" else _BIN_P[e.op]
    if isinstance(e, Unary):
        return _NOT if e.op == "not " else _UNARY_P
    if isinstance(e, Compare):
        return _COMPARE_P
    return _ATOM


def _wrap(e: Expr, need: int) -> str:
    text = show(e)
    return f"({text})" if strength(e) < need else text


def show(e: Expr) -> str:
    """Python source for `e`, parenthesised only where the grammar needs it."""
    if isinstance(e, Name):
        return e.id
    if isinstance(e, Lit):
        return e.text
    if isinstance(e, BinOp):
        if e.op == "**":  # right-associative; a unary minus on the right is fine
            return f"{_wrap(e.left, _POW + 1)} ** {_wrap(e.right, _UNARY_P)}"
        p = _BIN_P[e.op]
        return f"{_wrap(e.left, p)} {e.op} {_wrap(e.right, p + 1)}"
    if isinstance(e, Unary):
        return f"{e.op}{_wrap(e.operand, _UNARY_P if e.op != 'not ' else _NOT)}"
    if isinstance(e, Compare):
        return f"{_wrap(e.left, _ADD)} {e.op} {_wrap(e.right, _ADD)}"
    if isinstance(e, Call):
        parts = [show(a) for a in e.args] + [f"{k}={show(v)}" for k, v in e.kwargs]
        return f"{_wrap(e.func, _ATOM)}({', '.join(parts)})"
    if isinstance(e, Attr):
        base = _wrap(e.value, _ATOM)
        if isinstance(e.value, Lit) and base[-1].isdigit():
            base = f"({base})"
        return f"{base}.{e.attr}"
    if isinstance(e, Index):
        items = ", ".join(_item(i) for i in e.items) if e.items else "()"
        return f"{_wrap(e.value, _ATOM)}[{items}]"
    if isinstance(e, Slice):
        lo, hi = _part(e.lo), _part(e.hi)
        return f"{lo}:{hi}" + (f":{_part(e.step)}" if e.step is not None else "")
    if isinstance(e, Tuple):
        if len(e.items) == 1:
            return f"({_item(e.items[0])},)"
        return "(" + ", ".join(_item(i) for i in e.items) + ")"
    if isinstance(e, List):
        return "[" + ", ".join(_item(i) for i in e.items) + "]"
    if isinstance(e, Star):
        return f"*{_wrap(e.value, _ATOM)}"
    raise TypeError(f"not an expression node: {e!r}")


def _item(e: Expr) -> str:
    """An element of a display or an index: anything but a bare tuple."""
    if isinstance(e, Slice):
        return show(e)
    return _wrap(e, _COMPARE_P)


def _part(e: Expr | None) -> str:
    return "" if e is None else _wrap(e, _COMPARE_P)
