"""Small pure passes over the IR, between parse and reverse and after reverse.

* `share` (forward IR): an intermediate computed twice from the same operands
  (``x[1:]`` in ``np.sum(x[1:] * x[1:])``) is computed once;
* `fuse_sum_of_squares` (forward IR): ``np.sum(x * x)`` over the whole array
  is ``np.vdot(x, x)``: no temporary the size of x, and its gradient
  ``2 * g * x`` is one pass;
* `scalar_floats` (forward IR): a function written with ``np.exp`` whose
  parameters are all annotated ``float`` (or ``int``) is scalar code: it is
  generated as a ``math`` module, as fast as hand-written Python floats;
* `shift_invariant` (forward IR): a maximum subtracted only to stabilise a
  softmax or a log-sum-exp (``z = x - np.max(x, axis=1, keepdims=True)``)
  carries exactly zero gradient; its name is handed to the reverse pass as a
  constant, so the backward has no comparison mask and caches no maximum;
* `accumulate_in_place` (backward IR): ``grad_a = grad_a + c`` becomes
  ``grad_a += c`` where grad_a holds a new array the backward made itself
  (a product, a matmul, a scatter), so the sum needs no new array;
* `cache_shapes` (backward IR): a forward array the backward reads only for
  its shape is cached as its shape, so the cache (and the flat
  value-and-grad) no longer holds the array.

Symbolic zeros are the reverse pass's own: an adjoint that is known to be zero
returns None there and is never computed. Each pass takes and returns plain
values and has its own tests (tests/test_passes.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.rules import RULES
from codegen.core.shapes import ranks, shapes


def share(fn: ir.Function) -> ir.Function:
    """Common-subexpression elimination over the forward steps: a step whose
    op and operands repeat an earlier step's is dropped, and its uses read the
    earlier target. Only intermediates codegen named (`ir.Assign.intermediate`)
    are merged; the user's own names, and the result, are kept."""
    seen: dict[tuple[object, ...], str] = {}
    rename: dict[str, str] = {}
    body: list[ir.Assign] = []

    def operand(o: ir.Operand) -> ir.Operand:
        return ir.Var(rename.get(o.name, o.name)) if isinstance(o, ir.Var) else o

    for step in fn.body:
        step = replace(
            step,
            args=tuple(operand(a) for a in step.args),
            kwargs=tuple((k, operand(v)) for k, v in step.kwargs),
        )
        key = (step.op, step.args, step.kwargs)
        mergeable = (
            step.intermediate and not step.extra_targets and step.target != fn.result
        )
        if mergeable and key in seen:
            rename[step.target] = seen[key]
            continue
        if not step.extra_targets:
            seen.setdefault(key, step.target)
        body.append(step)
    if not rename:
        return fn
    return replace(fn, body=tuple(body))


def fuse_sum_of_squares(fn: ir.Function) -> ir.Function:
    """``t = x * x; s = np.sum(t)`` (or ``x ** 2``, ``np.square(x)``; no axis,
    t read nowhere else, codegen's own intermediate) becomes
    ``s = np.vdot(x, x)``."""
    uses: dict[str, int] = {}
    for step in fn.body:
        for o in (*step.args, *(v for _, v in step.kwargs)):
            if isinstance(o, ir.Var):
                uses[o.name] = uses.get(o.name, 0) + 1
    uses[fn.result] = uses.get(fn.result, 0) + 1
    squares = {
        s.target: s.args[0]
        for s in fn.body
        if s.intermediate
        and isinstance(s.args[0], ir.Var)
        and uses.get(s.target) == 1
        and _is_square(s)
    }
    fused: set[str] = set()
    body: list[ir.Assign] = []
    for step in fn.body:
        arg = step.args[0] if step.args else None
        if (
            step.op == "sum"
            and not step.kwargs
            and isinstance(arg, ir.Var)
            and arg.name in squares
        ):
            x = squares[arg.name]
            fused.add(arg.name)
            step = replace(step, op="vdot", args=(x, x))
        body.append(step)
    if not fused:
        return fn
    return replace(fn, body=tuple(s for s in body if s.target not in fused))


_SCALAR_ANNOTATIONS = ("float", "int")


