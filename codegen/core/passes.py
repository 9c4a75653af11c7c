"""Small pure passes over the IR, between parse and reverse and after reverse.

* `share` (forward IR): an intermediate computed twice from the same operands
  (``x[1:]`` in ``np.sum(x[1:] * x[1:])``) is computed once;
* `fuse_sum_of_squares` (forward IR): ``np.sum(x * x)`` over the whole array
  is ``np.vdot(x, x)``: no temporary the size of x, and its gradient
  ``2 * g * x`` is one pass;
* `accumulate_in_place` (backward IR): ``grad_a = grad_a + c`` becomes
  ``grad_a += c`` where grad_a holds a new array the backward made itself
  (a product, a matmul, a scatter), so the sum needs no new array;
* `cache_shapes` (backward IR): a forward array the backward reads only for
  its shape is cached as its shape, so the cache (and the flat
  value-and-grad) no longer holds the array.

Symbolic zeros are the reverse pass's own: an adjoint that is known to be zero
returns None there and is never computed. Each pass takes and returns plain
values and has its own tests (tests/test_passes.py). More passes have their
own modules: `codegen.core.shift` (a max shift without gradient) and
`codegen.core.lean` (lean normalisation backwards, batched products as GEMMs),
tested in tests/test_passes_perf.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.flow import floating
from codegen.core.reverse import Backward, Block, GradStep, operand
from codegen.core.rules import RULES, bind


def share(fn: ir.Function) -> ir.Function:
    """Common-subexpression elimination over the forward steps: a step whose
    op and operands repeat an earlier step's is dropped, and its uses read the
    earlier target. Only intermediates codegen named (`ir.Assign.intermediate`)
    are merged; the user's own names, and the results, are kept."""
    seen: dict[tuple[object, ...], str] = {}
    results = set(fn.results)
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
            step.intermediate and not step.extra_targets and step.target not in results
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


def use_counts(fn: ir.Function) -> dict[str, int]:
    """How many times each value is read: as an operand or keyword of a step,
    or as a result of `fn`."""
    uses: dict[str, int] = {}
    for step in fn.body:
        for o in (*step.args, *(v for _, v in step.kwargs)):
            if isinstance(o, ir.Var):
                uses[o.name] = uses.get(o.name, 0) + 1
    for r in fn.results:
        uses[r] = uses.get(r, 0) + 1
    return uses


def fuse_sum_of_squares(fn: ir.Function) -> ir.Function:
    """``t = x * x; s = np.sum(t)`` (or ``x ** 2``, ``np.square(x)``; no axis,
    t read nowhere else, codegen's own intermediate) becomes
    ``s = np.vdot(x, x)``, when x is provably floating: np.vdot of booleans
    is a logical or, and of small integers adds in their own width, where
    np.sum counts and widens."""
    uses = use_counts(fn)
    squares = {
        s.target: s.args[0]
        for s in fn.body
        if s.intermediate
        and isinstance(s.args[0], ir.Var)
        and uses.get(s.target) == 1
        and _is_square(s)
    }
    if squares:  # the proof walks every step: only when a square is there
        floats = floating(fn)
        squares = {t: x for t, x in squares.items() if x.name in floats}  # type: ignore[union-attr]
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


def _is_square(s: ir.Assign) -> bool:
    """``x * x``, ``x ** 2`` or ``np.square(x)``."""
    if s.op == "mul":
        return len(s.args) == 2 and s.args[0] == s.args[1]
    if s.op == "pow":
        return isinstance(s.args[1], ir.Const) and s.args[1].text in ("2", "2.0")
    return s.op == "square"


def step_expr(step: ir.Assign, lib: str) -> E.Expr:
    """The expression one forward step computes, from its primitive's code;
    the step's keywords go to the outer call (`codegen.back.render` writes
    it, the passes read it). A `math` call stays one (`ir.Assign.scalar`)."""
    return _step_expr(step.op, step.args, step.kwargs, "math" if step.scalar else lib)


