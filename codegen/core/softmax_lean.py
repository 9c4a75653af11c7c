"""Backward IR passes for a softmax and the scale before it.

* `closed_form_softmax`: on the forward IR, the steps

      e = np.exp(z)
      s = np.sum(e, axis=a, keepdims=True)
      A = e / s

  with e read only by s and A, s only by A (neither returned), and z of a
  known rank. Their step-by-step adjoints (G / s, a row sum of G * e over
  s squared, a broadcast, a product with e: e and s cached, three full-size
  temporaries) become the closed form a careful person writes, with G the
  gradient reaching A:

      grad_z = A * (G - sum(G * A, axis=a, keepdims=True))

  the exact gradient of A = softmax(z) along a (dA_k/dz_j = A_k (d_kj - A_j)),
  the sum one einsum. Only A is cached. Where G is an array the backward
  made itself, written once and read by nothing else, it is updated in
  place (``G -= ...``, ``G *= A``) and becomes grad_z: no full-size array
  beyond G;
* `scale_after_matmul`: ``grad_m = G / c`` (or ``G * c``) with c a number
  or a scalar forward value, grad_m read only as an operand of ``@`` (the
  adjoint of ``m = x @ w / c``), is ``grad_m = G`` and the scale moves to
  each product, ``(grad_m @ w.T) / c``: a linear map commutes with a
  scalar, and the products are smaller than grad_m (``Q @ K.T / sqrt(d)``:
  (T, d) results against a (T, T) one).

Every condition is proven on the IR or the backward is left as it is
(tests/test_softmax_lean.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.norm_lean import _axes, _kw
from codegen.core.passes import _fresh, cache_of
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import ranks

_NP = E.Name("np")


@dataclass(frozen=True)
class _Softmax:
    z: str
    e: str
    s: str
    A: str
    axis: int
    rank: int


def _find(bwd: Backward) -> list[_Softmax]:
    fn = bwd.fn
    rank = ranks(fn)
    step_of = {s.target: s for s in bwd.forward}
    uses: dict[str, int] = {}
    for step in fn.body:
        for o in (*step.args, *(v for _, v in step.kwargs)):
            if isinstance(o, ir.Var):
                uses[o.name] = uses.get(o.name, 0) + 1
    results = set(fn.results)
    found = []
    for a in bwd.forward:
        if a.op != "div" or len(a.args) != 2 or a.kwargs:
            continue
        e_op, s_op = a.args
        if not (isinstance(e_op, ir.Var) and isinstance(s_op, ir.Var)):
            continue
        e, s = step_of.get(e_op.name), step_of.get(s_op.name)
        if e is None or s is None or e.op != "exp" or s.op != "sum":
            continue
        if len(e.args) != 1 or e.kwargs or not isinstance(e.args[0], ir.Var):
            continue
        z = e.args[0].name
        r = rank.get(z)
        if r is None or r == 0 or rank.get(a.target) != r or z not in bwd.grad_names:
            continue
        kw = _kw(s)
        if s.args != (e_op,) or kw is None or set(kw) != {"axis", "keepdims"}:
            continue
        axes = _axes(kw["axis"], r) if kw["axis"] != "None" else None
        if kw["keepdims"] != "True" or axes is None or len(axes) != 1:
            continue
        if uses.get(e.target) != 2 or uses.get(s.target) != 1:
            continue
        if {e.target, s.target} & results:
            continue
        found.append(_Softmax(z, e.target, s.target, a.target, axes[0], r))
    return found


def closed_form_softmax(bwd: Backward) -> Backward:
    """Each softmax's adjoints as its closed form (module docstring); the
    backward unchanged where the conditions are not proven."""
    if bwd.lib != "np":
        return bwd
    for sm in _find(bwd):
        bwd = _apply(bwd, sm)
    return bwd


def _row_sum(g: E.Expr, sm: _Softmax) -> E.Expr:
    """sum(g * A, axis, keepdims=True) as one einsum, its axis put back by
    indexing with None (``[:, None]``)."""
    letters = "ijklmnopqrstuvwxyzabcdefgh"[: sm.rank]
    kept = letters.replace(letters[sm.axis], "")
    spec = E.Lit(repr(f"{letters},{letters}->{kept}"))
    out = E.Call(E.Attr(_NP, "einsum"), (spec, g, E.Name(sm.A)))
    return E.Index(out, (*(E.Slice(),) * sm.axis, E.Lit("None")))  # [:, None]


def _apply(bwd: Backward, sm: _Softmax) -> Backward:
    names = bwd.grad_names
    g_name, z_grad = names.get(sm.A), names.get(sm.z)
    if g_name is None or z_grad is None:
        return bwd
    chain = {sm.e, sm.s, sm.A}
    inner = {names[v] for v in (sm.e, sm.s) if v in names}
    removed = [
        (i, j)
        for i, b in enumerate(bwd.blocks)
        for j, gs in enumerate(b.steps)
        if gs.step in chain
    ]
    z_steps = [(i, j) for i, j in removed if bwd.blocks[i].steps[j].grad == z_grad]
    if len(z_steps) != 1:
        return bwd
    for i, j in removed:
        if bwd.blocks[i].steps[j].grad not in inner | {z_grad}:
            return bwd  # a gradient leaves the chain elsewhere
    kept = [gs for b in bwd.blocks for gs in b.steps if gs.step not in chain]
    if any(E.names(gs.expr) & inner or gs.grad in inner for gs in kept):
        return bwd
    writes = [gs for gs in kept if gs.grad == g_name]
    g_reads = [gs for gs in kept if g_name in E.names(gs.expr)]
    own = (
        len(writes) == 1
        and not writes[0].accumulate
        and _fresh(writes[0].expr)
        and not g_reads
        and g_name not in bwd.shared
        and all(g != g_name for _, g in bwd.outputs)
    )
    zi, zj = z_steps[0]
    old = bwd.blocks[zi].steps[zj]
    g = E.Name(g_name)
    common = dict(var=sm.A, step=sm.A, op="softmax", input="z", upstream=g_name)
    first: list[GradStep] = []
    if own:  # G -= rowsum(G * A); G *= A; grad_z = G
        first = [
            GradStep(g_name, _row_sum(g, sm), True, in_place=True, update="-", **common),  # type: ignore[arg-type]
            GradStep(g_name, E.Name(sm.A), True, in_place=True, update="*", **common),  # type: ignore[arg-type]
        ]
        z_expr: E.Expr = g
    else:
        z_expr = E.BinOp("*", E.Name(sm.A), E.BinOp("-", g, _row_sum(g, sm)))
    z_step = replace(old, expr=z_expr, var=sm.z, step=sm.e, upstream=g_name)
    at_first = min(removed)
    blocks: list[Block] = []
    for i, b in enumerate(bwd.blocks):
        steps: list[GradStep] = []
        for j, gs in enumerate(b.steps):
            if (i, j) == at_first:
                steps.extend(first)
            if (i, j) == (zi, zj):
                steps.append(z_step)
            elif gs.step not in chain:
                steps.append(gs)
        blocks.append(replace(b, steps=tuple(steps)))
    new = replace(bwd, blocks=tuple(blocks))
    return replace(new, cache=cache_of(new))


def _scalar(e: E.Expr, rank: dict[str, int | None], grads: set[str]) -> bool:
    """A literal number or a forward value of rank 0 (not a gradient)."""
    if isinstance(e, E.Lit):
        value = ir.literal(e.text)
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(e, E.Name) and e.id not in grads and rank.get(e.id) == 0


def scale_after_matmul(bwd: Backward) -> Backward:
    """``grad_m = G / c`` read only by products ``@``: the scale applied to
    each product instead (module docstring)."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)
    grads = set(bwd.grad_names.values())
    outputs = {g for _, g in bwd.outputs}
    for b in bwd.blocks:
        for gs in b.steps:
            e = gs.expr
            if gs.accumulate or not isinstance(e, E.BinOp) or e.op not in ("*", "/"):
                continue
            if not isinstance(e.left, E.Name) or not _scalar(e.right, rank, grads):
                continue
            if gs.grad in outputs or gs.grad in bwd.shared:
                continue
            new = _moved(bwd, gs, e)
            if new is not None:
                return scale_after_matmul(new)
    return bwd


