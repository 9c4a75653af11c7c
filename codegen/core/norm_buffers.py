"""Backward IR pass: the closed-form normalisation gradient in one buffer.

`codegen.core.norm_lean` writes a normalisation's gradient as one expression,

    grad_x = (xhat * proj + G - mean) * (1 / s)  # or * r, or * (gamma / s)

with ``proj = -einsum(G, xhat) / n`` and ``mean = sum(G, A) / n`` (arrays
the size of the normalised axes' complement). NumPy evaluates it left to
right, each operation making a new array the size of x: four of them where
one is enough. `closed_form_in_place` writes it as statements that update
the first product's array:

    grad_x = xhat * proj
    grad_x += G
    grad_x -= mean
    grad_x *= 1 / s                              # (or *= r)

Why this is the same array, value for value and dtype for dtype: the first
product is a new array that no other name holds, shaped like xhat (proj
broadcasts against it) and of dtype promote(xhat, G) (proj is an einsum of G
with xhat, divided by a Python number). G and mean broadcast against xhat
(G is xhat's gradient, mean is reduced with keepdims) and their dtypes are
G's, already in that promotion; so is s's (or r's), proven on the forward
step ``xhat = c / s`` (``c * r``), whose result has promote(c, s), and 1 / s
has s's dtype (1 is a Python number). Each
in-place update therefore computes exactly the element the out-of-place
expression computes, in the same dtype, in the same order. With a scale
gamma (``* (gamma / s)``) gamma's dtype is not known (float64 gamma with a
float32 x widens the result), so the array is first brought to the dtype
the product has, ``grad_x.astype(np.result_type(grad_x, gamma, s),
copy=False)``: the array itself when that is its dtype already, else a
widened copy (exact: every value of the narrower float type is one of the
wider); ``*=`` then computes the product's very elements.

`share_norm_sums` reuses a sum the backward already computed: the closed
form's ``np.einsum(spec, g, xhat)`` is grad_gamma's own einsum in batch norm
(the same call on the same names, read before either name changes).

Generated code with ``+=``, ``-=``, ``*=`` on a fresh array (and
``astype(..., copy=False)``) is valid input again for second order (the
parser's alias check accepts exactly this).
Every condition is checked on the IR; otherwise the step is left as it is
(tests/test_norm_buffers.py).
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import shapes

_NP = E.Name("np")


def _parts(e: E.Expr) -> tuple[E.Expr, E.Expr, E.Expr, E.Expr, str, E.Expr] | None:
    """(xhat, proj, G, mean, op, k) of ``(xhat * proj + G - mean) op k``."""
    if not (isinstance(e, E.BinOp) and e.op in ("*", "/")):
        return None
    body, k = e.left, e.right
    if not (isinstance(body, E.BinOp) and body.op == "-"):
        return None
    plus, mean = body.left, body.right
    if not (isinstance(plus, E.BinOp) and plus.op == "+"):
        return None
    prod, g = plus.left, plus.right
    if not (isinstance(prod, E.BinOp) and prod.op == "*"):
        return None
    return prod.left, prod.right, g, mean, e.op, k


def _scale_of(bwd: Backward, xhat: E.Expr, op: str, k: E.Expr) -> bool:
    """k is the forward's own scale of xhat, so that xhat's dtype includes
    k's: ``* r`` with ``xhat = c * r``, ``* (1 / s)`` with ``xhat = c / s``
    (1 is a Python number: 1 / s has s's dtype)."""
    if not isinstance(xhat, E.Name) or op != "*":
        return False
    step = next((s for s in bwd.forward if s.target == xhat.id), None)
    if step is None or step.kwargs or len(step.args) != 2:
        return False
    if isinstance(k, E.Name):
        return step.op == "mul" and step.args[1] == ir.Var(k.id)
    if isinstance(k, E.BinOp) and k.op == "/" and k.left == E.Lit("1"):
        s = k.right
        return (
            isinstance(s, E.Name) and step.op == "div" and step.args[1] == ir.Var(s.id)
        )
    return False


def closed_form_in_place(bwd: Backward) -> Backward:
    """Each closed-form gradient (a first write) as updates of one new array
    (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    blocks: list[Block] = []
    changed = False
    for block in bwd.blocks:
        steps: list[GradStep] = []
        for gs in block.steps:
            split = (
                _split(bwd, gs) if gs.op == "normalise" and not gs.accumulate else None
            )
            if split is None:
                steps.append(gs)
                continue
            steps.extend(split)
            changed = True
        blocks.append(replace(block, steps=tuple(steps)))
    return replace(bwd, blocks=tuple(blocks)) if changed else bwd


def _split(bwd: Backward, gs: GradStep) -> list[GradStep] | None:
    parts = _parts(gs.expr)
    if parts is None:
        return None
    xhat, proj, g, mean, op, k = parts
    if gs.grad in E.names(gs.expr):
        return None  # reads the array it would write
    first = replace(gs, expr=E.BinOp("*", xhat, proj))
    out = [
        first,
        replace(gs, expr=g, accumulate=True, in_place=True, update="+"),
        replace(gs, expr=mean, accumulate=True, in_place=True, update="-"),
    ]
    if not _scale_of(bwd, xhat, op, k):  # gamma / s: its dtype may widen it
        leaves = _leaves(k)
        if leaves is None:
            return None
        dtype = E.Call(E.Attr(_NP, "result_type"), (E.Name(gs.grad), *leaves))
        cast = E.Call(
            E.Attr(E.Name(gs.grad), "astype"), (dtype,), (("copy", E.Lit("False")),)
        )
        out.append(replace(gs, expr=cast))
    out.append(replace(gs, expr=k, accumulate=True, in_place=True, update=op))
    return out


def _leaves(k: E.Expr) -> list[E.Expr] | None:
    """The names ``gamma / s`` (``gamma * r``) is made of, or None."""
    if isinstance(k, E.Name):
        return [k]
    if isinstance(k, E.BinOp) and k.op in ("*", "/"):
        left, right = _leaves(k.left), _leaves(k.right)
        return None if left is None or right is None else left + right
    return None


def _same(a: E.Expr, b: E.Expr) -> bool:
    """Equal expressions, a string literal's quotes aside."""
    if isinstance(a, E.Lit) and isinstance(b, E.Lit):
        if ir.is_string(a.text) and ir.is_string(b.text):
            return ir.literal(a.text) == ir.literal(b.text)
        return a.text == b.text
    if type(a) is not type(b):
        return False
    if isinstance(a, E.Call) and isinstance(b, E.Call):
        return (
            _same(a.func, b.func)
            and len(a.args) == len(b.args)
            and all(_same(x, y) for x, y in zip(a.args, b.args, strict=True))
            and len(a.kwargs) == len(b.kwargs)
            and all(
                ka == kb and _same(x, y)
                for (ka, x), (kb, y) in zip(a.kwargs, b.kwargs, strict=True)
            )
        )
    return a == b


def share_norm_sums(bwd: Backward) -> Backward:
    """In each closed form, a sum the backward computed already becomes that
    gradient's name: ``np.einsum(spec, g, xhat)`` where an earlier gradient
    is exactly that einsum (grad_gamma in batch norm), and ``np.sum(g,
    axis=A, keepdims=True)`` over leading axes where an earlier gradient is
    ``_unbroadcast(g, np.shape(b))`` with b shaped like g without those axes
    (grad_beta: the same sum, its kept axes broadcasting the same way); g
    seen through plain copies (``grad_out_mul = grad_out``). Only when that
    gradient, g and xhat are not written in between."""
    if bwd.lib != "np":
        return bwd
    order = [
        (i, j, gs) for i, b in enumerate(bwd.blocks) for j, gs in enumerate(b.steps)
    ]
    blocks = [list(b.steps) for b in bwd.blocks]
    shape = shapes(bwd.fn)
    var_of = {g: v for v, g in bwd.grad_names.items()}
    changed = False
    for n, (i, j, gs) in enumerate(order):
        if gs.op != "normalise":
            continue
        before = [s for _, _, s in order[:n]]

        def reuse(e: E.Expr, before: list[GradStep] = before) -> E.Expr | None:
            e = _through_copies(e, before)
            if isinstance(e, E.Call) and e.func == E.Attr(_NP, "einsum"):
                same = _same
            elif _leading_sum(e) is not None:
                same = lambda a, b: _sum_of(a, b, shape, var_of)  # noqa: E731
            else:
                return None
            names = E.names(e)
            for m in range(len(before) - 1, -1, -1):
                s = before[m]
                if s.grad in names:
                    return None  # an operand written after: not the same value
                if not s.accumulate and same(_through_copies(s.expr, before[:m]), e):
                    if any(t.grad == s.grad for t in before[m + 1 :]):
                        return None
                    return E.Name(s.grad)
            return None

        new = E.rewrite(gs.expr, reuse)
        if new != gs.expr:
            blocks[i][j] = replace(gs, expr=new)
            changed = True
    if not changed:
        return bwd
    out = tuple(
        replace(b, steps=tuple(s)) for b, s in zip(bwd.blocks, blocks, strict=True)
    )
    return replace(bwd, blocks=out)


def _through_copies(e: E.Expr, before: list[GradStep]) -> E.Expr:
    """A sum or einsum whose gradient operands are plain copies (the one
    write of ``g`` is ``g = g0``, g0 not written after it) read through them."""
    if not isinstance(e, E.Call):
        return e
    args = []
    for a in e.args:
        if isinstance(a, E.Name):
            writes = [k for k, s in enumerate(before) if s.grad == a.id]
            if len(writes) == 1:
                w = before[writes[0]]
                src = w.expr
                if (
                    not w.accumulate
                    and isinstance(src, E.Name)
                    and not any(s.grad == src.id for s in before[writes[0] :])
                ):
                    a = src
        args.append(a)
    return replace(e, args=tuple(args))


def _leading_sum(e: E.Expr) -> tuple[str, int] | None:
    """(g, k) of ``np.sum(g, axis=A, keepdims=True)``, A the first k axes."""
    if not (
        isinstance(e, E.Call)
        and e.func == E.Attr(_NP, "sum")
        and len(e.args) == 1
        and isinstance(e.args[0], E.Name)
    ):
        return None
    kw = dict(e.kwargs)
    if set(kw) != {"axis", "keepdims"} or kw["keepdims"] != E.Lit("True"):
        return None
    axis = kw["axis"]
    value = ir.literal(axis.text) if isinstance(axis, E.Lit) else None
    axes = (value,) if isinstance(value, int) else value
    if not (isinstance(axes, tuple) and axes and axes == tuple(range(len(axes)))):
        return None
    return e.args[0].id, len(axes)


def _sum_of(candidate: E.Expr, e: E.Expr, shape: dict, var_of: dict) -> bool:
    """candidate is ``_unbroadcast(g, np.shape(b))`` or ``np.sum(g, axis=A)``,
    the same sum as e's."""
    lead = _leading_sum(e)
    if lead is None or not isinstance(candidate, E.Call):
        return False
    g, k = lead
    if (  # np.sum(g, axis=A) (`codegen.core.sum_lean`): the sum without its
        # leading size-1 axes, which broadcast the same way
        candidate.func == E.Attr(_NP, "sum")
        and candidate.args == (E.Name(g),)
        and len(candidate.kwargs) == 1
        and candidate.kwargs[0][0] == "axis"
        and isinstance(candidate.kwargs[0][1], E.Lit)
    ):
        axis = ir.literal(candidate.kwargs[0][1].text)
        axes = (axis,) if isinstance(axis, int) else axis
        return isinstance(axes, tuple) and tuple(axes) == tuple(range(k))
    if candidate.func != E.Name("_unbroadcast") or len(candidate.args) != 2:
        return False
    arg, to = candidate.args
    if arg != E.Name(g) or not (
        isinstance(to, E.Call)
        and to.func == E.Attr(_NP, "shape")
        and len(to.args) == 1
        and isinstance(to.args[0], E.Name)
    ):
        return False
    full, part = shape.get(var_of.get(g, "")), shape.get(to.args[0].id)
    return full is not None and part is not None and tuple(full[k:]) == tuple(part)
