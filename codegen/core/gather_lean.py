"""Passes for the labels' gather of a cross-entropy, ``v[np.arange(N), y]``.

* `column_gather` (forward IR): ``t = a - b; z = t[r, y]`` where b has size 1
  on axis 1 (a keepdims reduction of its rows), r is ``np.arange(n)`` and n
  is a's axis 0 (proven shapes: a ``(N, C)``, b ``(N, 1)``, r ``(N,)``), t
  read by nothing else, becomes ``z = a[r, y] - b[:, 0]``: the full array t
  (a cross-entropy's log-probabilities) is never built, nor its gradient.
  It is an identity of the values: t[r_k, y_k] = a[r_k, y_k] - b[r_k, 0],
  and because r is 1-d the row of every entry of ``t[r, y]`` is the entry's
  last coordinate, which is where ``b[:, 0]`` (length N, listing b[i, 0] by
  row i) broadcasts. The same for ``a + b`` and for b on the left. The
  gather ``a[r, y]`` (and r) moves to just after the step that makes a,
  so a later elementwise reader of a (``np.exp``) may be its last and
  write over it (`codegen.core.in_place`);
* `distinct_scatter` (backward IR): the gradient of such a gather,
  ``_scatter_add(g, np.shape(v), np.s_[r, y])`` (``np.add.at``), with r
  ``np.arange(n)`` over all of v's axis 0 and y an integer array shaped like
  r (or one integer), indexes every position at most once (the rows differ),
  so it is `_scatter`: zeros with g written at the index, a plain
  fancy-index assignment;
* `sparse_last` (backward IR): a gradient whose first contribution is
  ``_scatter(g, S, np.s_[idx])`` and whose next is a new dense array of the
  shape S (proven) starts from that dense array, and g is added afterwards
  in place, ``grad[idx] += g``: no array of zeros, one full-size array fewer
  alive. Exact for any index: at every position both give the dense value
  plus the g that the assignment leaves there (with repeated positions the
  last, in both). It moves to a block of its own under its forward line,
  right after the gradient's last other contribution;
* `scatter_in_place` (backward IR, after `accumulate_in_place`): a later
  contribution ``grad += _scatter(g, np.shape(v), np.s_[idx])`` into an
  array the backward made itself, v shaped like grad's value (proven), is
  ``grad[idx] += g``: the same identity, and no array of zeros;
* `arange_again` (backward IR): a forward ``r = np.arange(n)`` of numbers
  (n of rank 0) that the backward reads is computed again there,
  ``np.arange(n)``, rather than kept: the value is the same, the cache holds
  the number, and the rows are not alive while the backward's full-size
  arrays are made.

Each condition is proven on the IR or the pass leaves the code as it is
(tests/test_gather_lean.py).
"""

from __future__ import annotations

import re
from dataclasses import replace

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.passes import _fresh, cache_of, rewrite_blocks, shape_arg
from codegen.core.reverse import Backward, Block, GradStep
from codegen.core.shapes import ranks, shapes

_NP = E.Name("np")
_INT = re.compile(r"-?\d+")


def _uses(fn: ir.Function) -> dict[str, int]:
    uses: dict[str, int] = {}
    for s in fn.body:
        for o in (*s.args, *(v for _, v in s.kwargs)):
            if isinstance(o, ir.Var):
                uses[o.name] = uses.get(o.name, 0) + 1
    return uses