@lru_cache(maxsize=1 << 16)  # keyed by what it reads: it holds no step
def _step_expr(
    op: str,
    args: tuple[ir.Operand, ...],
    kwargs: tuple[tuple[str, ir.Operand], ...],
    lib: str,
) -> E.Expr:
    rule = RULES[op]
    env: dict[str, E.Expr | list[E.Expr]] = {}
    rest: list[E.Expr] = []
    for name, arg, k in bind(rule, args):
        if k is None:
            env[name] = operand(arg)
        else:
            rest.append(operand(arg))
    if rule.variadic is not None:
        env[rule.variadic] = rest
    e = E.subst(E.template(rule.forward_for(lib)), env)
    if kwargs:
        assert isinstance(e, E.Call), op
        extra = tuple((k, operand(v)) for k, v in kwargs)
        e = E.Call(e.func, e.args, e.kwargs + extra)
    return e


#: Calls whose result is a new, writable array (never a view or an input).
#: Not ``np.einsum`` of one operand: without a summed index it returns a view
#: (``np.einsum("ji->ij", g)`` is ``g.T``); see `_fresh`.
_FRESH_CALLS = {
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
        if f == E.Attr(E.Name("np"), "einsum"):
            return len(e.args) > 2  # two operands or more: a new array
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


def unused_name(stem: str, taken: set[str]) -> str:
    """`stem`, or ``stem_1``, ``stem_2``... : the first not in `taken`,
    which it joins."""
    name, k = stem, 1
    while name in taken:
        name, k = f"{stem}_{k}", k + 1
    taken.add(name)
    return name


def shape_arg(e: E.Expr) -> str | None:
    """v of ``np.shape(v)``, else None."""
    if (
        isinstance(e, E.Call)
        and e.func == E.Attr(E.Name("np"), "shape")
        and len(e.args) == 1
        and not e.kwargs
        and isinstance(e.args[0], E.Name)
    ):
        return e.args[0].id
    return None


def _shape_of(e: E.Expr) -> str | None:
    """The name `e` takes the shape of: ``np.shape(v)`` or ``v.shape``."""
    if shape_arg(e) is not None:
        return shape_arg(e)
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
    only = sorted((shaped - other - params - set(bwd.fn.results)) & targets)
    if not only:
        return bwd
    taken = set(bwd.fn.user_names) | targets | params | set(bwd.grad_names.values())
    names: dict[str, str] = {}
    for v in only:
        names[v] = unused_name(f"{v}_shape", taken)

    def point(e: E.Expr) -> E.Expr | None:
        v = _shape_of(e)
        return E.Name(names[v]) if v in names else None

    blocks = rewrite_blocks(bwd.blocks, point)
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
    new = replace(bwd, forward=tuple(forward), blocks=blocks)
    return replace(new, cache=cache_of(new))


def rewrite_blocks(
    blocks: Iterable[Block], point: Callable[[E.Expr], E.Expr | None]
) -> tuple[Block, ...]:
    """`blocks` with every contribution rewritten bottom-up by `point`
    (`codegen.core.expr.rewrite`)."""
    return tuple(
        replace(
            b,
            steps=tuple(replace(gs, expr=E.rewrite(gs.expr, point)) for gs in b.steps),
        )
        for b in blocks
    )


def cache_of(bwd: Backward) -> tuple[str, ...]:
    """What the backward of `bwd` reads from its forward (the parameters and
    forward values its contributions name, and the parameters whose gradient
    is zero), in forward order: its cache after a pass changed either side."""
    params = [p.name for p in bwd.fn.params]
    names = {s.target for s in bwd.forward} | set(params)
    reads: set[str] = set()
    for block in bwd.blocks:
        for gs in block.steps:
            for x in (gs.expr, *gs.at):
                reads |= E.names(x) & names
    zeros = {p for p, g in bwd.outputs if g is None}
    order = params + [s.target for s in bwd.forward]
    return tuple(n for n in order if n in reads or n in zeros)


__all__ = [
    "share",
    "fuse_sum_of_squares",
    "use_counts",
    "accumulate_in_place",
    "cache_shapes",
    "cache_of",
    "rewrite_blocks",
    "GradStep",
]