def scalar_floats(fn: ir.Function) -> ir.Function:
    """Treat a NumPy-spelled function as scalar code when every parameter is
    annotated ``float`` or ``int`` and every step has a ``math`` form."""
    if not fn.array or not fn.params:
        return fn
    if any(p.annotation not in _SCALAR_ANNOTATIONS for p in fn.params):
        return fn
    for step in fn.body:
        prim = RULES[step.op]
        scalar = prim.forward_for("math")
        if step.kwargs or "np." in scalar or "_" in scalar.split("(")[0]:
            return fn
    return replace(fn, array=False)


#: A value's dependence on a shift d of the maximum m (d constant along the
#: reduced axis): ("add", k) changes by k * d, ("mul", p) is multiplied by
#: exp(p * d), INVARIANT does not change, and None is anything else.
_Dep = tuple[str, int] | None
INVARIANT: _Dep = ("add", 0)


def shift_invariant(fn: ir.Function) -> frozenset[str]:
    """The maxima ``m = np.max(x, axis=a, keepdims=True)`` on which the result
    does not depend at all, holding x fixed: then d(result)/dm is zero and
    the gradient through the maximum is exactly zero, never computed.

    Proof by following a shift d of m (constant along axis a, as m has size 1
    there) through the steps after it: ``x - m`` moves by -d, ``exp`` turns a
    move by k d into a factor exp(k d), a sum or max along the same axis with
    keepdims keeps either, ``log`` turns a factor back into a move, and
    products, quotients, sums and differences combine them; every result must
    come out unchanged (softmax ``e / np.sum(e, ...)``, log-sum-exp
    ``z - np.log(np.sum(np.exp(z), ...))``). Every value moved must have the
    rank of x, so that axis a names the same axis everywhere: proven by the
    annotations, or because a moved value only meets x itself, numbers and
    other moved values. Any other use of a moved value (an index, a reshape,
    a product of two moves) stops the proof: the maximum keeps its gradient."""
    if not fn.array:
        return frozenset()
    rank = ranks(fn)
    zero: set[str] = set()
    for i, step in enumerate(fn.body):
        x = step.args[0] if step.op == "amax" and len(step.args) == 1 else None
        if not isinstance(x, ir.Var):
            continue
        r = rank.get(x.name)
        axis = _axis_of(step, r)
        if axis is None or rank.get(step.target) != r:
            continue
        deps: dict[str, _Dep] = {step.target: ("add", 1)}
        for later in fn.body[i + 1 :]:
            dep = _follow(later, deps, x.name, axis, rank)
            if dep != INVARIANT:
                for t in (later.target, *later.extra_targets):
                    deps[t] = dep
        if all(deps.get(res, INVARIANT) == INVARIANT for res in fn.results):
            zero.add(step.target)
    return frozenset(zero)


def _axis_of(step: ir.Assign, rank: int | None) -> int | None:
    """The one axis `step` reduces with keepdims=True: counted from 0 when
    the rank is known, else as written."""
    kw = dict(step.kwargs)
    if set(kw) - {"axis", "keepdims"}:
        return None
    keep, axis = kw.get("keepdims"), kw.get("axis")
    if not isinstance(keep, ir.Const) or keep.text != "True":
        return None
    if not isinstance(axis, ir.Const):
        return None
    try:
        a = ast.literal_eval(axis.text)  # "1", "-1", "(-1)"
    except (ValueError, SyntaxError):
        return None
    if not isinstance(a, int) or isinstance(a, bool):
        return None
    if rank is None:
        return a
    return a % rank if -rank <= a < rank else None


def _number(o: ir.Operand) -> bool:
    if not isinstance(o, ir.Const):
        return False
    try:
        float(o.text)
    except ValueError:
        return False
    return True


