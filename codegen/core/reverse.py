"""Reverse pass: `ir.Function` -> `Backward`, the flat adjoint program.

Contract:

* input: a parsed function and the parameters to differentiate (`wrt`);
* output: a `Backward` holding the pruned forward steps, the names the
  backward reads from the forward (the cache), and one `Block` of gradient
  statements per source statement, in reverse order;
* invariants: a gradient is computed only for values that depend on a `wrt`
  parameter *and* reach the result (activity analysis, JAX's symbolic zero);
  the first contribution to ``grad_v`` assigns it, each later one adds to it,
  so an accumulation marks exactly a point where a value branches; arrays are
  accumulated out of place (``grad_a = grad_a + ...``: no ``+=`` through an
  alias; the IR passes prove where one is safe).

Within a statement, contributions to parameters come before those to
intermediates, and otherwise follow argument order: this reproduces the
lectures' hand-written flat code line for line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from codegen.core import expr as E
from codegen.core import ir
from codegen.core.flow import activity, floating, literal_depth, reaching, sequences
from codegen.core.primitive import Facts
from codegen.core.rules import RULES, bind
from codegen.core.rules import Primitive as Rule
from codegen.core.shapes import ranks, shapes
from codegen.errors import CodegenError


@dataclass(frozen=True, slots=True)
class GradStep:
    """``grad = expr`` (first write) or an accumulation into ``grad``."""

    #: The gradient variable written.
    grad: str
    #: The contribution, as expression IR (`codegen.core.expr`).
    expr: E.Expr
    #: True when ``grad`` already holds an earlier contribution.
    accumulate: bool
    #: The forward value this contribution flows to (``grad`` is its gradient).
    var: str = ""
    #: The forward step it comes from: its target, op and the macro input.
    step: str = ""
    op: str = ""
    input: str = ""
    #: The upstream gradient variable (``grad_<step>``).
    upstream: str = ""
    #: Accumulate in place (``grad += expr``): `grad` holds an array the backward
    #: allocated itself, which nothing else sees (`passes.accumulate_in_place`).
    in_place: bool = False
    #: On that array: ``grad[at] += expr``, or ``grad -= expr`` (`update` ``-``; also
    #: ``*``, ``/`` and ``+``: `codegen.core.norm_buffers`, `softmax_lean`).
    at: tuple[E.Expr, ...] = ()
    update: str = ""
    #: ``grad += a @ b`` by blocks of rows, ``_add_matmul`` (`core.add_matmul`).
    by_rows: bool = False


@dataclass(frozen=True, slots=True)
class Block:
    """The gradient statements undoing one forward source statement."""

    #: The forward statement, quoted in a comment above the block.
    source: str
    #: Gradient statements in execution order.
    steps: tuple[GradStep, ...]
    #: The forward steps (targets) this block undoes.
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Backward:
    """Everything the renderer needs, as plain values."""

    #: The forward function.
    fn: ir.Function
    #: Parameters differentiated, in output order.
    wrt: tuple[str, ...]
    #: The forward steps the result or the backward needs, in order.
    forward: tuple[ir.Assign, ...]
    #: Names the backward reads from the forward pass.
    cache: tuple[str, ...]
    #: Name of the incoming gradient of the (first) result (``grad_L``).
    seed: str
    #: Gradient blocks, last forward statement first.
    blocks: tuple[Block, ...]
    #: For each `wrt` parameter, its gradient name, or None when it is zero.
    outputs: tuple[tuple[str, str | None], ...]
    #: Gradient variable of each active value.
    grad_names: dict[str, str]
    #: "math" for scalar modules, "np" for NumPy modules.
    lib: str
    #: Returned gradients that may share memory with another array: copied.
    shared: tuple[str, ...] = ()
    #: Each output's incoming gradient, in order (``grad_next_h``, ``grad_next_c``).
    seeds: tuple[str, ...] = ()
    #: The value-and-grad's blocks where they differ from `blocks` (the seed
    #: folded in: `codegen.core.scalar_lean.flat_blocks`).
    flat: tuple[Block, ...] | None = None


def _refuse_active_keywords(
    fn: ir.Function, active: set[str], reaches: set[str]
) -> None:
    """Refuse a differentiated value given as a keyword operand (``ddof``,
    ``constant_values``, ``nan``): keywords have no adjoint, so its gradient
    would silently be zero."""
    for step in fn.body:
        if step.target not in reaches:
            continue
        for key, value in step.kwargs:
            if isinstance(value, ir.Var) and value.name in active:
                raise CodegenError(
                    f"the '{key}' argument depends on a differentiated value, and "
                    f"'{key}' has no gradient here",
                    step.loc,
                    f"give '{key}' a constant, or leave the parameters it depends "
                    "on out of wrt (--wrt)",
                    fn.filename,
                    fn.text,
                )


def _text(o: ir.Operand) -> str:
    return o.name if isinstance(o, ir.Var) else o.text


class _Namer:
    """Gradient names that follow the forward (`grad_s3`) and clash with nothing."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self.names: dict[str, str] = {}

    def grad(self, var: str) -> str:
        if var not in self.names:
            self.names[var] = self.fresh(f"grad_{var}")
        return self.names[var]

    def fresh(self, base: str) -> str:
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name


