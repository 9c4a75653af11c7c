"""Expression IR: the code of forward lines and of adjoint contributions.

Adjoint rules are written as Python expressions (``"g * y"``) in the subset
codegen parses; `template` parses one once into these frozen nodes, `subst`
puts operands in place of its names, and `codegen.back.show` prints a tree back as Python
with the fewest parentheses. What a backward reads (`names`), which modules
and runtime helpers it needs (`modules`, `helpers`) are read off the trees,
never searched for in text.

A `Lit` keeps the user's own spelling of a constant (``1e-5`` stays ``1e-5``).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True, slots=True)
class Name:
    """A variable."""

    id: str


@dataclass(frozen=True, slots=True)
class Lit:
    """A constant, as Python source text (``0.5``, ``None``, ``"ij->ji"``)."""

    text: str


@dataclass(frozen=True, slots=True)
class BinOp:
    """``left <op> right`` for an arithmetic operator (``+``, ``@``, ``**``...)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Unary:
    """``-operand``, ``+operand``, ``~operand`` or ``not operand``."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Compare:
    """``left <op> right`` for one comparison (``>=``, ``==``...)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    """``func(*args, **kwargs)``."""

    func: Expr
    args: tuple[Expr, ...] = ()
    kwargs: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True, slots=True)
class Attr:
    """``value.attr``."""

    value: Expr
    attr: str


@dataclass(frozen=True, slots=True)
class Index:
    """``value[items]``; several items print as ``value[a, b]``."""

    value: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Slice:
    """``lo:hi:step`` inside an index; missing parts are None."""

    lo: Expr | None = None
    hi: Expr | None = None
    step: Expr | None = None


@dataclass(frozen=True, slots=True)
class Tuple:
    """``(a, b)``."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class List:
    """``[a, b]``."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Star:
    """``*value`` in a call or a display: `subst` splices a sequence there."""

    value: Expr


Expr = (
    Name
    | Lit
    | BinOp
    | Unary
    | Compare
    | Call
    | Attr
    | Index
    | Slice
    | Tuple
    | List
    | Star
)

