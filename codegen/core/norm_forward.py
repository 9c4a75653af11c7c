"""Forward IR pass: a variance from the centred values the forward already has.

`variance_from_centred` finds, among the forward steps the generated module
runs, the pair

    mu = np.mean(x, axis=A)            # keepdims=True, or A the leading axes
    c = x - mu
    var = np.var(x, axis=A)            # any keepdims; ddof 0

and computes var from c instead of from x again:

    var_einsum = np.einsum("ij,ij->j", c, c)     # the sum of c * c over A
    var_size = np.size(x)
    var_size_1 = np.size(var_einsum)
    var = var_einsum / (var_size / var_size_1)   # (np.expand_dims first, keepdims)

np.var computes exactly mean(x) (the same sum divided by the same count as
np.mean), then x - mean, then the mean of its squares: the same formula, one
pass over c instead of three over x and no array the size of x. The sums run
in another order (einsum's instead of pairwise), so the two agree to normal
rounding, not bit for bit. codegen is real-valued: for real c the square is
c * c (np.var squares abs(c), the same number). The result keeps var's name,
dtype and shape (einsum over c keeps c's dtype, which is np.var's; the count
is a Python number, which does not change it).

Proven on the IR: the three steps' ops, operands and constant keywords (no
dtype, out or where), the same axes (ranks from the annotations) and a mean
that broadcasts back along them; c is computed before var (moved up when its
operands are) or the steps that read var come after c. Otherwise the
forward is left as it is (tests/test_norm_forward.py).
"""

from __future__ import annotations

from dataclasses import replace

from codegen.core import ir
from codegen.core.norm_lean import _axes, _kw, _reduction
from codegen.core.passes import unused_name
from codegen.core.reverse import Backward
from codegen.core.shapes import _broadcast, ranks, shapes


def _variance(step: ir.Assign, rank: int) -> tuple[str, tuple[int, ...], bool] | None:
    """(x, axes, keepdims) of ``np.var(x, axis=A)`` with ddof 0."""
    if step.op != "var" or len(step.args) != 1 or not isinstance(step.args[0], ir.Var):
        return None
    kw = _kw(step)
    if kw is None or set(kw) - {"axis", "keepdims", "ddof"}:
        return None
    if ir.literal(kw.get("ddof", "0")) != 0 or kw.get("ddof", "0") in ("False",):
        return None
    keep = kw.get("keepdims", "False")
    if keep not in ("True", "False"):
        return None
    axes = _axes(kw.get("axis", "None"), rank)
    if axes is None:
        return None
    return step.args[0].name, axes, keep == "True"


