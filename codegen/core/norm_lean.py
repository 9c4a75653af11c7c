"""Backward IR pass: a normalisation's gradient in closed form.

`closed_form_normalisation` finds, on the forward IR, the steps of

    mu = np.mean(x, axis=A)            # keepdims=True, or A the leading axes
    c = x - mu
    var = np.var(x, axis=A)            # or np.mean(c ** 2 | c * c | np.square(c), axis=A)
    s = np.sqrt(var + eps)             # or (var + eps) ** 0.5; eps a number
    xhat = c / s                       # or c * r with r = 1 / s or (var + eps) ** -0.5

and, when mu, c, var, s (and r) are read by nothing else, replaces their
step-by-step adjoints (four full-size temporaries, x - mu cached) by the
closed form a careful person writes, with G the gradient reaching xhat and
n the number of elements each mean averages:

    grad_x = (xhat * (-sum(G * xhat, A) / n) + G - sum(G, A) / n) * (1 / s)

It is the gradient of xhat = (x - mean(x)) / sqrt(var(x) + eps) exactly
(the mean of xhat over A is zero, the identity the hand-written form also
uses). The first product is a new array and every later operation consumes
a temporary, so NumPy updates it in place: one full-size array beyond G.
When G is ``g * gamma`` with gamma constant along A (batch norm's scale), gamma
moves out of the sums, ``(... g ...) * (gamma / s)``, and G is not built.

Every condition is proven on the IR (op, operands, constant keywords, use
counts, ranks from the annotations); where one is not, the pass leaves the
backward as it is (tests/test_norm_lean.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.norm_means import mean_of
from codegen.core.passes import cache_of
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import ranks, shapes

_NP = E.Name("np")


@dataclass(frozen=True)
class _Norm:
    """One normalisation found in the forward."""

    x: str
    xhat: str
    #: The divisor ``s`` (``xhat = c / s``) or the factor ``r`` (``c * r``).
    scale: str
    divide: bool
    axes: tuple[int, ...]
    rank: int
    #: The forward steps whose adjoints the closed form replaces.
    steps: frozenset[str]


def _kw(step: ir.Assign) -> dict[str, str] | None:
    """The step's keywords as constant texts, or None when one is computed."""
    out = {}
    for k, v in step.kwargs:
        if not isinstance(v, ir.Const):
            return None
        out[k] = v.text
    return out


def _axes(text: str, rank: int) -> tuple[int, ...] | None:
    """``axis`` text -> sorted non-negative axes (None: every axis)."""
    value = ir.literal(text)
    if text == "None":
        return tuple(range(rank))
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not (isinstance(value, tuple) and value):
        return None
    out = set()
    for a in value:
        if not isinstance(a, int) or isinstance(a, bool) or not -rank <= a < rank:
            return None
        out.add(a % rank)
    if len(out) != len(value):
        return None
    return tuple(sorted(out))


def _reduction(
    step: ir.Assign, ops: tuple[str, ...], rank: int
) -> tuple[str, tuple[int, ...]] | None:
    """(operand, axes) of ``np.mean(v, axis=A)`` (or np.var) whose result
    broadcasts against v axis for axis: keepdims=True, or A the leading axes."""
    if step.op not in ops or len(step.args) != 1:
        return None
    v = step.args[0]
    kw = _kw(step)
    if not isinstance(v, ir.Var) or kw is None:
        return None
    if set(kw) - {"axis", "keepdims", "ddof"} or kw.get("ddof", "0") not in ("0",):
        return None
    axes = _axes(kw.get("axis", "None"), rank)
    if axes is None:
        return None
    keep = kw.get("keepdims", "False")
    if keep not in ("True", "False"):
        return None
    if keep == "False" and axes != tuple(range(len(axes))):
        return None  # (N,) against (N, D): not broadcast along the reduced axes
    return v.name, axes


def _number(o: ir.Operand, rank: dict[str, int | None], active: set[str]) -> bool:
    """A literal number, or a value proven scalar that carries no gradient."""
    if isinstance(o, ir.Const):
        value = ir.literal(o.text)
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return rank.get(o.name) == 0 and o.name not in active