BINARY = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not "}
_COMPARE = {
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


def from_ast(node: ast.expr) -> Expr:
    """Convert a Python expression tree (from `ast.parse`) into this IR.

    Raises:
        ValueError: a construct outside the subset (lambda, comprehension...).
    """
    if isinstance(node, ast.Name):
        return Name(node.id)
    if isinstance(node, ast.Constant):
        return Lit(ast.unparse(node))
    if isinstance(node, ast.BinOp) and type(node.op) in BINARY:
        return BinOp(BINARY[type(node.op)], from_ast(node.left), from_ast(node.right))
    if isinstance(node, ast.UnaryOp):
        operand = from_ast(node.operand)
        if isinstance(node.op, ast.USub) and isinstance(operand, Lit):
            return Lit("-" + operand.text)  # a negative literal is one constant
        return Unary(_UNARY[type(node.op)], operand)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op = _COMPARE[type(node.ops[0])]
        return Compare(op, from_ast(node.left), from_ast(node.comparators[0]))
    if isinstance(node, ast.Call):
        kwargs = []
        for k in node.keywords:
            if k.arg is None:
                raise ValueError("**kwargs is outside the subset")
            kwargs.append((k.arg, from_ast(k.value)))
        return Call(
            from_ast(node.func), tuple(from_ast(a) for a in node.args), tuple(kwargs)
        )
    if isinstance(node, ast.Attribute):
        return Attr(from_ast(node.value), node.attr)
    if isinstance(node, ast.Subscript):
        sl = node.slice
        items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        return Index(from_ast(node.value), tuple(from_ast(i) for i in items))
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return Slice(*(None if p is None else from_ast(p) for p in parts))
    if isinstance(node, ast.Tuple):
        return Tuple(tuple(from_ast(e) for e in node.elts))
    if isinstance(node, ast.List):
        return List(tuple(from_ast(e) for e in node.elts))
    if isinstance(node, ast.Starred):
        return Star(from_ast(node.value))
    raise ValueError(f"{type(node).__name__} is outside the expression subset")


@cache
def template(text: str) -> Expr:
    """Parse a rule's expression once: ``template("g * y")``."""
    return from_ast(ast.parse(text.strip(), mode="eval").body)


def subst(e: Expr, env: Mapping[str, Expr | Sequence[Expr]]) -> Expr:
    """Replace each `Name` bound in `env`; a `Star` of a name bound to a
    sequence splices the sequence into the enclosing call or display."""
    if isinstance(e, Name):
        value = env.get(e.id)
        if value is None:
            return e
        if isinstance(value, (list, tuple)):
            return List(tuple(value))
        return value  # type: ignore[return-value]
    if isinstance(e, Lit):
        return e
    if isinstance(e, Call):
        return Call(
            subst(e.func, env),
            _spliced(e.args, env),
            tuple((k, subst(v, env)) for k, v in e.kwargs),
        )
    if isinstance(e, (Tuple, List)):
        return type(e)(_spliced(e.items, env))
    if isinstance(e, Index):  # x[idx] with idx bound to operands: x[a, b]
        items: list[Expr] = []
        for item in e.items:
            value = env.get(item.id) if isinstance(item, Name) else None
            if isinstance(value, (list, tuple)):
                items.extend(value)
            else:
                items.extend(_spliced((item,), env))
        return Index(subst(e.value, env), tuple(items))
    return _map(e, lambda child: subst(child, env))


def _map(e: Expr, f: Callable[[Expr], Expr]) -> Expr:
    """`e` with `f` applied to each direct sub-expression (a hot path)."""
    if isinstance(e, (Name, Lit)):
        return e
    if isinstance(e, BinOp):
        return BinOp(e.op, f(e.left), f(e.right))
    if isinstance(e, Compare):
        return Compare(e.op, f(e.left), f(e.right))
    if isinstance(e, Unary):
        return Unary(e.op, f(e.operand))
    if isinstance(e, Call):
        return Call(
            f(e.func),
            tuple(f(a) for a in e.args),
            tuple((k, f(v)) for k, v in e.kwargs),
        )
    if isinstance(e, Attr):
        return Attr(f(e.value), e.attr)
    if isinstance(e, Index):
        return Index(f(e.value), tuple(f(i) for i in e.items))
    if isinstance(e, Tuple):
        return Tuple(tuple(f(i) for i in e.items))
    if isinstance(e, List):
        return List(tuple(f(i) for i in e.items))
    if isinstance(e, Star):
        return Star(f(e.value))
    if isinstance(e, Slice):
        return Slice(*(None if p is None else f(p) for p in (e.lo, e.hi, e.step)))
    raise TypeError(f"not an expression node: {e!r}")


def _spliced(
    items: Sequence[Expr], env: Mapping[str, Expr | Sequence[Expr]]
) -> tuple[Expr, ...]:
    out: list[Expr] = []
    for item in items:
        if isinstance(item, Star) and isinstance(item.value, Name):
            value = env.get(item.value.id)
            if isinstance(value, (list, tuple)):
                out.extend(value)
                continue
        out.append(subst(item, env))
    return tuple(out)


def _children(e: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of `e` (a hot path: no dataclass reflection)."""
    if isinstance(e, (Name, Lit)):
        return ()
    if isinstance(e, (BinOp, Compare)):
        return (e.left, e.right)
    if isinstance(e, Call):
        return (e.func, *e.args, *(v for _, v in e.kwargs))
    if isinstance(e, Attr):
        return (e.value,)
    if isinstance(e, Index):
        return (e.value, *e.items)
    if isinstance(e, (Tuple, List)):
        return e.items
    if isinstance(e, Unary):
        return (e.operand,)
    if isinstance(e, Star):
        return (e.value,)
    if isinstance(e, Slice):
        return tuple(p for p in (e.lo, e.hi, e.step) if p is not None)
    raise TypeError(f"not an expression node: {e!r}")


def walk(e: Expr | None) -> Iterator[Expr]:
    """Every node of `e`, parents before children."""
    if e is None:
        return
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


def names(e: Expr) -> set[str]:
    """The variables `e` reads: not the functions it calls, nor the modules
    of ``np.exp``."""
    nodes = list(walk(e))
    skip = {id(n.func) for n in nodes if isinstance(n, Call)}
    skip |= {
        id(n.value)
        for n in nodes
        if isinstance(n, Attr)
        and isinstance(n.value, Name)
        and n.value.id in ("np", "math")
    }
    return {n.id for n in nodes if isinstance(n, Name) and id(n) not in skip}


def modules(e: Expr) -> set[str]:
    """Module names used as attribute bases: ``np`` for ``np.exp(x)``, and in
    constants such as ``math.pi``."""
    out: set[str] = set()
    for n in walk(e):
        if isinstance(n, Attr) and isinstance(n.value, Name):
            out.add(n.value.id)
        elif isinstance(n, Lit):
            out |= _lit_modules(n.text)
    return out


@cache
def _lit_modules(text: str) -> frozenset[str]:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:  # a slice such as 1:
        return frozenset()
    return frozenset(
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    )


def helpers(e: Expr) -> set[str]:
    """Runtime helpers called (functions whose name starts with ``_``)."""
    return {
        n.func.id
        for n in walk(e)
        if isinstance(n, Call)
        and isinstance(n.func, Name)
        and n.func.id.startswith("_")
    }


def rewrite(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Bottom-up rewrite: `fn` returns a replacement node or None to keep it."""
    rebuilt = _map(e, lambda child: rewrite(child, fn))
    out = fn(rebuilt)
    return rebuilt if out is None else out