def _follow(
    step: ir.Assign,
    deps: dict[str, _Dep],
    x: str,
    axis: int,
    rank: dict[str, int | None],
) -> _Dep:
    """How `step`'s value depends on the shift, given its operands'."""
    ops = [
        deps.get(o.name, INVARIANT) if isinstance(o, ir.Var) else INVARIANT
        for o in step.args
    ]
    kws = [deps.get(v.name, INVARIANT) for _, v in step.kwargs if isinstance(v, ir.Var)]
    if all(d == INVARIANT for d in ops + kws):
        return INVARIANT
    if any(d != INVARIANT for d in kws) or None in ops or step.extra_targets:
        return None
    known = rank.get(x) is not None and rank.get(step.target) == rank.get(x)
    for o, d in zip(step.args, ops, strict=True):
        still = isinstance(o, ir.Var) and o.name == x
        if d == INVARIANT and not (known or still or _number(o)):
            return None  # an operand that may broadcast in more axes
    out = _combine(step, ops, axis, rank.get(x))
    return INVARIANT if out is not None and out[1] == 0 else out


def _combine(step: ir.Assign, ops: list[_Dep], axis: int, rank: int | None) -> _Dep:
    op, n = step.op, len(ops)
    if op in ("add", "sub") and n == 2:
        (ka, a), (kb, b) = ops  # type: ignore[misc]
        if ka == kb == "add":  # (u + a d) - (v + b d)
            return ("add", a + b if op == "add" else a - b)
        if ka == kb == "mul" and a == b:  # u e^{ad} + v e^{ad}: one factor
            return ("mul", a)
        return None  # INVARIANT is ("add", 0): it never meets a factor here
    if op in ("mul", "div") and n == 2:
        (ka, a), (kb, b) = ops  # type: ignore[misc]
        if (ka == "mul" or a == 0) and (kb == "mul" or b == 0):  # INVARIANT: e^0
            return ("mul", a + b if op == "mul" else a - b)
        return None
    if n != 1:
        return None
    kind, k = ops[0]  # type: ignore[misc]
    if op == "neg":
        return (kind, -k if kind == "add" else k)
    if op == "exp" and kind == "add":
        return ("mul", k)
    if op == "log" and kind == "mul":
        return ("add", k)
    if op in ("sum", "mean", "amax", "amin"):
        if _axis_of(step, rank) != axis:
            return None
        if op == "sum" and kind != "mul":
            return None
        return (kind, k)
    return None


def _is_square(s: ir.Assign) -> bool:
    """``x * x``, ``x ** 2`` or ``np.square(x)``."""
    if s.op == "mul":
        return len(s.args) == 2 and s.args[0] == s.args[1]
    if s.op == "pow":
        return isinstance(s.args[1], ir.Const) and s.args[1].text in ("2", "2.0")
    return s.op == "square"


#: Calls whose result is a new, writable array (never a view or an input).
_FRESH_CALLS = {
    ("np", "einsum"),
    ("np", "outer"),
    ("np", "where"),
    ("np", "zeros"),
    (None, "_scatter"),
    (None, "_scatter_add"),
    (None, "_setitem"),
    (None, "_unwindow"),
    (None, "_pool_route"),
}


def _fresh(e: E.Expr) -> bool:
    """True when `e` certainly evaluates to a new writable array or a number."""
    if isinstance(e, E.BinOp):
        return True  # x * y, g @ w.T: a new array (or a number)
    if isinstance(e, E.Unary) and e.op == "-":
        return True
    if isinstance(e, E.Call):
        f = e.func
        if isinstance(f, E.Name):
            return (None, f.id) in _FRESH_CALLS
        if isinstance(f, E.Attr) and isinstance(f.value, E.Name):
            return (f.value.id, f.attr) in _FRESH_CALLS
    return False


def accumulate_in_place(bwd: Backward) -> Backward:
    """Mark accumulations into a gradient whose first value the backward
    allocated itself as in place. Every contribution has been summed to the
    gradient's shape already, and no other name can hold that array while it
    is accumulated (it is read only once complete), so ``+=`` changes nothing
    the caller or another gradient sees. A gradient whose first value is
    another gradient (``grad_x = grad_xhat_sub``) is accumulated out of place
    once: two names hold that array (and a generated module must parse again,
    for second order, where an in-place update of a shared array is
    refused); the sum is a new array, and later accumulations are in place."""
    if bwd.lib != "np":
        return bwd
    owned: dict[str, bool] = {}
    blocks = []
    for block in bwd.blocks:
        steps = []
        for gs in block.steps:
            if not gs.accumulate:
                owned[gs.grad] = _fresh(gs.expr)
            elif owned.get(gs.grad):
                gs = replace(gs, in_place=True)
            else:  # grad = grad + c is a new array, held by grad alone
                owned[gs.grad] = True
            steps.append(gs)
        blocks.append(replace(block, steps=tuple(steps)))
    return replace(bwd, blocks=tuple(blocks))