def column_gather(fn: ir.Function) -> ir.Function:
    """``(a - b)[np.arange(N), y]`` as ``a[np.arange(N), y] - b[:, 0]``, where
    proven (see the module docstring); `fn` unchanged where not."""
    if not fn.array:
        return fn
    shape = shapes(fn)
    step_of = {s.target: s for s in fn.body}
    uses = _uses(fn)
    taken = set(fn.user_names) | set(step_of) | {p.name for p in fn.params}
    split: dict[str, tuple[ir.Assign, ...]] = {}
    dropped: set[str] = set()
    for g in fn.body:
        if g.op != "gather" or len(g.args) != 3 or g.kwargs:
            continue
        if not all(isinstance(o, ir.Var) for o in g.args):
            continue
        t, r, y = (o.name for o in g.args)  # type: ignore[union-attr]
        ts, rs = step_of.get(t), step_of.get(r)
        if ts is None or ts.op not in ("add", "sub") or ts.kwargs or ts.extra_targets:
            continue
        if uses.get(t) != 1 or t in fn.results or len(ts.args) != 2:
            continue
        if rs is None or rs.op != "arange" or len(rs.args) != 1 or rs.kwargs:
            continue
        column = _column(ts, shape)
        if column is None or shape.get(r) != (shape[t] or ())[:1]:
            continue
        pieces = []
        for k, o in enumerate(ts.args):
            name = f"{g.target}_{o.name}"  # type: ignore[union-attr]
            while name in taken:
                name += "_"
            taken.add(name)
            args: tuple[ir.Operand, ...]
            if k == column:
                op, args = "getitem", (o, ir.Const(":"), ir.Const("0"))
            else:
                op, args = "gather", (o, g.args[1], g.args[2])
            pieces.append(
                replace(
                    g,
                    target=name,
                    op=op,
                    args=args,
                    display=name,
                    intermediate=True,
                    extra_targets=(),
                )
            )
        new = replace(g, op=ts.op, args=tuple(ir.Var(p.target) for p in pieces))
        split[g.target] = (*pieces, new)
        dropped.add(t)
    if not split:
        return fn
    body: list[ir.Assign] = []
    for s in fn.body:
        if s.target not in dropped:
            body.extend(split.get(s.target, (s,)))
    for made in split.values():
        body = _early(body, [q for q in made if q.op == "gather"])
    return replace(fn, body=tuple(body))


def _early(body: list[ir.Assign], gathers: list[ir.Assign]) -> list[ir.Assign]:
    """Each gather ``a[r, y]`` (and the arange r) moved to just after the
    step that makes a, when everything they read is made before: then a
    later elementwise reader of a may be its last and write over it
    (`codegen.core.in_place`). Steps are pure and named once, so any order
    that keeps each operand before its readers computes the same values."""
    for g in gathers:
        where = {s.target: k for k, s in enumerate(body)}
        a, r = g.args[0], g.args[1]
        if not (isinstance(a, ir.Var) and isinstance(r, ir.Var)) or a.name not in where:
            continue
        at = where[a.name]
        rs = body[where[r.name]] if r.name in where else None
        moved = [m for m in (rs, g) if m is not None and where[m.target] > at]
        reads = {
            o.name
            for m in moved
            for o in (*m.args, *(v for _, v in m.kwargs))
            if isinstance(o, ir.Var)
        } - {m.target for m in moved}
        if any(where.get(n, -1) > at for n in reads):
            continue
        rest = [s for s in body if s not in moved]
        k = rest.index(body[at]) + 1
        body = rest[:k] + moved + rest[k:]
    return body


def _column(ts: ir.Assign, shape: dict) -> int | None:
    """Which operand of ``a - b`` is the column b: shaped (N, 1) against a
    (N, C), the result shaped like a."""
    a, b = ts.args
    if not (isinstance(a, ir.Var) and isinstance(b, ir.Var)):
        return None
    sa, sb, st = shape.get(a.name), shape.get(b.name), shape.get(ts.target)
    for k, (full, col) in enumerate(((sa, sb), (sb, sa))):
        if full is None or col is None or len(full) != 2 or st != full:
            continue
        if col == (full[0], "1") and full[1] != "1":
            return 1 - k
    return None


def _rows(items: tuple[E.Expr, ...], size: tuple[str, ...] | None, fn, shape) -> bool:
    """``np.s_[r, y]`` (or ``[r]``) over an array of shape `size`: r is
    ``np.arange(n)`` with n its axis 0, y one integer or shaped like r."""
    if size is None or not 1 <= len(items) <= min(2, len(size)):
        return False
    r = items[0]
    if not isinstance(r, E.Name):
        return False
    producer = next((s for s in fn.body if s.target == r.id), None)
    if producer is None or producer.op != "arange" or shape.get(r.id) != size[:1]:
        return False
    if len(items) == 1:
        return True
    y = items[1]
    if isinstance(y, E.Lit):
        return _INT.fullmatch(y.text) is not None
    return isinstance(y, E.Name) and y.id != r.id and shape.get(y.id) == size[:1]


