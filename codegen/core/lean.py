"""Backward IR passes that write what a careful person writes by hand.

* `lean_normalisation`: a normalisation's backward (batch norm, layer norm,
  softmax) without recomputation, full-size temporaries or broadcast copies;
* `reshape_matmul`: a batched product by a matrix, ``(N, T, D) @ (D, M)``,
  differentiated as plain GEMMs on reshaped rows.

Each takes and returns a `Backward` and changes only gradient expressions
(and the cache, to what they then read); every rewrite is an identity of
the arrays computed, proven from the shapes the annotations give or from
the names themselves (tests/test_passes_perf.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.passes import cache_of, rewrite_blocks
from codegen.core.reverse import Backward
from codegen.core.shapes import ranks, shapes

if TYPE_CHECKING:
    from typing_extensions import TypeIs

_NP = E.Name("np")


def _np_call(e: E.Expr, name: str) -> TypeIs[E.Call]:
    return isinstance(e, E.Call) and e.func == E.Attr(_NP, name)


def _is_number(e: E.Expr) -> bool:
    """A literal number, or a ratio of sizes (``np.size(x) / np.size(g)``,
    ``max(np.size(g), 1)`` for an empty result)."""
    if isinstance(e, E.Lit):
        try:
            float(e.text)
        except ValueError:
            return False
        return True
    if _np_call(e, "size"):
        return True
    if isinstance(e, E.Call) and e.func == E.Name("max") and not e.kwargs:
        return all(_is_number(a) for a in e.args)  # max(np.size(g), 1)
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
    * ``_unbroadcast(a * b, np.shape(t))``, a and b of one proven shape, is an
      ``np.einsum`` of a and b: the products are summed as they are made;
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
        out_ = [isinstance(target, E.Name) and like(f, target) for _, f in factors[1:]]
        inside = [factors[0]] + [
            f for f, o in zip(factors[1:], out_, strict=True) if not o
        ]
        outside = [f for f, o in zip(factors[1:], out_, strict=True) if o]
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
        if not isinstance(s, E.Call) or not s.args:
            return None
        spec = _einsum_spec(shape_of(a), shape_of(b), shape_of(s.args[0]))
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
    return replace(out, cache=cache_of(out))


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
    element then summed; that of x is ``np.reshape(g, (-1, M)) @ w.T``
    reshaped to x's shape, also one GEMM (a batched ``g @ w.T`` runs one
    product per batch element, about 12% slower at 32x64x512 @ 512x256)."""
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
        assert isinstance(x, E.Name) and isinstance(w, E.Name)
        rx, rw = rank.get(x.id), rank.get(w.id)
        if rx is None or rx < 3 or rw != 2:
            return None
        d, m = (E.Index(E.Attr(w, "shape"), (E.Lit(k),)) for k in ("0", "1"))
        rows = (E.Tuple((E.Lit("-1"), d)), E.Tuple((E.Lit("-1"), m)))
        if inner.func.id == "_matmul_vjp_x":  # g is shaped x.shape[:-1] + (M,)
            flat = E.BinOp(
                "@", E.Call(E.Attr(_NP, "reshape"), (g, rows[1])), E.Attr(w, "T")
            )
            return E.Call(
                E.Attr(_NP, "reshape"), (flat, E.Call(E.Attr(_NP, "shape"), (x,)))
            )
        x2 = E.Call(E.Attr(_NP, "reshape"), (x, rows[0]))
        g2 = E.Call(E.Attr(_NP, "reshape"), (g, rows[1]))
        return E.BinOp("@", E.Attr(x2, "T"), g2)

    return replace(bwd, blocks=rewrite_blocks(bwd.blocks, point))