_NP = E.Name("np")


def _np_call(e: E.Expr, name: str) -> bool:
    return isinstance(e, E.Call) and e.func == E.Attr(_NP, name)


def _is_number(e: E.Expr) -> bool:
    """A literal number, or a ratio of sizes (``np.size(x) / np.size(g)``)."""
    if isinstance(e, E.Lit):
        try:
            float(e.text)
        except ValueError:
            return False
        return True
    if _np_call(e, "size"):
        return True
    if isinstance(e, E.BinOp) and e.op in ("*", "/"):
        return _is_number(e.left) and _is_number(e.right)
    return False


def _chain(e: E.Expr) -> list[tuple[str, E.Expr]]:
    """``a * b / c`` as [("*", a), ("*", b), ("/", c)] (its left spine)."""
    if isinstance(e, E.BinOp) and e.op in ("*", "/"):
        return [*_chain(e.left), (e.op, e.right)]
    return [("*", e)]


def _unchain(factors: list[tuple[str, E.Expr]]) -> E.Expr:
    out = factors[0][1]
    for op, f in factors[1:]:
        out = E.BinOp(op, out, f)
    return out


def lean_normalisation(bwd: Backward) -> Backward:
    """What a careful person writes in a normalisation's backward:

    * ``x - np.mean(x, axis=a, keepdims=True)`` inside a gradient (var's and
      std's adjoints) reads the forward's own ``x - mu``, where ``mu`` is that
      mean: not recomputed, and x need not be cached;
    * ``_unbroadcast(-A * B / c, S)`` where c has the shape S (proven) is
      ``-_unbroadcast(A * B, S) / c``: c is constant along every axis summed,
      so it is applied once to the sum, not to the whole array, and the
      negation too;
    * ``grad_x + np.broadcast_to(a, np.shape(x)) / n`` (n a number) is
      ``grad_x + a / n``: the sum has x's shape either way;
    * in var's and std's contribution the numbers are applied to the upstream
      gradient first (``g * 2 / n * d``): one pass over d, not three.
    """
    if bwd.lib != "np":
        return bwd
    shape = shapes(bwd.fn)
    centred = _centred(bwd, shape)
    var_of = {g: v for v, g in bwd.grad_names.items()}

    def shape_of(e: E.Expr) -> tuple[str, ...] | None:
        if isinstance(e, E.Name):
            return shape.get(var_of.get(e.id, e.id))
        return None

    def like(e: E.Expr, target: E.Name) -> bool:
        """e has the shape of `target` (the same name, or a proven equal
        shape), or is a number."""
        if _is_number(e):
            return True
        if isinstance(e, E.Name):
            same = shape_of(e) is not None and shape_of(e) == shape_of(target)
            return e.id == target.id or same
        if isinstance(e, E.Unary) and e.op == "-":
            return like(e.operand, target)
        if isinstance(e, E.BinOp) and e.op == "**":
            return like(e.left, target) and _is_number(e.right)
        if isinstance(e, E.BinOp) and e.op in ("*", "/"):
            return like(e.left, target) and like(e.right, target)
        return False

    def unbroadcast(e: E.Expr) -> E.Expr | None:
        if not (isinstance(e, E.Call) and e.func == E.Name("_unbroadcast")):
            return None
        if len(e.args) != 2 or e.kwargs:
            return None
        s = e.args[1]
        target = s.args[0] if _np_call(s, "shape") and len(s.args) == 1 else None  # type: ignore[attr-defined]
        factors = _chain(e.args[0])
        sign = False
        first = factors[0][1]
        if isinstance(first, E.Unary) and first.op == "-":
            sign, factors[0] = True, ("*", first.operand)
        moved = [] if not isinstance(target, E.Name) else factors[1:]
        inside = [factors[0]] + [
            f for f in factors[1:] if f not in moved or not like(f[1], target)
        ]
        outside = [f for f in moved if like(f[1], target)]
        if not sign and not outside:
            return None
        out: E.Expr = E.Call(e.func, (_unchain(inside), s))
        out = _unchain([("*", out), *outside])
        return E.Unary("-", out) if sign else out

    def reduced_product(e: E.Expr) -> E.Expr | None:
        """``_unbroadcast(a * b, np.shape(t))``, a and b of one proven shape:
        ``np.einsum`` sums the products without an array of them."""
        if not (isinstance(e, E.Call) and e.func == E.Name("_unbroadcast")):
            return None
        if len(e.args) != 2 or not _np_call(e.args[1], "shape"):
            return None
        prod, s = e.args
        if not (isinstance(prod, E.BinOp) and prod.op == "*"):
            return None
        a, b = prod.left, prod.right
        if not (isinstance(a, E.Name) and isinstance(b, E.Name)):
            return None
        spec = _einsum_spec(shape_of(a), shape_of(b), shape_of(s.args[0]))  # type: ignore[attr-defined]
        if spec is None:
            return None
        out: E.Expr = E.Call(E.Attr(_NP, "einsum"), (E.Lit(repr(spec[0])), a, b))
        return E.Call(E.Attr(_NP, "reshape"), (out, s)) if spec[1] else out

    blocks = []
    for block in bwd.blocks:
        steps = []
        for gs in block.steps:
            e = gs.expr
            if centred:
                e = _with_centred(e, centred)
            e = E.rewrite(E.rewrite(e, unbroadcast), reduced_product)
            if gs.accumulate:
                e = _drop_broadcast(e, gs.var, shape)
            if gs.op in ("var", "std"):
                e = _numbers_first(e)
            steps.append(replace(gs, expr=e))
        blocks.append(replace(block, steps=tuple(steps)))
    out = replace(bwd, blocks=tuple(blocks))
    return replace(out, cache=_cache(out, out.forward))