def _index_items(e: E.Expr) -> tuple[E.Expr, ...] | None:
    """The items of ``np.s_[items]``."""
    if isinstance(e, E.Index) and e.value == E.Attr(_NP, "s_"):
        return e.items
    return None


def distinct_scatter(bwd: Backward) -> Backward:
    """``_scatter_add`` as `_scatter` where the index is proven to name every
    position at most once (see the module docstring)."""
    if bwd.lib != "np":
        return bwd
    fn = bwd.fn
    shape = shapes(fn)

    def point(e: E.Expr) -> E.Expr | None:
        if not (isinstance(e, E.Call) and e.func == E.Name("_scatter_add")):
            return None
        if len(e.args) != 3 or e.kwargs:
            return None
        v, items = shape_arg(e.args[1]), _index_items(e.args[2])
        if v is None or items is None or not _rows(items, shape.get(v), fn, shape):
            return None
        return E.Call(E.Name("_scatter"), e.args)

    return replace(bwd, blocks=rewrite_blocks(bwd.blocks, point))


def sparse_last(bwd: Backward) -> Backward:
    """Each gradient first written by `_scatter` and next by a new dense
    array of its shape starts from the dense array; the scattered values are
    added in place after its last other contribution (module docstring)."""
    if bwd.lib != "np":
        return bwd
    shape = shapes(bwd.fn)
    done: set[str] = set()
    for block in bwd.blocks:
        for gs in block.steps:
            if gs.grad not in done:
                done.add(gs.grad)
                bwd = _defer(bwd, gs.grad, shape)
    return bwd


def _defer(bwd: Backward, grad: str, shape: dict) -> Backward:
    at = [
        (i, j)
        for i, b in enumerate(bwd.blocks)
        for j, gs in enumerate(b.steps)
        if gs.grad == grad
    ]
    if len(at) < 2:
        return bwd
    first, second = (bwd.blocks[i].steps[j] for i, j in at[:2])
    e = first.expr
    if first.accumulate or first.at or first.update or not isinstance(e, E.Call):
        return bwd
    if e.func != E.Name("_scatter") or len(e.args) != 3 or e.kwargs:
        return bwd
    items = _index_items(e.args[2])
    v = shape_arg(e.args[1])
    want = shape.get(v) if v is not None else None
    if items is None or want is None or want != shape.get(first.var):
        return bwd
    if not second.accumulate or second.at or second.update or not _fresh(second.expr):
        return bwd
    if _shape_expr(second.expr, bwd, shape) != want:
        return bwd
    # nothing reads the gradient before its last contribution, nor after it
    # in the same block
    last_i, last_j = at[-1]
    order = [(i, j) for i, b in enumerate(bwd.blocks) for j in range(len(b.steps))]
    for i, j in order:
        if (i, j) <= at[0] or (i > last_i):
            continue
        gs = bwd.blocks[i].steps[j]
        if grad in E.names(gs.expr) or any(grad in E.names(x) for x in gs.at):
            return bwd
    i0, j0 = at[0]
    late = GradStep(
        grad,
        e.args[0],
        True,
        first.var,
        first.step,
        first.op,
        first.input,
        first.upstream,
        in_place=True,
        at=items,
    )
    blocks: list[Block] = []
    for i, b in enumerate(bwd.blocks):
        steps = []
        for j, gs in enumerate(b.steps):
            if (i, j) == (i0, j0):
                continue
            if (i, j) == at[1]:
                gs = replace(gs, accumulate=False, in_place=False)
            steps.append(gs)
        blocks.append(replace(b, steps=tuple(steps)))
        if i == last_i:
            source = bwd.blocks[i0].source
            blocks.append(Block(source, (late,), (first.step,)))
    new = replace(bwd, blocks=tuple(blocks))
    return replace(new, cache=cache_of(new))


