"""Passes over scalar (``math``) backwards: code as lean as careful
hand-written Python floats.

In CPython a float operation with an int operand (``1 - L``) converts the int
first and costs about a third more than ``1.0 - L``; ``y ** 2`` calls libm's
pow where ``y * y`` is one multiplication; a local copied from another
(``grad_s2 = grad_s3``) is a store and a load each time. None of that changes a
number, so:

* `lean_scalar` (forward steps): a small int literal beside an operand that
  is certainly a float becomes a float literal (exactly the number CPython
  would convert it to).
* `flat_blocks` (the value-and-grad's backward): the seed ``grad_L = 1.0`` is
  folded into the lines that read it; a gradient that only copies another
  (``grad_s2 = grad_s3``) is read as that other gradient; float literals as
  above, two literals folded as the compiler folds them, ``y ** 2`` as
  ``y * y`` (one rounding, as pow's, and inf where pow raises OverflowError)
  and a product with 1 as its other factor. The readable ``<f>_backward``
  keeps every line in the lectures' form.

A value is certainly a float when `math` returned it, when it is a float
literal or the float seed, when it is a parameter of a float twin (its callers
checked ``type(x) is float``, `codegen.core.twin`), or when an arithmetic
operand of it is. Nothing here runs on NumPy modules, whose literals and
powers NumPy handles itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.twin import MATH_FLOAT_OPS

#: Ops that return a float when one of their operands is one.
_ARITHMETIC = frozenset(
    {"add", "sub", "mul", "div", "neg", "pow", "abs", "pyabs", "copy"}
)
#: `math` functions that return an int (everything else in math returns a float).
_INT_MATH = frozenset({"floor", "ceil", "trunc", "factorial", "comb", "perm", "gcd"})
_OPS = ("+", "-", "*", "/")


def float_names(bwd: Backward, params: Iterable[str] = ()) -> set[str]:
    """The forward values of `bwd` that are certainly Python floats, given
    `params` that are."""
    floats = set(params)
    for step in bwd.forward:
        if step.op in MATH_FLOAT_OPS or (
            step.op in _ARITHMETIC and any(_float_operand(a, floats) for a in step.args)
        ):
            floats.add(step.target)
    return floats


def lean_scalar(bwd: Backward, params: Iterable[str] = ()) -> Backward:
    """`bwd` with float literals beside floats in its forward steps (see the
    module docstring); `params` are the parameters known to be floats. The
    backward blocks keep the lectures' spelling (`flat_blocks` leans the
    value-and-grad's)."""
    if bwd.lib != "math":
        return bwd
    floats = float_names(bwd, params)
    return replace(bwd, forward=tuple(_float_args(s, floats) for s in bwd.forward))


def flat_blocks(bwd: Backward, params: Iterable[str] = ()) -> tuple[Block, ...]:
    """The value-and-grad's backward blocks of a scalar `bwd`: the seeds (1.0)
    folded into their uses, and gradients that copy another read as it."""
    if bwd.lib != "math":
        return bwd.blocks
    writes, last, reads = _line_counts(bwd.blocks)
    # a seed that a later line accumulates into (an output that feeds
    # another output) is a variable, not the constant 1.0
    fixed = [s for s in bwd.seeds or (bwd.seed,) if s not in writes]
    floats = float_names(bwd, params) | set(fixed)
    env: dict[str, E.Expr] = {s: E.Lit("1.0") for s in fixed}
    kept = {g for _, g in bwd.outputs if g is not None}
    blocks = []
    i = -1
    for block in bwd.blocks:
        steps: list[GradStep] = []
        for gs in block.steps:
            i += 1
            expr = _lean(E.subst(gs.expr, env), floats)
            single = not gs.accumulate and writes[gs.grad] == 1 and gs.grad not in kept
            if single and (
                _settled(expr, last, i) or _inlined(expr, gs, reads, last, i)
            ):
                env[gs.grad] = expr  # read where it is used: no line
            else:
                steps.append(replace(gs, expr=expr))
            if _is_float(expr, floats):
                floats.add(gs.grad)
        blocks.append(replace(block, steps=tuple(steps)))
    return tuple(blocks)