def _moved(bwd: Backward, gs: GradStep, e: E.BinOp) -> Backward | None:
    m = gs.grad
    steps = [x for b in bwd.blocks for x in b.steps]
    if sum(x.grad == m for x in steps) != 1:
        return None
    products = 0
    for x in steps:
        for node in E.walk(x.expr):
            if isinstance(node, E.BinOp) and node.op == "@":
                products += (node.left == E.Name(m)) + (node.right == E.Name(m))
    reads = sum(
        sum(n == E.Name(m) for n in E.walk(x.expr)) for x in steps if x is not gs
    )
    if products == 0 or reads != products:
        return None
    if any(m in E.names(i) for x in steps for i in x.at):
        return None

    def point(node: E.Expr) -> E.Expr | None:
        if (
            isinstance(node, E.BinOp)
            and node.op == "@"
            and E.Name(m) in (node.left, node.right)
        ):
            return E.BinOp(e.op, node, e.right)
        return None

    blocks = []
    for b in bwd.blocks:
        out = []
        for x in b.steps:
            if x is gs:
                out.append(replace(x, expr=e.left))
            else:
                out.append(replace(x, expr=E.rewrite(x.expr, point)))
        blocks.append(replace(b, steps=tuple(out)))
    new = replace(bwd, blocks=tuple(blocks))
    return replace(new, cache=cache_of(new))