def _shape_expr(e: E.Expr, bwd: Backward, shape: dict) -> tuple[str, ...] | None:
    """The shape `e` is proven to have: a forward value's, a gradient's
    written once, ``np.broadcast_to(a, np.shape(v))``'s, or the common shape
    of an elementwise product, sum or quotient."""
    if isinstance(e, E.Lit):
        return () if _number(e.text) else None
    if isinstance(e, E.Name):
        if e.id in shape:
            return shape[e.id]
        writes = [gs for b in bwd.blocks for gs in b.steps if gs.grad == e.id]
        if len(writes) == 1 and not writes[0].at and not writes[0].update:
            return _shape_expr(writes[0].expr, bwd, shape)
        return None
    if isinstance(e, E.Unary) and e.op == "-":
        return _shape_expr(e.operand, bwd, shape)
    if (
        isinstance(e, E.Call)
        and e.func == E.Attr(_NP, "broadcast_to")
        and len(e.args) == 2
        and shape_arg(e.args[1]) is not None
    ):
        return shape.get(shape_arg(e.args[1]))  # type: ignore[arg-type]
    if isinstance(e, E.BinOp) and e.op in ("+", "-", "*", "/"):
        a = _shape_expr(e.left, bwd, shape)
        b = _shape_expr(e.right, bwd, shape)
        if a is None or b is None:
            return None
        if a == b or b == ():
            return a
        return b if a == () else None
    return None


def _number(text: str) -> bool:
    value = ir.literal(text)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def scatter_in_place(bwd: Backward) -> Backward:
    """``grad += _scatter(g, np.shape(v), np.s_[idx])`` as ``grad[idx] += g``
    where grad holds its own array (in place already) shaped like v."""
    if bwd.lib != "np":
        return bwd
    shape = shapes(bwd.fn)
    blocks = []
    for b in bwd.blocks:
        steps = []
        for gs in b.steps:
            e = gs.expr
            if (
                gs.accumulate
                and gs.in_place
                and not (gs.at or gs.update)
                and isinstance(e, E.Call)
                and e.func == E.Name("_scatter")
                and len(e.args) == 3
                and not e.kwargs
            ):
                v = shape_arg(e.args[1])
                items = _index_items(e.args[2])
                want = shape.get(gs.var)
                # the scatter's shape is v's own, and the gradient of a value
                # has that value's shape (the reverse pass sums each
                # contribution down to it), or both shapes are proven equal
                same = v is not None and (
                    v == gs.var or (want is not None and shape.get(v) == want)
                )
                if items and same:
                    gs = replace(gs, expr=e.args[0], at=items)
            steps.append(gs)
        blocks.append(replace(b, steps=tuple(steps)))
    return replace(bwd, blocks=tuple(blocks))


def arange_again(bwd: Backward) -> Backward:
    """Each read of a forward ``np.arange(n)`` (n numbers or values of rank
    0, no keywords) in the backward as ``np.arange(n)`` itself."""
    if bwd.lib != "np":
        return bwd
    rank = ranks(bwd.fn)
    again: dict[str, E.Expr] = {}
    for s in bwd.forward:
        if s.op != "arange" or s.kwargs or not s.args or s.extra_targets:
            continue
        if all(
            isinstance(a, ir.Var)
            and rank.get(a.name) == 0
            or isinstance(a, ir.Const)
            and _number(a.text)
            for a in s.args
        ):
            args = tuple(
                E.Name(a.name) if isinstance(a, ir.Var) else E.Lit(a.text)
                for a in s.args
            )
            again[s.target] = E.Call(E.Attr(_NP, "arange"), args)
    if not again:
        return bwd

    def point(e: E.Expr) -> E.Expr | None:
        return again.get(e.id) if isinstance(e, E.Name) else None

    blocks = tuple(
        replace(
            b,
            steps=tuple(
                replace(
                    gs,
                    expr=E.rewrite(gs.expr, point),
                    at=tuple(E.rewrite(i, point) for i in gs.at),
                )
                for gs in b.steps
            ),
        )
        for b in bwd.blocks
    )
    new = replace(bwd, blocks=blocks)
    return replace(new, cache=cache_of(new))
