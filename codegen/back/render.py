"""Render pass: `Backward` -> Python source text (not yet black-formatted).

Contract: every line of code is produced here from the `Backward` value (names
and expressions are final); ``templates/module.j2`` only places the lines. The
output defines ``<f>_forward``, ``<f>_backward`` and ``<f>_value_and_grad``,
imports only what its lines use, and is a pure function of its input, so the
same `Backward` always renders to the same bytes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from codegen.back.docs import docs, docstring, tuple_text
from codegen.back.release import forward_releases, releases
from codegen.back.returns import copy_of, returned
from codegen.back.show import show
from codegen.core import expr as E
from codegen.core import ir
from codegen.core.flow import data_params
from codegen.core.in_place import with_out
from codegen.core.passes import step_expr
from codegen.core.reverse import Backward, Block, operand
from codegen.core.rules import environment, runtime_helpers
from codegen.core.scalar_lean import fused_forward, returned_inline
from codegen.core.shapes import annotation_dims, ranks


def _annotated_shapes(fn: ir.Function) -> str:
    """``_shapes(("x", x, "N D"), ...)`` (runtime/_shapes.j2) for the
    parameters whose annotations name array dimensions: the shape facts the
    backward was derived from (`codegen.core.shapes`) are checked at the call."""
    parts = []
    for p in fn.params:
        dims = annotation_dims(p.annotation)
        if dims:
            parts.append(f"({p.name!r}, {p.name}, {' '.join(dims)!r})")
    return f"_shapes({', '.join(parts)})" if parts else ""


def forward_expr(step: ir.Assign, lib: str) -> E.Expr:
    """The expression one forward step computes, from its primitive's code;
    the step's keywords go to the outer call. A step marked by
    `codegen.core.in_place.write_over` writes over its dead operand."""
    e = step_expr(step, lib)
    return with_out(e, step.over) if step.over else e


def forward_line(
    step: ir.Assign, lib: str, env: dict[str, E.Expr] | None = None
) -> str:
    """``target = <expression>`` for one forward step; `env` holds the
    expressions of fused values (`codegen.core.scalar_lean.fused_forward`)."""
    targets = ", ".join((step.target, *step.extra_targets))
    e = forward_expr(step, lib)
    return f"{targets} = " + show(E.subst(e, env) if env else e)


def _step_lines(
    step: ir.Assign, lib: str, env: dict[str, E.Expr], fused: frozenset[str]
) -> list[str]:
    """One forward step's lines: ``a /= b`` then ``target = a`` for a step
    computed in its first operand's array (`ir.Assign.into`); none for a
    fused step, whose expression goes into `env` for its reader."""
    if step.target in fused:
        env[step.target] = E.subst(forward_expr(step, lib), env)
        return []
    if not step.into:
        return [forward_line(step, lib, env)]
    a, b = (show(operand(o)) for o in step.args)
    symbol = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[step.op]
    return [f"{a} {symbol}= {b}", f"{step.target} = {a}"]


def _forward_lines(
    steps: Sequence[ir.Assign],
    lib: str,
    dels: dict[int, list[str]] | None = None,
    fused: frozenset[str] = frozenset(),
) -> list[str]:
    """Forward code, with the user's line quoted above flattened statements;
    with `dels` (`codegen.back.release`), a step is followed by a ``del`` of
    the arrays it read last; `fused` values are computed inside their reader."""
    lines: list[str] = []
    env: dict[str, E.Expr] = {}
    i = 0
    while i < len(steps):
        group = [steps[i]]
        while (
            i + len(group) < len(steps)
            and steps[i + len(group)].source == steps[i].source
        ):
            group.append(steps[i + len(group)])
        code = [_step_lines(s, lib, env, fused) for s in group]
        shown = [c for c in code if c]
        if len(shown) > 1 or shown and shown[0] != [steps[i].source]:
            lines.append(f"# {_one_line(steps[i].source)}")
        for k, step_lines in enumerate(code, start=i):
            lines.extend(step_lines)
            if dels and dels.get(k):
                lines.append(_del_line(dels[k]))
        i += len(group)
    return lines


def _returns(grads: Sequence[str], taken: dict[str, E.Expr]) -> str:
    """The returned gradients, those in `taken` as their expressions."""
    shown = [show(taken[g]) if g in taken else g for g in grads]
    return shown[0] if len(shown) == 1 else "(" + ", ".join(shown) + ")"


def _fused(bwd: Backward, flat: Sequence[Block]) -> frozenset[str]:
    """The forward values a lean scalar value-and-grad computes inside their
    reader (`codegen.core.scalar_lean.fused_forward`); none elsewhere."""
    if bwd.flat is None:
        return frozenset()
    return fused_forward(bwd, [forward_expr(s, bwd.lib) for s in bwd.forward], flat)


def _del_line(names: Sequence[str]) -> str:
    return f"del {names[0] if len(names) == 1 else _grouped(names)}  # not read again"


def _one_line(source: str) -> str:
    return " ".join(source.split())


def _backward_lines(
    blocks: Sequence[Block],
    lib: str,
    places: dict[str, str] | None = None,
    dels: dict[tuple[int, int], list[str]] | None = None,
) -> list[str]:
    """The backward's statements; with `places` (forward target -> ``path:line``),
    each block ends in a check that its gradients are finite, naming the line;
    with `dels` (`codegen.back.release`), a line is followed by a ``del`` of
    what it read last."""
    lines: list[str] = []
    for i, block in enumerate(blocks):
        if not block.steps:
            continue
        lines.append(f"# {_one_line(block.source)}")
        for j, gs in enumerate(block.steps):
            if not gs.accumulate:
                lines.append(f"{gs.grad} = {show(gs.expr)}")
            elif gs.at:  # into an array the backward made, at an index
                at = show(E.Index(E.Name(gs.grad), gs.at))
                lines.append(f"{at} += {show(gs.expr)}")
            elif gs.update:  # likewise: an in-place update of its own array
                lines.append(f"{gs.grad} {gs.update}= {show(gs.expr)}")
            elif gs.by_rows:  # likewise, a block of rows at a time
                assert isinstance(gs.expr, E.BinOp)
                a, b = show(gs.expr.left), show(gs.expr.right)
                lines.append(f"_add_matmul({gs.grad}, {a}, {b})")
            elif gs.in_place:  # an array the backward made: nothing else sees it
                lines.append(f"{gs.grad} += {show(gs.expr)}")
            elif lib == "np":  # out of place: never write through an alias
                total = E.BinOp("+", E.Name(gs.grad), gs.expr)
                lines.append(f"{gs.grad} = {show(total)}")
            else:
                lines.append(f"{gs.grad} += {show(gs.expr)}")
            if dels and dels.get((i, j)):
                lines.append(_del_line(dels[(i, j)]))
        if places is not None:
            where = f"{places[block.targets[0]]}: {_one_line(block.source)}"
            grads = ", ".join(dict.fromkeys(gs.grad for gs in block.steps))
            check = "_check_finite" if lib == "np" else "_check_finite_scalar"
            lines.append(f"{check}({where!r}, {grads})")
    return lines


def _places(bwd: Backward) -> dict[str, str]:
    """``path:line`` of the statement that produced each forward value."""
    return {s.target: f"{bwd.fn.filename}:{s.loc.line}" for s in bwd.fn.body}


def _names(names: Sequence[str]) -> str:
    """A comma-separated tuple body: one line when it fits, else one name per
    line with a trailing comma, the layout black keeps (and black is slow to
    find by itself on very long lines)."""
    if len(names) == 1:
        return f"{names[0]},"
    line = ", ".join(names)
    if len(line) <= 70:
        return line
    return "\n" + "".join(f"        {n},\n" for n in names) + "    "


def _grouped(names: Sequence[str]) -> str:
    """`a, b` as written after `return`, `del` or before `= cache`; parenthesised
    when it spans lines."""
    body = _names(names)
    return f"({body})" if body.startswith("\n") else body  # the layout black gives


def _release(bwd: Backward) -> str:
    """In NumPy modules, a `del` of the forward's arrays that the backward
    does not read, so the flat value-and-grad holds no more memory than needed."""
    if bwd.lib != "np":
        return ""
    keep = set(bwd.cache) | set(bwd.fn.results) | {p.name for p in bwd.fn.params}
    gone = {n for names in forward_releases(bwd).values() for n in names}
    dead = [s.target for s in bwd.forward if s.target not in keep | gone]
    if not dead:
        return ""
    return f"del {dead[0] if len(dead) == 1 else _grouped(dead)}  # not read by the backward"


def _uses(bwd: Backward, check_finite: bool) -> tuple[set[str], set[str]]:
    """(modules, runtime helpers) the module's code refers to, read off the IR
    of its lines and off the helpers' own code."""
    exprs: list[E.Expr] = [forward_expr(s, bwd.lib) for s in bwd.forward]
    blocks = (*bwd.blocks, *(bwd.flat or ()))  # the value-and-grad's, too
    exprs += [x for b in blocks for gs in b.steps for x in (gs.expr, *gs.at)]
    mods: set[str] = set()
    calls: set[str] = set()
    if any(gs.by_rows for b in blocks for gs in b.steps):
        calls.add("_add_matmul")
    for e in exprs:
        for node in E.walk(e):  # one walk for both: this runs per line
            if isinstance(node, E.Attr) and isinstance(node.value, E.Name):
                mods.add(node.value.id)
            elif isinstance(node, E.Lit):
                mods |= E.modules(node)
            elif isinstance(node, E.Call) and isinstance(node.func, E.Name):
                calls.add(node.func.id)
    if bwd.lib == "np":  # the seed, zeros and copies
        mods.add("np")
    if check_finite:
        calls.add("_check_finite" if bwd.lib == "np" else "_check_finite_scalar")
    sources = runtime_helpers()
    helpers: set[str] = set()
    todo = sorted(calls & set(sources))
    while todo:  # helpers may call helpers
        name = todo.pop()
        if name in helpers:
            continue
        helpers.add(name)
        inner_mods, inner_calls = _code_uses(sources[name])
        mods |= inner_mods
        todo += sorted((inner_calls & set(sources)) - helpers)
    return mods, helpers