def _find(bwd: Backward, active: set[str]) -> list[_Norm]:
    fn = bwd.fn
    rank, shape = ranks(fn), shapes(fn)
    step_of = {s.target: s for s in bwd.forward}
    uses: dict[str, int] = {}
    for s in fn.body:
        for o in (*s.args, *(v for _, v in s.kwargs)):
            if isinstance(o, ir.Var):
                uses[o.name] = uses.get(o.name, 0) + 1
    results = set(fn.results)

    def private(name: str, n: int = 1) -> bool:
        """Read by exactly n steps' operands, and not returned."""
        return uses.get(name) == n and name not in results and name in step_of

    found = []
    for xhat in bwd.forward:
        if xhat.op not in ("div", "mul") or len(xhat.args) != 2 or xhat.kwargs:
            continue
        c_op, k_op = xhat.args
        if not (isinstance(c_op, ir.Var) and isinstance(k_op, ir.Var)):
            continue
        c = step_of.get(c_op.name)
        if c is None or c.op != "sub" or len(c.args) != 2 or c.kwargs:
            continue
        x, mu_op = c.args
        if not (isinstance(x, ir.Var) and isinstance(mu_op, ir.Var)):
            continue
        r = rank.get(x.name)
        if r is None or r == 0 or x.name not in active:
            continue
        mu = step_of.get(mu_op.name)
        if mu is None:
            continue
        m = mean_of(mu, step_of, r, private, _reduction, shape)
        if m is None or m[0] != x.name:
            continue
        axes = m[1]
        chain = {xhat.target, c.target, mu.target, *m[2]}
        # the scale: s = sqrt(a) (xhat = c / s), or r = 1 / s, a ** -0.5 (c * r)
        k = step_of.get(k_op.name)
        if k is None:
            continue
        a_name = None
        if xhat.op == "div":
            a_name = _sqrt_of(k)
        elif k.op == "div" and len(k.args) == 2 and _exponent(k.args[0]) == 1.0:
            den = k.args[1]
            sq_root = step_of.get(den.name) if isinstance(den, ir.Var) else None
            if sq_root is not None and private(sq_root.target):
                a_name = _sqrt_of(sq_root)
                chain.add(sq_root.target)
        elif k.op == "pow" and not k.kwargs and _power(k, -0.5):
            a_name = k.args[0].name  # type: ignore[union-attr]
        if a_name is None or not private(k.target):
            continue
        chain.add(k.target)
        a = step_of.get(a_name)
        if a is None or not private(a.target) or a.op != "add" or a.kwargs:
            continue
        if len(a.args) != 2:
            continue
        left, right = a.args
        if _number(left, rank, active) and not _number(right, rank, active):
            left, right = right, left  # eps + var
        if not (isinstance(left, ir.Var) and _number(right, rank, active)):
            continue
        chain.add(a.target)
        var = step_of.get(left.name)
        if var is None or not private(var.target):
            continue
        chain.add(var.target)
        # var = np.var(x, axis=A), or the mean over A of the square of x - mu
        if var.op == "var":
            nv = _reduction(var, ("var",), r)
            v = None if nv is None else (*nv, frozenset[str]())
        else:  # the mean of the squares, any spelling of the mean
            v = mean_of(var, step_of, r, private, _reduction, shape)
        if v is None or v[1] != axes:
            continue
        chain |= v[2]
        if var.op != "var":
            sq = step_of.get(v[0])
            base = _square_of(sq) if sq is not None else None
            cv = step_of.get(base) if base is not None else None
            if sq is None or cv is None or not private(sq.target):
                continue
            if cv.op != "sub" or cv.args != c.args or cv.kwargs:
                continue
            chain |= {sq.target, cv.target}
            if cv.target != c.target and not private(
                cv.target, 2 if sq.op == "mul" else 1
            ):
                continue
        elif v[0] != x.name:
            continue
        # mu and c read by nothing outside the chain
        c_uses = sum(
            o == ir.Var(c.target) for s in fn.body if s.target in chain for o in s.args
        )
        mu_uses = sum(
            o == ir.Var(mu.target) for s in fn.body if s.target in chain for o in s.args
        )
        if not (private(c.target, c_uses) and private(mu.target, mu_uses)):
            continue
        found.append(
            _Norm(
                x.name,
                xhat.target,
                k.target,
                xhat.op == "div",
                axes,
                r,
                frozenset(chain),
            )
        )
    return found