def reverse(
    fn: ir.Function,
    wrt: Sequence[str] | None = None,
    constant: Iterable[str] = (),
) -> Backward:
    """Build the flat backward of `fn` with respect to `wrt` (default: all
    non-integer parameters). Names in `constant` are forward values the
    result is proven not to depend on (`codegen.core.passes.shift_invariant`):
    no gradient flows into them.

    Raises:
        CodegenError: a `wrt` name is not a parameter.
    """
    params = [p.name for p in fn.params]
    if wrt is None:
        wrt = [p.name for p in fn.params if not p.integer]
    for name in wrt:
        if name not in params:
            raise CodegenError(
                f"'{name}' is not a parameter of '{fn.name}'",
                None,
                "parameters: " + ", ".join(params),
                fn.filename,
            )
    lib = "np" if fn.array else "math"
    active = activity(fn, wrt)
    needed, reaches = reaching(fn)
    live = (active & reaches) - set(constant)
    _refuse_active_keywords(fn, active, reaches)
    forward = tuple(s for s in fn.body if ({s.target, *s.extra_targets} & needed))
    namer = _Namer(fn.user_names | {s.target for s in fn.body} | set(params))
    seeds = tuple(namer.grad(r) for r in fn.results)
    seed = seeds[0]
    ctx = _Context(lib, namer, ranks(fn) if lib == "np" else {})
    ctx.shape = shapes(fn) if lib == "np" else {}
    ctx.floating = floating(fn)
    ctx.sequences = sequences(fn)
    ctx.params = params
    ctx.filename, ctx.text = fn.filename, fn.text
    has_grad = {r for r in fn.results if r in live}
    fresh: dict[str, bool] = {}
    blocks: list[Block] = []
    param_set = set(params)
    for step in reversed(forward):
        if step.target not in live or step.target not in has_grad:
            continue  # no gradient reaches it (or only contributions known zero)
        rule = RULES[step.op]
        pairs = [
            (name, arg, k)
            for name, arg, k in bind(rule, step.args)
            if name in rule.diff and isinstance(arg, ir.Var) and arg.name in live
        ]
        pairs.sort(key=lambda p: p[1].name not in param_set)  # parameters first
        if lib == "np" and rule.same and len(pairs) == 2 and pairs[0][1] == pairs[1][1]:
            pairs = [("same", pairs[0][1], None)]  # x * x: one combined contribution
            if step.op == "mul":
                _keep_unexpanded(blocks, namer.grad(step.target))
        grads = []
        views = sum(name in rule.views or name == "same" for name, _, _ in pairs)
        for name, arg, k in pairs:
            made_expr = ctx.contribution(rule, step, name, k)
            if made_expr is None:  # known to be zero: never computed
                continue
            expr, made = made_expr
            target = namer.grad(arg.name)
            accumulate = arg.name in has_grad
            grads.append(
                GradStep(
                    target,
                    expr,
                    accumulate,
                    arg.name,
                    step.target,
                    step.op,
                    name,
                    namer.grad(step.target),
                )
            )
            # a view of an upstream gradient the backward allocated itself, and
            # the only view taken of it, shares memory with nothing the
            # caller holds: no defensive copy (np.pad's interior, a reshape)
            owned = fresh.get(step.target, False) and views == 1
            fresh[arg.name] = accumulate or made or name not in rule.views or owned
            has_grad.add(arg.name)
        _append(blocks, step, grads)
    reads = _reads(blocks, {s.target for s in forward} | param_set)
    outputs = tuple((p, namer.names[p] if p in has_grad else None) for p in wrt)
    zeros = [p for p, g in outputs if g is None and lib == "np"]
    cache = tuple(
        n for n in [*params, *(s.target for s in forward)] if n in reads or n in zeros
    )
    shared = tuple(
        g
        for p, g in outputs
        if g is not None and lib == "np" and not fresh.get(p, False)
    )
    return Backward(
        fn,
        tuple(wrt),
        forward,
        cache,
        seed,
        tuple(blocks),
        outputs,
        dict(namer.names),
        lib,
        shared,
        seeds,
    )