def _einsum_spec(
    a: tuple[str, ...] | None, b: tuple[str, ...] | None, t: tuple[str, ...] | None
) -> tuple[str, bool] | None:
    """The einsum that sums a * b (both shaped `a`) down to the shape `t`, and
    whether its result still needs the size-1 axes of `t` (a reshape)."""
    if a is None or a != b or t is None or not a or len(t) > len(a) or len(a) > 8:
        return None
    letters = "ijklmnop"[: len(a)]
    lead = len(a) - len(t)
    keep = []
    for k, n in enumerate(a):
        if k < lead:
            continue
        m = t[k - lead]
        if m == n:
            keep.append(letters[k])
        elif m != "1":
            return None  # not a reduction of a to t
    if len(keep) == len(a):
        return None  # nothing summed
    spec = f"{letters},{letters}->{''.join(keep)}"
    return spec, len(keep) != len(t)


def _centred(bwd: Backward, shape: dict) -> dict[E.Expr, str]:
    """``x - np.mean(x, axis=a, keepdims=True)`` -> the forward step that holds
    it: ``t = x - mu`` with ``mu = np.mean(x, axis=a, keepdims=True)``, or
    with ``mu = np.mean(x, axis=0)`` (the leading axis: the same broadcast)."""
    means = {}
    for step in bwd.forward:
        x = step.args[0] if step.op == "mean" and len(step.args) == 1 else None
        if not isinstance(x, ir.Var):
            continue
        kw = {k: v.text for k, v in step.kwargs if isinstance(v, ir.Const)}
        if len(kw) != len(step.kwargs) or set(kw) - {"axis", "keepdims"}:
            continue
        axis = kw.get("axis", "None")
        leading = axis in ("0", "None") and shape.get(x.name) is not None
        if kw.get("keepdims", "False") != "True" and not leading:
            continue
        means[step.target] = (x.name, axis)
    out: dict[E.Expr, str] = {}
    for step in bwd.forward:
        if step.op != "sub" or len(step.args) != 2 or step.kwargs:
            continue
        x, mu = step.args
        if not (isinstance(x, ir.Var) and isinstance(mu, ir.Var)):
            continue
        if mu.name in means and means[mu.name][0] == x.name:
            axis = means[mu.name][1]
            kwargs = (("axis", E.Lit(axis)), ("keepdims", E.Lit("True")))
            mean = E.Call(E.Attr(_NP, "mean"), (E.Name(x.name),), kwargs)
            out.setdefault(E.BinOp("-", E.Name(x.name), mean), step.target)
    return out