def _sqrt_of(step: ir.Assign) -> str | None:
    """The operand of ``np.sqrt(a)`` or ``a ** 0.5``."""
    if step.kwargs or not step.args or not isinstance(step.args[0], ir.Var):
        return None
    if step.op == "sqrt" and len(step.args) == 1:
        return step.args[0].name
    if step.op == "pow" and len(step.args) == 2 and _exponent(step.args[1]) == 0.5:
        return step.args[0].name
    return None


def _power(step: ir.Assign, p: float) -> bool:
    """``v ** p`` with v a name."""
    return (
        len(step.args) == 2
        and isinstance(step.args[0], ir.Var)
        and _exponent(step.args[1]) == p
    )


def _exponent(o: ir.Operand) -> float | None:
    value = ir.literal(o.text) if isinstance(o, ir.Const) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _square_of(step: ir.Assign) -> str | None:
    """The operand of ``c ** 2``, ``c * c`` or ``np.square(c)``."""
    if step.kwargs or not step.args or not isinstance(step.args[0], ir.Var):
        return None
    c = step.args[0].name
    if step.op == "mul" and len(step.args) == 2 and step.args[1] == step.args[0]:
        return c
    if step.op == "pow" and len(step.args) == 2 and _exponent(step.args[1]) == 2.0:
        return c
    if step.op == "square" and len(step.args) == 1:
        return c
    return None


def _sum_product(g: E.Expr, xhat: E.Name, norm: _Norm) -> E.Expr:
    """The sum of g * xhat over the axes, shaped to broadcast against xhat:
    one einsum, no array of products."""
    letters = "ijklmnopqrstuvwxyzabcdefgh"[: norm.rank]
    kept = "".join(ch for k, ch in enumerate(letters) if k not in norm.axes)
    spec = E.Lit(repr(f"{letters},{letters}->{kept}"))
    out: E.Expr = E.Call(E.Attr(_NP, "einsum"), (spec, g, xhat))
    if norm.axes != tuple(range(len(norm.axes))):  # not leading: keep the axes
        out = E.Call(E.Attr(_NP, "expand_dims"), (out, _axes_lit(norm.axes)))
    return out


def _axes_lit(axes: tuple[int, ...]) -> E.Expr:
    return E.Lit(str(axes[0]) if len(axes) == 1 else str(axes))


def _closed_form(g: E.Expr, norm: _Norm, factor: E.Expr | None) -> E.Expr:
    xhat = E.Name(norm.xhat)
    # n: the elements each mean averages (xhat's size over the scale's)
    n = E.BinOp(
        "/",
        E.Call(E.Attr(_NP, "size"), (xhat,)),
        E.Call(E.Attr(_NP, "size"), (E.Name(norm.scale),)),
    )
    proj = E.BinOp("/", E.Unary("-", _sum_product(g, xhat, norm)), n)
    total = E.Call(
        E.Attr(_NP, "sum"),
        (g,),
        (("axis", _axes_lit(norm.axes)), ("keepdims", E.Lit("True"))),
    )
    mean = E.BinOp("/", total, n)
    body = E.BinOp("-", E.BinOp("+", E.BinOp("*", xhat, proj), g), mean)
    scale: E.Expr = E.Name(norm.scale)
    if factor is not None:
        op = "/" if norm.divide else "*"
        return E.BinOp("*", body, E.BinOp(op, factor, scale))
    if norm.divide:  # times 1 / s: one division per normalised row, not per element
        return E.BinOp("*", body, E.BinOp("/", E.Lit("1"), scale))
    return E.BinOp("*", body, scale)