class _Context:
    """Builds one contribution from its primitive's adjoint, as IR."""

    def __init__(self, lib: str, namer: _Namer, rank: dict[str, int | None]) -> None:
        self.lib, self.namer, self.rank = lib, namer, rank
        self.shape: dict[str, tuple[str, ...] | None] = {}
        self.floating: frozenset[str] = frozenset()
        #: Names bound to a list or tuple written out (c = [1, 2, 3]): its depth.
        self.sequences: dict[str, int] = {}
        self.params: list[str] = []
        self.filename, self.text = "<string>", ""

    def depth(self, o: ir.Operand) -> int | None:
        """The rank of a list or tuple written out (or a name bound to one)."""
        return self.sequences.get(o.name) if isinstance(o, ir.Var) else literal_depth(o)

    def facts(self, rule: Rule, step: ir.Assign, k: int | None) -> Facts:
        kw = {key: default for key, default in rule.keywords.items()}
        kw.update({key: _text(v) for key, v in step.kwargs})
        rank: dict[str, int | None] = {}
        const: dict[str, str] = {}
        count = 0
        floats = set()
        for name, arg, pos in bind(rule, step.args):
            key = name if pos is None else f"{name}_{pos}"
            count += pos is not None
            rank[key] = self.depth(arg) or (
                self.rank.get(arg.name) if isinstance(arg, ir.Var) else 0
            )
            if isinstance(arg, ir.Const):
                const[key] = arg.text
            if isinstance(arg, ir.Var) and arg.name in self.floating:
                floats.add(key)
        return Facts(kw, rank, const, k, count, self.lib, frozenset(floats))

    def env(self, rule: Rule, step: ir.Assign) -> dict[str, Any]:
        env: dict[str, Any] = {
            "g": E.Name(self.namer.grad(step.target)),
            "ans": E.Name(step.target),
            "LIB": E.Name(self.lib),
        }
        rest: list[E.Expr] = []
        for name, arg, pos in bind(rule, step.args):
            value: E.Expr = operand(arg)
            if self.lib == "np" and name in rule.diff and self.depth(arg):
                # a list or tuple written out (x ** [1, 2, 3]): NumPy reads it as
                # an array, and so must the adjoint's arithmetic (a list's - fails)
                value = E.Call(E.Attr(E.Name("np"), "asarray"), (value,))
            if pos is None:
                env[name] = value
            else:
                env[f"{name}_{pos}"] = value
                rest.append(value)
        if rule.variadic is not None:
            env[rule.variadic] = rest
        for key, default in rule.keywords.items():
            env[key] = E.Lit(default)
        for key, kwarg in step.kwargs:
            env[key] = operand(kwarg)
        return env

    def contribution(
        self, rule: Rule, step: ir.Assign, name: str, k: int | None
    ) -> tuple[E.Expr, bool] | None:
        """The expression `name`'s operand receives from `step`'s gradient, and
        whether it certainly builds a new array (a proven broadcast reduction);
        None when the contribution is known to be zero."""
        adjoint = rule.same if name == "same" else rule.grads[name]
        try:
            code = adjoint(self.facts(rule, step, k)) if callable(adjoint) else adjoint
        except CodegenError as err:  # a declaration refusing this use: locate it
            raise CodegenError(
                err.message, step.loc, err.hint, self.filename, self.text
            ) from None
        if code is None:
            return None
        expr = self.shape_refs(E.subst(E.template(code), self.env(rule, step)))
        operand_ = step.args[_position(rule, "x" if name == "same" else name, k)]
        if self.lib != "np" or not rule.broadcast:
            return expr, False
        a, b = self.shape.get(_text(operand_)), self.shape.get(step.target)
        # annotations prove there is no broadcasting; an index-shaped
        # contribution (v of x[idx] = v gets g[idx]) is not shaped like g
        if a is not None and a == b and name not in rule.index_shaped:
            return expr, False
        like = E.Call(
            E.Attr(E.Name("np"), "shape"), (E.Name(self.like(_text(operand_))),)
        )
        return (
            E.Call(E.Name("_unbroadcast"), (expr, like)),
            a is not None and b is not None and name not in rule.index_shaped,
        )

    def like(self, name: str) -> str:
        """A parameter with the same proven shape as `name`, else `name`: the
        backward then reads the shape from a value that is alive anyway."""
        shape = self.shape.get(name)
        if shape is None or name in self.params:
            return name
        return next((p for p in self.params if self.shape.get(p) == shape), name)

    def shape_refs(self, expr: E.Expr) -> E.Expr:
        """Point `x.shape`, `x.size`, `np.shape(x)` at a same-shaped parameter."""

        def point(e: E.Expr) -> E.Expr | None:
            if (
                isinstance(e, E.Attr)
                and e.attr in ("shape", "size")
                and isinstance(e.value, E.Name)
            ):
                return E.Attr(E.Name(self.like(e.value.id)), e.attr)
            if (
                isinstance(e, E.Call)
                and isinstance(e.func, E.Attr)
                and e.func.value == E.Name("np")
                and e.func.attr in ("shape", "size")
                and len(e.args) == 1
                and isinstance(e.args[0], E.Name)
                and not e.kwargs
            ):
                return E.Call(e.func, (E.Name(self.like(e.args[0].id)),))
            return None

        return E.rewrite(expr, point)