def _code_uses(code: str) -> tuple[set[str], set[str]]:
    """(module names used as attribute bases, ``_helper`` calls) in `code`."""
    tree = ast.parse(code)
    mods = {
        n.value.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id.startswith("_")
    }
    return mods, calls


def _zero_lines(bwd: Backward) -> list[str]:
    rank = ranks(bwd.fn)
    of = {g: p for p, g in bwd.outputs}
    lines = [
        f"{g} = {copy_of(g, rank.get(of.get(g, '')))}  # a fresh array, not a view of another"
        for g in bwd.shared
    ]
    for param, grad in bwd.outputs:
        if grad is None:
            zero = f"np.zeros_like({param})" if bwd.lib == "np" else "0.0"
            name = _zero_name(bwd, param)
            lines.append(f"{name} = {zero}  # {param} does not affect {bwd.fn.result}")
    return lines


def _zero_name(bwd: Backward, param: str) -> str:
    name = f"grad_{param}"
    taken = set(bwd.grad_names.values()) | bwd.fn.user_names
    while name in taken:
        name += "_"
    return name


def _imports(mods: Iterable[str]) -> list[str]:
    names = {"math": "import math", "np": "import numpy as np"}
    return [line for m, line in names.items() if m in mods]


def _reads(bwd: Backward, blocks: Sequence[Block], name: str) -> bool:
    """True when `blocks` or the returned gradients still read `name`."""
    if any(g == name for _, g in bwd.outputs):
        return True
    return any(
        gs.grad == name or any(name in E.names(x) for x in (gs.expr, *gs.at))
        for b in blocks
        for gs in b.steps
    )


