"""Static shape facts: dimensions from annotations, ranks through the IR.

Contract: `annotation_dims` reads a jaxtyping-style annotation
(``Float[np.ndarray, "N D"]``, ``Int[np.ndarray, "N"]``, ``float``) into its
dimension names, without importing anything; `ranks` propagates the number of
dimensions of every value of an `ir.Function` where it is known. An unknown
rank is None, and the reverse pass then emits a form correct for any rank.
"""

from __future__ import annotations

import re

from codegen import ir

_JAXTYPING = re.compile(r"""^\s*\w+\[\s*[\w.]+\s*,\s*(?P<q>["'])(?P<dims>[^"']*)(?P=q)\s*\]\s*$""")
_SCALARS = {"float", "int", "bool", "complex"}


def annotation_dims(text: str | None) -> tuple[str, ...] | None:
    """``'Float[np.ndarray, "N D"]'`` -> ``("N", "D")``; ``"float"`` -> ``()``;
    None when the annotation says nothing about the shape."""
    if text is None:
        return None
    if text.strip() in _SCALARS:
        return ()
    match = _JAXTYPING.match(text)
    if match is None:
        return None
    return tuple(match.group("dims").split())


def _elementwise(rs: list[int | None]) -> int | None:
    return None if any(r is None for r in rs) else max(rs, default=0)  # type: ignore[type-var]


def _reduced(r: int | None, step: ir.Assign) -> int | None:
    kw = {k: v for k, v in step.kwargs}
    keep = kw.get("keepdims")
    if isinstance(keep, ir.Const) and keep.text == "True":
        return r
    if keep is not None and not isinstance(keep, ir.Const):
        return None
    axis = kw.get("axis")
    if axis is None or (isinstance(axis, ir.Const) and axis.text == "None"):
        return 0
    if r is None or not isinstance(axis, ir.Const):
        return None
    text = axis.text.strip("()")
    return r - len([a for a in text.split(",") if a.strip()])


def _matmul(rx: int | None, ry: int | None) -> int | None:
    if rx is None or ry is None:
        return None
    if rx == 1 and ry == 1:
        return 0
    if rx == 1 or ry == 1:
        return max(rx, ry) - 1
    return max(rx, ry)


_ELEMENTWISE = {
    "add", "sub", "mul", "div", "pow", "neg", "copy", "abs", "maximum", "minimum",
    "exp", "log", "log1p", "sqrt", "square", "sin", "cos", "tan", "tanh", "sigmoid",
    "clip", "where", "gt", "ge", "lt", "le", "eq", "ne", "sign", "floor",
    "transpose", "unbroadcast", "setitem",
}
_REDUCTIONS = {"sum", "mean", "amax", "amin", "var", "std"}


def _length(shape: ir.Operand, tuples: dict[str, int]) -> int | None:
    """The number of entries of a shape operand, when it is known."""
    if isinstance(shape, ir.Var):
        return tuples.get(shape.name)
    text = shape.text.strip()
    if text.startswith("(") and text.endswith(")"):
        return len([t for t in text[1:-1].split(",") if t.strip()])
    return 1 if re.fullmatch(r"-?\d+", text) else None


def ranks(fn: ir.Function) -> dict[str, int | None]:
    """The rank of every parameter and step target, or None where unknown."""
    out: dict[str, int | None] = {}
    for p in fn.params:
        dims = annotation_dims(p.annotation)
        out[p.name] = None if dims is None else len(dims)

    tuples: dict[str, int] = {}

    def rank(o: ir.Operand) -> int | None:
        if isinstance(o, ir.Const):
            return 0 if re.fullmatch(r"\(?-?[\d.e+-]+\)?", o.text) else None
        return out.get(o.name)

    for step in fn.body:
        args = [rank(a) for a in step.args]
        if step.op in _ELEMENTWISE:
            r = _elementwise(args)
        elif step.op in _REDUCTIONS:
            r = _reduced(args[0], step)
        elif step.op == "matmul":
            r = _matmul(args[0], args[1])
        elif step.op == "outer":
            r = 2
        elif step.op == "tuple":
            r, tuples[step.target] = None, len(step.args)
        elif step.op == "reshape":
            r = _length(step.args[1], tuples)
        elif step.op == "expand_dims":
            r = None if args[0] is None else args[0] + 1
        elif step.op == "einsum" and isinstance(step.args[0], ir.Const):
            r = len(step.args[0].text.split("->")[-1].strip("'\" "))
        else:
            r = None
        out[step.target] = r
    return out