def fused_forward(
    bwd: Backward, exprs: Sequence[E.Expr], blocks: Sequence[Block]
) -> frozenset[str]:
    """The forward values of a scalar `bwd` that its value-and-grad computes
    inside the one step that reads them, as the user wrote the statement
    (``dot = w0 * x0 + w1 * x1 + w2``, not four lines): values codegen named
    while flattening a statement (`ir.Assign.intermediate`), read once, by a
    later step of that statement, and not by the backward `blocks` nor
    returned. `exprs` are the steps' expressions. The same float operations
    on the same operands in the same tree: one store and load fewer each."""
    if bwd.lib != "math":
        return frozenset()
    readers: dict[str, list[int]] = {}
    for i, e in enumerate(exprs):
        for node in E.walk(e):
            if isinstance(node, E.Name):
                readers.setdefault(node.id, []).append(i)
    kept = set(bwd.fn.results) | {
        n
        for b in blocks
        for gs in b.steps
        for x in (gs.expr, *gs.at)
        for n in E.names(x)
    }
    steps = bwd.forward
    return frozenset(
        s.target
        for s in steps
        if s.intermediate
        and not (s.extra_targets or s.into or s.over)
        and s.target not in kept
        and len(readers.get(s.target, ())) == 1
        and steps[readers[s.target][0]].source == s.source
    )


def returned_inline(
    bwd: Backward, blocks: Sequence[Block]
) -> tuple[tuple[Block, ...], dict[str, E.Expr]]:
    """The value-and-grad's backward `blocks` of a scalar `bwd` without the
    lines of returned gradients that nothing else reads, and those
    gradients' expressions, computed in the ``return`` (as careful
    hand-written code returns ``(x0 * ddot, w0 * ddot)``): each written once,
    from names no later line writes, so the same operations on the same
    values, one store and load fewer each."""
    if bwd.lib != "math":
        return tuple(blocks), {}
    outs = {g for _, g in bwd.outputs if g is not None}
    writes, last, reads = _line_counts(blocks)
    taken: dict[str, E.Expr] = {}
    for i, gs in enumerate(gs for b in blocks for gs in b.steps):
        if (
            gs.grad in outs
            and not (gs.accumulate or gs.at)
            and writes[gs.grad] == 1
            and not reads.get(gs.grad)
            and all(last.get(n, -1) < i for n in E.names(gs.expr))
        ):
            taken[gs.grad] = gs.expr
    kept = tuple(
        replace(b, steps=tuple(gs for gs in b.steps if gs.grad not in taken))
        for b in blocks
    )
    return kept, taken


def _line_counts(
    blocks: Sequence[Block],
) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """For the lines of scalar `blocks`: how many write each gradient, the
    position of the last of them, and how many times each name is read."""
    writes: dict[str, int] = {}
    last: dict[str, int] = {}
    reads: dict[str, int] = {}
    for i, gs in enumerate(gs for block in blocks for gs in block.steps):
        writes[gs.grad] = writes.get(gs.grad, 0) + 1
        last[gs.grad] = i
        for node in E.walk(gs.expr):
            if isinstance(node, E.Name):
                reads[node.id] = reads.get(node.id, 0) + 1
    return writes, last, reads


def _inlined(
    e: E.Expr, gs: GradStep, reads: dict[str, int], last: dict[str, int], i: int
) -> bool:
    """A gradient read once, by a later line, whose expression reads nothing a
    line from position `i` on writes: computed where it is read (the same
    operations in the same order, one store and load fewer)."""
    if reads.get(gs.grad, 0) != 1:
        return False
    return all(last.get(n, -1) < i for n in E.names(e))


def _settled(e: E.Expr, last: dict[str, int], i: int) -> bool:
    """A literal, or a name no line from position `i` on writes again."""
    if isinstance(e, E.Lit):
        return True
    return isinstance(e, E.Name) and last.get(e.id, -1) < i


def _float_operand(a: ir.Operand, floats: set[str]) -> bool:
    if isinstance(a, ir.Var):
        return a.name in floats
    return _float_text(a.text)


def _float_args(step: ir.Assign, floats: set[str]) -> ir.Assign:
    """An int literal operand of + - * / beside a float operand, as a float."""
    if step.op not in ("add", "sub", "mul", "div") or len(step.args) != 2:
        return step
    a, b = step.args
    if _float_operand(b, floats):
        a = _as_float_const(a)
    if _float_operand(a, floats):
        b = _as_float_const(b)
    return replace(step, args=(a, b))


def _as_float_const(a: ir.Operand) -> ir.Operand:
    if isinstance(a, ir.Const) and _small_int(a.text):
        return ir.Const(_float_spelling(a.text))
    return a