def _factored(
    bwd: Backward, g_name: str, norm: _Norm, shape: dict
) -> tuple[E.Expr, E.Expr, GradStep] | None:
    """G = ``g * gamma`` written once and read only here, gamma constant along
    the normalised axes (proven shape), g shaped like xhat: (g, gamma, G's step)."""
    writes = [gs for b in bwd.blocks for gs in b.steps if gs.grad == g_name]
    if len(writes) != 1 or writes[0].accumulate:
        return None
    e = writes[0].expr
    if not (isinstance(e, E.BinOp) and e.op == "*"):
        return None
    reads = sum(
        g_name in E.names(gs.expr)
        for b in bwd.blocks
        for gs in b.steps
        if gs.step not in norm.steps
    )
    if reads or any(g == g_name for _, g in bwd.outputs):
        return None
    var_of = {gn: v for v, gn in bwd.grad_names.items()}
    x_shape = shape.get(norm.x)
    for up, gamma in ((e.left, e.right), (e.right, e.left)):
        if not (isinstance(up, E.Name) and isinstance(gamma, E.Name)):
            continue
        if x_shape is None or shape.get(var_of.get(up.id, "")) != x_shape:
            continue
        gs = shape.get(gamma.id)
        if gs is None or len(gs) > norm.rank:
            continue
        lead = norm.rank - len(gs)
        if all(k < lead or gs[k - lead] == "1" for k in norm.axes):
            return up, gamma, writes[0]
    return None


def closed_form_normalisation(bwd: Backward) -> Backward:
    """Each normalisation's adjoints as one closed-form contribution to grad_x
    (see the module docstring); the backward unchanged where none is proven."""
    if bwd.lib != "np":
        return bwd
    active = set(bwd.grad_names)
    shape = shapes(bwd.fn)
    for norm in _find(bwd, active):
        bwd = _apply(bwd, norm, shape)
    return bwd


def _apply(bwd: Backward, norm: _Norm, shape: dict) -> Backward:
    g_name = bwd.grad_names.get(norm.xhat)
    x_grad = bwd.grad_names.get(norm.x)
    if g_name is None or x_grad is None:
        return bwd
    chain_grads = {bwd.grad_names[v] for v in norm.steps if v in bwd.grad_names}
    removed = [
        (i, j)
        for i, b in enumerate(bwd.blocks)
        for j, gs in enumerate(b.steps)
        if gs.step in norm.steps
    ]
    if not removed:
        return bwd
    for i, j in removed:
        gs = bwd.blocks[i].steps[j]
        if gs.grad not in chain_grads | {x_grad}:
            return bwd  # a gradient leaves the chain elsewhere (eps differentiated)
    # the chain's gradients are read nowhere else
    kept = [gs for b in bwd.blocks for gs in b.steps if gs.step not in norm.steps]
    if any(E.names(gs.expr) & (chain_grads - {g_name}) for gs in kept):
        return bwd
    if any(gs.grad in chain_grads - {g_name} for gs in kept):
        return bwd
    first = min(removed)
    factor = _factored(bwd, g_name, norm, shape)
    g: E.Expr = E.Name(g_name)
    gamma = None
    if factor is not None:
        g, gamma, _ = factor
    writes = [gs for b in bwd.blocks for gs in b.steps if gs.grad == x_grad]
    earlier = any(
        gs.grad == x_grad
        for b in bwd.blocks[: first[0]]
        for gs in b.steps
        if gs.step not in norm.steps
    ) or any(
        gs.grad == x_grad and gs.step not in norm.steps
        for gs in bwd.blocks[first[0]].steps[: first[1]]
    )
    # x returned too (``return y, x``): its first write adds to that output's
    # gradient, so the closed form adds as well
    earlier = earlier or writes[0].accumulate
    step = GradStep(
        x_grad,
        _closed_form(g, norm, gamma),
        earlier,
        norm.x,
        norm.xhat,
        "normalise",
        "x",
        g_name,
    )
    drop = set(removed)
    blocks: list[Block] = []
    for i, b in enumerate(bwd.blocks):
        steps: list[GradStep] = []
        for j, gs in enumerate(b.steps):
            if (i, j) == first:
                steps.append(step)
            if (i, j) in drop:
                continue
            if factor is not None and gs is factor[2]:
                continue
            steps.append(gs)
        blocks.append(replace(b, steps=tuple(steps)))
    # a later contribution to grad_x now always adds to the closed form
    out: list[Block] = []
    seen = False
    for b in blocks:
        steps = []
        for gs in b.steps:
            if gs.grad == x_grad:
                if seen and not gs.accumulate:
                    gs = replace(gs, accumulate=True)
                seen = True
            steps.append(gs)
        out.append(replace(b, steps=tuple(steps)))
    shared = tuple(s for s in bwd.shared if s != x_grad)  # a new array now
    new = replace(bwd, blocks=tuple(out), shared=shared)
    return replace(new, cache=cache_of(new))