def _with_centred(e: E.Expr, centred: dict[E.Expr, str]) -> E.Expr:
    """`e` reading the forward's centred values; never `e` itself replaced by
    one (a gradient must not be a forward array)."""

    def point(node: E.Expr) -> E.Expr | None:
        return E.Name(centred[node]) if node in centred and node is not e else None

    if e in centred:
        return e
    return E.rewrite(e, point)


def _drop_broadcast(e: E.Expr, var: str, shape: dict) -> E.Expr:
    """``np.broadcast_to(a, np.shape(v)) / n`` added to grad_var (shaped like
    var) -> ``a / n``: broadcasting in the sum gives the same array."""
    if not (isinstance(e, E.BinOp) and e.op in ("*", "/")):
        return e
    left = e.left
    if not (_np_call(left, "broadcast_to") and len(left.args) == 2):  # type: ignore[attr-defined]
        return e
    a, s = left.args  # type: ignore[attr-defined]
    if not (
        _np_call(s, "shape") and len(s.args) == 1 and isinstance(s.args[0], E.Name)
    ):
        return e
    v = s.args[0].id
    if v != var and (shape.get(v) is None or shape.get(v) != shape.get(var)):
        return e
    if not _is_number(e.right):
        return e
    return E.BinOp(e.op, a, e.right)


def _numbers_first(e: E.Expr) -> E.Expr:
    """``g * 2 * d / n`` -> ``g * 2 / n * d``: numbers applied to the first
    factor before any other factor."""
    factors = _chain(e)
    if len(factors) < 3:
        return e
    head, rest = factors[0], factors[1:]
    numbers = [f for f in rest if _is_number(f[1])]
    others = [f for f in rest if not _is_number(f[1])]
    if not numbers or rest == numbers + others:
        return e
    return _unchain([head, *numbers, *others])