def _twin_mode(view: dict | None) -> str | None:
    return None if view is None else ("inline" if view["inline"] else "call")


def _signature(params: Sequence[ir.Param]) -> str:
    """The forward's parameters as the source declares them: defaults kept
    (conv_forward(x, w, b, conv_param)), a ``*`` before keyword-only ones."""
    parts = []
    for p in params:
        if p.keyword_only and "*" not in parts:
            parts.append("*")
        parts.append(p.name if p.default is None else f"{p.name}={p.default}")
    return ", ".join(parts)


def _twin(bwd: Backward, twin: Backward | None, ints: frozenset[str]) -> dict | None:
    """The template's view of the float twin (`codegen.core.twin`): its name,
    the test that picks it, and its lines."""
    if twin is None:
        return None
    name = f"_{bwd.fn.name}_value_and_grad_floats"
    tests = [  # a parameter annotated float (or int) is taken at its word
        f"type({p.name}) is {'int' if p.name in ints else 'float'}"
        for p in bwd.fn.params
        if p.annotation is None
    ]  # none: the twin's steps go inline, in the value-and-grad's `try`
    grads = [g or _zero_name(twin, p) for p, g in twin.outputs]
    flat = twin.flat if twin.flat is not None else twin.blocks
    seeds = [s for s in twin.seeds or (twin.seed,) if _reads(twin, flat, s)]
    fused = _fused(twin, flat)
    flat, taken = returned_inline(twin, flat)
    return dict(
        name=name,
        test=" and ".join(tests),
        inline=not tests,
        forward=_forward_lines(twin.forward, twin.lib, fused=fused),
        seed_lines=[f"{s} = 1.0" for s in seeds],
        backward=_backward_lines(flat, twin.lib) + _zero_lines(twin),
        returns=_returns(grads, taken),
        doc=docstring(
            f"`{bwd.fn.name}_value_and_grad` on Python floats: the same steps "
            "with `math`, which raises where NumPy would return inf or nan."
        ),
    )


