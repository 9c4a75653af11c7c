"""What flows where in a forward function, for the reverse pass and render:
which values are active (depend on a differentiated parameter), which reach
the result through differentiable inputs, which parameters are read as data,
and which values are provably floating-point.

Floating: NumPy keeps an array's dtype when entries are written into it: ``z =
np.arange(4); z[0] = w`` truncates w to an integer, so w gets no gradient
there. An adjoint that passes a gradient through such a write must know the
destination is floating; where the source does not prove it, the adjoint
asks at run time (`codegen.core.prims.indexing`). The proof is a forward
pass over the steps, conservative by construction: a value is floating when
it is a parameter annotated as floats (``float``, ``Float[np.ndarray, "N"]``;
a differentiated parameter may still be given integers), a float literal, an array NumPy makes floating
(``np.zeros(shape)``, ``np.eye(n)``), a cast to a float type, or the result
of a differentiable op with a floating differentiable operand (NumPy
promotes integers with floats to floats), unless a dtype is given. Integer sources, comparisons and casts to integers are
not floating, nor is anything else left unproven.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from codegen.core import ir
from codegen.core.rules import RULES, bind

#: Ops whose result is a floating array whatever their operands (unless a
#: dtype keyword says otherwise).
_FLOAT_SOURCES = frozenset({"zeros", "ones", "empty", "eye", "identity", "linspace"})
#: Ops whose result has the dtype of their first operand.
_LIKE_FIRST = frozenset(
    {"zeros_like", "ones_like", "empty_like", "full_like", "copy", "setitem", "add_at"}
)
#: Casts to a float type, by the dtype's spelling.
_FLOAT_SPELLINGS = frozenset(
    {"float", "np.float64", "np.float32", "np.float16", "'float64'", "'float32'"}
)
_FLOAT_LITERAL = re.compile(r"\(?-?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+|inf|nan)\)?")


def _float_const(c: ir.Const) -> bool:
    text = c.text.replace("np.", "").replace("math.", "")
    return bool(_FLOAT_LITERAL.fullmatch(text)) or text in ("pi", "e", "tau")


def floating(fn: ir.Function) -> frozenset[str]:
    """The names of `fn` (parameters and step targets) that are provably
    floating."""
    out = {p.name for p in fn.params if _float_annotation(p.annotation)}

    def isfloat(a: ir.Operand) -> bool:
        return _float_const(a) if isinstance(a, ir.Const) else a.name in out

    for step in fn.body:
        rule = RULES.get(step.op)
        dtype = dict(step.kwargs).get("dtype")
        if dtype is not None and not (
            isinstance(dtype, ir.Const) and dtype.text in (*_FLOAT_SPELLINGS, "None")
        ):
            continue  # np.eye(3, dtype=int)
        if step.op in _FLOAT_SOURCES or step.op in ("float64", "float32"):
            proven = True
        elif step.op == "astype":
            cast = step.args[1] if len(step.args) > 1 else None
            proven = isinstance(cast, ir.Const) and cast.text in _FLOAT_SPELLINGS
        elif step.op in _LIKE_FIRST:
            proven = bool(step.args) and isfloat(step.args[0])
        elif rule is not None and rule.grads:  # np.where(c, 1, 0): not c
            proven = any(
                isfloat(a) for name, a, _ in bind(rule, step.args) if name in rule.diff
            )
        else:
            proven = False
        if proven:
            out.add(step.target)
    return frozenset(out)


def _float_annotation(text: str | None) -> bool:
    """``float``, ``np.float32``, ``Float[np.ndarray, "N D"]``."""
    return text is not None and "float" in text.lower() and "int" not in text.lower()


def activity(fn: ir.Function, wrt: Iterable[str]) -> set[str]:
    """Values that depend on a `wrt` parameter through differentiable inputs."""
    active = set(wrt)
    for step in fn.body:
        rule = RULES[step.op]
        for name, arg, _ in bind(rule, step.args):
            if name in rule.diff and isinstance(arg, ir.Var) and arg.name in active:
                active.add(step.target)
    return active


def data_params(fn: ir.Function, wrt: Iterable[str]) -> list[str]:
    """The parameters read as data, which the generated module checks are
    real arrays or numbers (runtime/_real.j2): differentiated, or reaching
    the result through a differentiable input; not those read only as
    shapes, axes, indices or settings (``x.reshape(shape)``, ``np.sum(x,
    axis=axes)``), nor integers, nor tuples by their default (``w=(1.0,
    2.0)``)."""
    reaches = reaching(fn)[1] | set(wrt)
    return [
        p.name
        for p in fn.params
        if p.name in reaches
        and not p.integer
        and not p.keys
        and not isinstance(ir.literal(p.default or "None"), (tuple, list))
    ]


def reaching(fn: ir.Function) -> tuple[set[str], set[str]]:
    """(names the result needs at all, names with a differentiable path to it)."""
    needed, reaches = set(fn.results), set(fn.results)
    for step in reversed(fn.body):
        targets = {step.target, *step.extra_targets}
        if targets & needed:
            needed |= {a.name for a in _operands(step)}
        if step.target in reaches:
            rule = RULES[step.op]
            for name, arg, _ in bind(rule, step.args):
                if name in rule.diff and isinstance(arg, ir.Var):
                    reaches.add(arg.name)
    return needed, reaches


def _operands(step: ir.Assign) -> list[ir.Var]:
    ops = [*step.args, *(v for _, v in step.kwargs)]
    return [o for o in ops if isinstance(o, ir.Var)]


def literal_depth(o: ir.Operand) -> int | None:
    """The rank of the array NumPy makes of a constant: 0 for a number, the
    nesting of a list or tuple of numbers written out; None for a name."""
    if isinstance(o, ir.Var):
        return None
    value, depth = ir.literal(o.text), 0
    while isinstance(value, (list, tuple)):
        depth += 1
        value = value[0] if value else None
    return depth


def sequences(fn: ir.Function) -> dict[str, int]:
    """The names bound to a list or tuple written out (``c = [1, 2, 3]``),
    with its depth: NumPy reads them as arrays of that rank."""
    out = {}
    for s in fn.body:
        depth = literal_depth(s.args[0]) if s.op == "const" and s.args else None
        if depth:
            out[s.target] = depth
    return out


__all__ = [
    "activity",
    "data_params",
    "floating",
    "literal_depth",
    "reaching",
    "sequences",
]