def operand(o: ir.Operand) -> E.Expr:
    """An IR operand as an expression: a name, or the constant's own text."""
    return E.Name(o.name) if isinstance(o, ir.Var) else E.Lit(o.text)


def _position(rule: Rule, name: str, k: int | None) -> int:
    fixed = [i for i in rule.inputs if not i.startswith("*")]
    return len(fixed) + k if k is not None else fixed.index(name)


def _keep_unexpanded(blocks: list[Block], grad: str) -> None:
    """Before `x * x`'s one contribution 2 g x, leave its upstream `g` as the
    reduction's adjoint wrote it, without `np.broadcast_to`: the product has
    x's shape either way, and a scalar g then costs one pass over x, not two
    (the L2 term `reg * np.sum(W * W)`). Only for `*`: `x + x` gives 2 g,
    which must keep x's shape."""
    writes = [
        (i, j)
        for i, b in enumerate(blocks)
        for j, gs in enumerate(b.steps)
        if gs.grad == grad
    ]
    if len(writes) != 1:
        return
    i, j = writes[0]
    gs = blocks[i].steps[j]
    e = gs.expr
    if (
        gs.accumulate
        or not isinstance(e, E.Call)
        or e.func != E.Attr(E.Name("np"), "broadcast_to")
        or len(e.args) != 2
    ):
        return
    steps = list(blocks[i].steps)
    steps[j] = replace(gs, expr=e.args[0])
    blocks[i] = replace(blocks[i], steps=tuple(steps))


def _append(blocks: list[Block], step: ir.Assign, grads: list[GradStep]) -> None:
    """Add `grads` to the block of `step.source`, opening one if needed."""
    if blocks and blocks[-1].source == step.source:
        last = blocks[-1]
        blocks[-1] = Block(
            last.source, last.steps + tuple(grads), last.targets + (step.target,)
        )
    else:
        blocks.append(Block(step.source, tuple(grads), (step.target,)))


def _reads(blocks: Sequence[Block], forward_names: set[str]) -> set[str]:
    """Forward names that the gradient expressions read."""
    used: set[str] = set()
    for block in blocks:
        for gs in block.steps:
            used |= E.names(gs.expr) & forward_names
    return used