def render(
    bwd: Backward,
    origin: str,
    command: str,
    header_extra: Sequence[str] = (),
    check_finite: bool = False,
    note: Sequence[str] = (),
    twin: Backward | None = None,
    twin_ints: frozenset[str] = frozenset(),
) -> str:
    """The generated module for `bwd` as unformatted Python source.

    Args:
        bwd: the reverse pass's output.
        origin: where the forward came from, e.g. ``examples/neuron.py:neuron``.
        command: the exact command that regenerates this module.
        header_extra: further header comment lines (the build hash).
        check_finite: end each backward block with a check that raises
            FloatingPointError naming the forward line of a NaN or Inf gradient.
        note: lines that end the module's docstring (the parameters left out).
        twin: the scalar backward (`codegen.core.twin`) ``<f>_value_and_grad``
            runs on Python floats; `twin_ints` are the parameters it takes as ints.
    """
    lib = bwd.lib
    forward = _forward_lines(bwd.forward, lib, forward_releases(bwd))
    places = _places(bwd) if check_finite else None
    dels = None if check_finite else releases(bwd, bwd.blocks, forward=False)
    backward = _backward_lines(bwd.blocks, lib, places, dels) + _zero_lines(bwd)
    grads = [g or _zero_name(bwd, p) for p, g in bwd.outputs]
    returns = _returns(grads, {})
    cache_param = "cache" if "cache" not in bwd.fn.user_names else "cache_"
    cache = _names(bwd.cache)
    cache_target = _grouped(bwd.cache)
    seeds = bwd.seeds or (bwd.seed,)
    results = bwd.fn.results
    flat = bwd.flat if bwd.flat is not None and not check_finite else bwd.blocks
    lean = flat is not bwd.blocks  # the value-and-grad's own, lean blocks
    fused = _fused(bwd, flat) if lean else frozenset()
    flat, taken = returned_inline(bwd, flat) if lean else (flat, {})
    seed_lines = [
        f"{s} = np.ones_like({r})" if lib == "np" else f"{s} = 1.0"
        for s, r in zip(seeds, results, strict=True)
        if _reads(bwd, flat, s)
    ]
    seed_value = f"np.ones_like({bwd.fn.result})" if lib == "np" else "1.0"
    mods, used = _uses(bwd, check_finite)
    if twin is not None:
        mods |= _uses(twin, False)[0]
    real = ", ".join(data_params(bwd.fn, bwd.wrt))
    guard = f"_real({real})" if lib == "np" and real else ""  # runtime/_real.j2
    checked = _annotated_shapes(bwd.fn) if lib == "np" else ""
    values = returned(bwd), returned(bwd, cached=False)
    copies = any("_copy(" in t for t in (*values, *_zero_lines(bwd)))
    helpers = sorted(
        used
        | ({"_real"} if guard else set())
        | ({"_shapes"} if checked else set())
        | ({"_copy"} if copies else set())
    )
    guard = "\n    ".join(g for g in (guard, checked) if g)
    twin_view = _twin(bwd, twin, twin_ints)
    context = dict(
        name=bwd.fn.name,
        origin=origin,
        command=command,
        header_extra=list(header_extra),
        imports=_imports(mods),
        constants=[f"{n} = {v}" for n, v in bwd.fn.constants],
        helpers=helpers,
        signature=_signature(bwd.fn.params),
        result=tuple_text(results, one=bool(bwd.fn.outputs)),
        returned=values[0],
        returned_flat=values[1],
        seed=", ".join(seeds),
        seed_value=seed_value,
        seed_lines=seed_lines,
        lib=lib,
        params=", ".join(
            f"{p.name}={p.name}" if p.keyword_only else p.name for p in bwd.fn.params
        ),
        forward=forward,
        flat_forward=(
            _forward_lines(bwd.forward, lib, forward_releases(bwd), fused)
            if fused
            else forward
        ),
        release=_release(bwd),
        guard=guard,
        backward=backward,
        flat=(
            _backward_lines(flat, lib, places, releases(bwd, flat, forward=True))
            + _zero_lines(bwd)
            if not check_finite
            else backward
        ),
        cache=cache,
        cache_target=cache_target,
        cache_param=cache_param,
        returns=returns,
        flat_returns=_returns(grads, taken),
        returns_bare=_grouped(grads) if len(grads) > 1 else grads[0],
        grads_doc=returns,
        backward_doc=docs(bwd, returns, len(grads) > 1)[0],
        vag_doc=docs(bwd, returns, len(grads) > 1, _twin_mode(twin_view))[1],
        grads_count=len(grads),
        note=list(note),
        twin=twin_view,
    )
    return environment().get_template("module.j2").render(**context)