def variance_from_centred(bwd: Backward) -> Backward:
    """Each proven ``np.var(x, axis=A)`` as the mean of ``c * c`` by one
    einsum (see the module docstring); the backward unchanged otherwise."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)
    steps = list(bwd.forward)
    taken = {s.target for s in (*bwd.fn.body, *steps)} | {p.name for p in bwd.fn.params}
    taken |= set(bwd.fn.user_names) | set(bwd.grad_names.values())
    changed = False
    for var in [s for s in steps if s.op == "var"]:
        new = _rewrite(steps, var, rank, taken)
        if new is None:
            continue
        steps, added = new
        taken |= {s.target for s in added}
        changed = True
    if not changed:
        return bwd
    # the body: the forward's steps first (their order proven), then the
    # steps the forward does not run, in their order (each reads only
    # earlier ones), so shapes and ranks are found as before
    ran = {s.target for s in steps}
    rest = [s for s in bwd.fn.body if s.target not in ran and s.op != "var"]
    rest += [s for s in bwd.fn.body if s.op == "var" and s.target not in ran]
    body = (*steps, *rest)
    return replace(bwd, forward=tuple(steps), fn=replace(bwd.fn, body=body))


def _reads(step: ir.Assign, name: str) -> bool:
    return ir.Var(name) in (*step.args, *(v for _, v in step.kwargs))


def _rewrite(
    steps: list[ir.Assign],
    var: ir.Assign,
    rank: dict[str, int | None],
    taken: set[str],
) -> tuple[list[ir.Assign], list[ir.Assign]] | None:
    """`steps` (the function body) with var computed from c, and the new steps."""
    x_op = var.args[0] if var.args else None
    r = rank.get(x_op.name) if isinstance(x_op, ir.Var) else None
    if r is None or r == 0 or r > 26:
        return None
    v = _variance(var, r)
    if v is None:
        return None
    x, axes, keep = v
    at = {s.target: i for i, s in enumerate(steps)}
    for c in steps:
        if c.op != "sub" or c.kwargs or len(c.args) != 2 or c.args[0] != ir.Var(x):
            continue
        mu_op = c.args[1]
        if not (isinstance(mu_op, ir.Var) and mu_op.name in at):
            continue
        mu = steps[at[mu_op.name]]
        if _reduction(mu, ("mean",), r) != (x, axes):
            continue
        placed = _placed(steps, var, c, mu, at)
        if placed is None:
            continue
        order, where = placed
        added = _steps(var, c, x, axes, keep, r, taken)
        return order[:where] + added + order[where:], added
    return None


def _placed(
    steps: list[ir.Assign],
    var: ir.Assign,
    c: ir.Assign,
    mu: ir.Assign,
    at: dict[str, int],
) -> tuple[list[ir.Assign], int] | None:
    """(the steps without var, where var's new steps go), or None when c is
    not there unchanged: computed too late, or written over in place before
    (``c *= s_inv`` of an earlier normalisation of the same x)."""
    i_var, i_c, i_mu = at[var.target], at[c.target], at[mu.target]
    order = [s for s in steps if s is not var]
    if i_c < i_var:  # c is ready: var's steps where var was
        where = i_var
    elif i_mu < i_var:  # c's operands are ready where var was: c moves up
        order.remove(c)
        order.insert(i_var, c)
        where = i_var + 1
    elif any(_reads(s, var.target) for s in steps[i_var + 1 : i_c + 1]):
        return None  # var is read before c can be computed
    else:  # var's steps move down, after c
        where = order.index(c) + 1
    written = (
        (s.into and s.args[:1] == (ir.Var(c.target),)) or s.over == c.target
        for s in order[:where]
    )
    return None if any(written) else (order, where)


def _steps(
    var: ir.Assign,
    c: ir.Assign,
    x: str,
    axes: tuple[int, ...],
    keep: bool,
    r: int,
    taken: set[str] | frozenset[str],
) -> list[ir.Assign]:
    """The einsum, the count and the division, named after var."""
    used = set(taken)

    def fresh(stem: str) -> str:
        return unused_name(stem, used)

    letters = "ijklmnopqrstuvwxyzabcdefgh"[:r]
    kept = "".join(ch for k, ch in enumerate(letters) if k not in axes)
    spec = ir.Const(repr(f"{letters},{letters}->{kept}").replace("'", '"'))

    def step(target: str, op: str, *args: ir.Operand) -> ir.Assign:
        return ir.Assign(
            target,
            op,
            args,
            (),
            var.loc,
            var.source,
            display=var.display,
            intermediate=True,
        )

    total = fresh(f"{var.target}_einsum")
    out = [step(total, "einsum", spec, ir.Var(c.target), ir.Var(c.target))]
    size_x, size_s = fresh(f"{var.target}_size"), fresh(f"{var.target}_size")
    out.append(step(size_x, "size", ir.Var(x)))
    out.append(step(size_s, "size", ir.Var(total)))
    count = fresh(f"{var.target}_count")
    out.append(step(count, "div", ir.Var(size_x), ir.Var(size_s)))
    summed = total
    if keep and axes:
        summed = fresh(f"{var.target}_expand_dims")
        axis = ir.Const(str(axes[0]) if len(axes) == 1 else str(axes))
        out.append(step(summed, "expand_dims", ir.Var(total), axis))
    out.append(replace(var, op="div", args=(ir.Var(summed), ir.Var(count)), kwargs=()))
    return out


def divide_in_place(bwd: Backward) -> Backward:
    """``xhat = c / s`` (or ``c * r``) computed in c's own array, where that
    is proven to be the same computation:

    * c = x - mu with mu = np.mean(x, ...): a new array, of dtype D, the
      floating type np.mean gives x (x's own, or float64 for integers);
    * s is made from c or from x's np.var (dtype D too), by np.sqrt, np.mean,
      np.einsum and arithmetic with number literals (which, being Python
      numbers, never widen an array's dtype): its dtype is D, so c / s has
      c's dtype;
    * s broadcasts against c to c's shape (shapes from the annotations);
    * nothing reads c afterwards: not a later forward step, the backward's
      cache or the results.

    A division becomes a product by ``s_inv = 1 / s`` (s's dtype: 1 is a
    Python number): one division per normalised row instead of one per
    element, as a careful hand-written layer does (``xhat *= istd``). The
    product is within rounding of the quotient (c * (1 / s) and c / s differ
    in the last bit at most), not bit for bit. Every other step is rendered
    as before."""
    if bwd.lib != "np":
        return bwd
    shape = shapes(bwd.fn)
    step_of = {s.target: s for s in bwd.forward}
    kept = set(bwd.cache) | set(bwd.fn.results) | {p.name for p in bwd.fn.params}
    taken = {s.target for s in (*bwd.fn.body, *bwd.forward)} | set(bwd.fn.user_names)
    taken |= {p.name for p in bwd.fn.params} | set(bwd.grad_names.values())
    out: list[ir.Assign | tuple[ir.Assign, ir.Assign]] = list(bwd.forward)
    for k, t in enumerate(bwd.forward):
        if t.op not in ("div", "mul") or t.kwargs or len(t.args) != 2:
            continue
        a, b = t.args
        if not (isinstance(a, ir.Var) and isinstance(b, ir.Var)) or a == b:
            continue
        c = step_of.get(a.name)
        x = _centred(c, step_of, ranks(bwd.fn)) if c is not None else None
        if x is None or a.name in kept:
            continue
        if any(_reads(s, a.name) for s in bwd.forward[k + 1 :]):
            continue
        ca, cb = shape.get(a.name), shape.get(b.name)
        if ca is None or cb is None or _broadcast([ca, cb]) != ca:
            continue
        if not _of_dtype(b.name, a.name, x, step_of, set()):
            continue
        if t.op == "mul":
            out[k] = replace(t, into=True)
            continue
        inv = unused_name(f"{b.name}_inv", taken)
        recip = ir.Assign(
            inv, "div", (ir.Const("1"), b), (), t.loc, t.source, intermediate=True
        )
        out[k] = (recip, replace(t, op="mul", args=(a, ir.Var(inv)), into=True))
    flat: list[ir.Assign] = []
    for s in out:
        flat.extend(s if isinstance(s, tuple) else (s,))
    return replace(bwd, forward=tuple(flat))


def _centred(
    c: ir.Assign, step_of: dict[str, ir.Assign], rank: dict[str, int | None]
) -> str | None:
    """x when c is ``x - np.mean(x, ...)`` of rank 1 or more, else None."""
    if c.op != "sub" or c.kwargs or len(c.args) != 2:
        return None
    x, mu = c.args
    if not (isinstance(x, ir.Var) and isinstance(mu, ir.Var)):
        return None
    m = step_of.get(mu.name)
    r = rank.get(c.target)
    if m is not None and m.op == "div" and len(m.args) == 2 and not m.kwargs:
        total, count = m.args  # np.sum(x, axis) / N, N = x.shape[k]: a Python int
        if _python_int(count, step_of) and isinstance(total, ir.Var):
            m = step_of.get(total.name)
            if m is not None and m.op != "sum":
                return None
    if m is None or m.op not in ("mean", "sum") or m.args != (x,) or not r:
        return None
    kw = _kw(m)
    if kw is None or set(kw) - {"axis", "keepdims"}:
        return None
    if m.op == "sum" and m.target == mu.name:
        return None  # a sum alone is no mean
    return x.name


def _python_int(o: ir.Operand, step_of: dict[str, ir.Assign]) -> bool:
    """``v.shape[k]`` or ``np.shape(v)[k]`` with k a literal: a Python int."""
    item = step_of.get(o.name) if isinstance(o, ir.Var) else None
    if item is None or item.op != "getitem" or len(item.args) != 2:
        return False
    of, k = item.args
    shape = step_of.get(of.name) if isinstance(of, ir.Var) else None
    return (
        shape is not None
        and shape.op in ("shape", "shape_of")
        and isinstance(k, ir.Const)
        and isinstance(ir.literal(k.text), int)
        and not isinstance(ir.literal(k.text), bool)
    )


def _number(o: ir.Operand) -> bool:
    """An int or float literal: a Python number, which NumPy never lets widen
    an array (NEP 50)."""
    if not isinstance(o, ir.Const):
        return False
    value = ir.literal(o.text)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _of_dtype(
    name: str, c: str, x: str, step_of: dict[str, ir.Assign], seen: set[str]
) -> bool:
    """`name` certainly has the dtype of c = x - mean(x) (see divide_in_place)."""
    if name == c:
        return True
    s = step_of.get(name)
    if s is None or name in seen:
        return False
    seen = seen | {name}
    kw = _kw(s)
    if kw is None:
        return False
    arrays = [o for o in s.args if not (_number(o) or _python_int(o, step_of))]
    if s.op == "var":
        return (
            s.args == (ir.Var(x),)
            and not set(kw) - {"axis", "keepdims", "ddof"}
            and _number(ir.Const(kw.get("ddof", "0")))
        )
    if s.op == "einsum":  # the spec, then the operands
        if set(kw) - {"optimize"} or not (s.args and isinstance(s.args[0], ir.Const)):
            return False
        arrays = list(s.args[1:])
    elif s.op in ("mean", "sum", "expand_dims"):
        if set(kw) - {"axis", "keepdims"} or len(s.args) > (
            2 if s.op == "expand_dims" else 1
        ):
            return False
        arrays = [s.args[0]]
    elif s.op not in ("sqrt", "square", "add", "sub", "mul", "div", "pow") or kw:
        return False
    if not arrays or not all(isinstance(o, ir.Var) for o in arrays):
        return False
    return all(_of_dtype(o.name, c, x, step_of, seen) for o in arrays)  # type: ignore[union-attr]