def _lean(e: E.Expr, floats: set[str]) -> E.Expr:
    def step(node: E.Expr) -> E.Expr | None:
        if isinstance(node, E.Unary) and node.op == "-":
            return _negated(node.operand)
        if not isinstance(node, E.BinOp):
            return None
        left, right = node.left, node.right
        if node.op == "**" and isinstance(left, E.Name) and right == E.Lit("2"):
            return E.BinOp("*", left, left)
        if node.op not in _OPS:
            return None
        if _is_float(right, floats):
            left = _float_lit(left)
        if _is_float(left, floats):
            right = _float_lit(right)
        if isinstance(left, E.Lit) and isinstance(right, E.Lit):
            folded = _folded(node.op, left.text, right.text)
            if folded is not None:
                return folded
        if node.op in ("*", "/") and _one(right) and _is_float(left, floats):
            return left
        if node.op == "*" and _one(left) and _is_float(right, floats):
            return right
        return E.BinOp(node.op, left, right)

    return E.rewrite(e, step)


def _negated(e: E.Expr) -> E.Expr | None:
    """``-e`` without the negation, where `e` carries one that can be taken
    off: ``-(-x)`` is x and ``-((-x / y) * z)`` is ``x / y * z``. Negation
    is exact, so the result is the same float."""
    if isinstance(e, E.Unary) and e.op == "-":
        return e.operand
    if isinstance(e, E.Lit) and e.text.startswith("(-") and e.text.endswith(")"):
        return E.Lit(e.text[2:-1])
    if isinstance(e, E.Lit) and e.text.startswith("-") and _float_text(e.text):
        return E.Lit(e.text[1:])
    if isinstance(e, E.BinOp) and e.op in ("*", "/"):
        left = _negated(e.left)
        if left is not None:
            return E.BinOp(e.op, left, e.right)
        right = _negated(e.right)
        if right is not None:
            return E.BinOp(e.op, e.left, right)
    return None


def _folded(op: str, a: str, b: str) -> E.Expr | None:
    """Two float literals combined, as CPython's compiler folds them anyway
    (``0.5 * 2.0`` is ``1.0``): the printed number is the exact result."""
    if op not in ("+", "-", "*") or not (_float_text(a) and _float_text(b)):
        return None
    x, y = float(a.strip("()")), float(b.strip("()"))
    value = x + y if op == "+" else x - y if op == "-" else x * y
    if value != value or value in (float("inf"), float("-inf")):
        return None
    text = repr(value)
    return E.Lit(text if value >= 0 else f"({text})")


def _float_lit(e: E.Expr) -> E.Expr:
    if isinstance(e, E.Lit) and _small_int(e.text):
        return E.Lit(_float_spelling(e.text))
    if isinstance(e, E.Unary) and e.op == "-" and isinstance(e.operand, E.Lit):
        return E.Unary("-", _float_lit(e.operand))
    return e


def _one(e: E.Expr) -> bool:
    return isinstance(e, E.Lit) and e.text in ("1", "1.0")


def _is_float(e: E.Expr, floats: set[str]) -> bool:
    """True when `e` certainly evaluates to a Python float."""
    if isinstance(e, E.Name):
        return e.id in floats
    if isinstance(e, E.Lit):
        return _float_text(e.text)
    if isinstance(e, E.Unary):
        return e.op in ("-", "+") and _is_float(e.operand, floats)
    if isinstance(e, E.BinOp):
        if e.op == "**":
            return _is_float(e.left, floats)
        return e.op in _OPS and (
            _is_float(e.left, floats) or _is_float(e.right, floats)
        )
    if isinstance(e, E.Call):
        f = e.func
        if isinstance(f, E.Attr) and f.value == E.Name("math"):
            return f.attr not in _INT_MATH
        if f == E.Name("abs") and len(e.args) == 1:
            return _is_float(e.args[0], floats)
    return False


def _float_text(text: str) -> bool:
    """A float literal: ``0.5``, ``1e-5``, ``2.0`` (not ``2``)."""
    t = text.strip("()").lstrip("+-")
    if _small_int(t):
        return False
    try:
        float(t)
    except ValueError:
        return False
    return not t.isidentifier()  # not inf / nan spelled as names


def _small_int(text: str) -> bool:
    """An int literal CPython converts to a float exactly (|n| <= 2**53)."""
    t = text.strip("()").lstrip("+-")
    return t.isdigit() and int(t) <= 2**53


def _float_spelling(text: str) -> str:
    """``2`` -> ``2.0``, ``(-2)`` -> ``(-2.0)``."""
    core = text.strip("()")
    return text.replace(core, f"{int(core)}.0") if text != core else f"{int(text)}.0"