def reshape_matmul(bwd: Backward) -> Backward:
    """The adjoints of a batched product by a matrix, ``x @ w`` with x of rank
    3 or more and w of rank 2 (ranks proven), as plain GEMMs: the gradient of
    w is ``np.reshape(x, (-1, D)).T @ np.reshape(g, (-1, M))``, one product
    over every row of the batch, instead of one (D, M) product per batch
    element then summed; that of x is ``g @ w.T``, already shaped like x."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)

    def point(e: E.Expr) -> E.Expr | None:
        if not (isinstance(e, E.Call) and e.func == E.Name("_unbroadcast")):
            return None
        inner = e.args[0] if len(e.args) == 2 else None
        if not (isinstance(inner, E.Call) and isinstance(inner.func, E.Name)):
            return None
        if inner.func.id not in ("_matmul_vjp_x", "_matmul_vjp_y"):
            return None
        if len(inner.args) != 3 or not all(isinstance(a, E.Name) for a in inner.args):
            return None
        g, x, w = inner.args
        rx, rw = rank.get(x.id), rank.get(w.id)  # type: ignore[attr-defined]
        if rx is None or rx < 3 or rw != 2:
            return None
        if inner.func.id == "_matmul_vjp_x":
            return E.BinOp("@", g, E.Attr(w, "T"))
        d, m = (E.Index(E.Attr(w, "shape"), (E.Lit(k),)) for k in ("0", "1"))
        rows = (E.Tuple((E.Lit("-1"), d)), E.Tuple((E.Lit("-1"), m)))
        x2 = E.Call(E.Attr(_NP, "reshape"), (x, rows[0]))
        g2 = E.Call(E.Attr(_NP, "reshape"), (g, rows[1]))
        return E.BinOp("@", E.Attr(x2, "T"), g2)

    blocks = tuple(
        replace(
            b,
            steps=tuple(replace(gs, expr=E.rewrite(gs.expr, point)) for gs in b.steps),
        )
        for b in bwd.blocks
    )
    return replace(bwd, blocks=blocks)


def _cache(bwd: Backward, forward: Iterable[ir.Assign]) -> tuple[str, ...]:
    """The names the backward reads from the forward, in forward order."""
    forward = tuple(forward)
    params = {p.name for p in bwd.fn.params}
    reads = _reads(bwd.blocks, {s.target for s in forward} | params)
    zeros = {p for p, g in bwd.outputs if g is None}
    order = [p.name for p in bwd.fn.params] + [s.target for s in forward]
    return tuple(n for n in order if n in reads or n in zeros)


def _shape_of(e: E.Expr) -> str | None:
    """The name `e` takes the shape of: ``np.shape(v)`` or ``v.shape``."""
    if (
        isinstance(e, E.Call)
        and e.func == E.Attr(E.Name("np"), "shape")
        and len(e.args) == 1
        and not e.kwargs
        and isinstance(e.args[0], E.Name)
    ):
        return e.args[0].id
    if (
        isinstance(e, E.Attr)
        and e.attr == "shape"
        and isinstance(e.value, E.Name)
        and e.value.id not in ("np", "math")
    ):
        return e.value.id
    return None


def _shape_uses(e: E.Expr) -> tuple[set[str], set[str]]:
    """(names read only through a shape, names read otherwise) in `e`."""
    shaped: set[str] = set()
    for node in E.walk(e):
        name = _shape_of(node)
        if name is not None:
            shaped.add(name)
    other = E.names(E.rewrite(e, lambda n: E.Lit("()") if _shape_of(n) else None))
    return shaped, other


def cache_shapes(bwd: Backward) -> Backward:
    """Cache ``v_shape = v.shape`` instead of an intermediate array `v` that the
    backward reads only for its shape."""
    if bwd.lib != "np":
        return bwd
    params = {p.name for p in bwd.fn.params}
    exprs = [gs.expr for b in bwd.blocks for gs in b.steps]
    shaped: set[str] = set()
    other: set[str] = set()
    for e in exprs:
        s, o = _shape_uses(e)
        shaped |= s
        other |= o
    targets = {s.target for s in bwd.forward}
    only = sorted((shaped - other - params - {bwd.fn.result}) & targets)
    if not only:
        return bwd
    taken = set(bwd.fn.user_names) | targets | params | set(bwd.grad_names.values())
    names: dict[str, str] = {}
    for v in only:
        name, k = f"{v}_shape", 0
        while name in taken:
            k += 1
            name = f"{v}_shape_{k}"
        taken.add(name)
        names[v] = name

    def point(e: E.Expr) -> E.Expr | None:
        v = _shape_of(e)
        return E.Name(names[v]) if v in names else None

    blocks = tuple(
        replace(
            b,
            steps=tuple(replace(gs, expr=E.rewrite(gs.expr, point)) for gs in b.steps),
        )
        for b in bwd.blocks
    )
    forward: list[ir.Assign] = []
    for step in bwd.forward:
        forward.append(step)
        if step.target in names:
            forward.append(
                replace(
                    step,
                    target=names[step.target],
                    op="shape_of",
                    args=(ir.Var(step.target),),
                    kwargs=(),
                    extra_targets=(),
                    display="",
                )
            )
    reads = _reads(blocks, {s.target for s in forward} | params)
    zeros = {p for p, g in bwd.outputs if g is None}
    order = [p.name for p in bwd.fn.params] + [s.target for s in forward]
    cache = tuple(n for n in order if n in reads or n in zeros)
    return replace(bwd, forward=tuple(forward), blocks=blocks, cache=cache)


def _reads(blocks: Iterable[Block], forward_names: set[str]) -> set[str]:
    used: set[str] = set()
    for block in blocks:
        for gs in block.steps:
            used |= E.names(gs.expr) & forward_names
    return used


__all__ = [
    "share",
    "fuse_sum_of_squares",
    "scalar_floats",
    "shift_invariant",
    "accumulate_in_place",
    "lean_normalisation",
    "reshape_matmul",
    "cache_shapes",
    "GradStep",
]
