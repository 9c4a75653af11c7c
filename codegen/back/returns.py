"""What a generated module returns as its value: each output, or a copy of
it where the caller could otherwise write into what the backward reads, or
into its own inputs."""

from __future__ import annotations

from codegen.back.docs import tuple_text
from codegen.core import ir
from codegen.core.reverse import Backward
from codegen.core.rules import RULES


def returned(bwd: Backward, cached: bool = True) -> str:
    """What `f_forward` (`cached`) or the value-and-grad returns: each output,
    or a copy of it when it may share memory with the cache (it is cached
    itself, or a view of an array), or is the caller's input where the
    forward made a copy (`ir.Function.copies`), so a caller's in-place update
    of an output never changes what the backward reads, nor the inputs."""
    out = []
    for result in bwd.fn.results:
        shares = bwd.lib == "np" and (
            (cached and _may_hold_cached_memory(bwd, result))
            or _copied_input(bwd, result)
        )
        out.append(f"np.copy({result})" if shares else result)
    return tuple_text(out)


def _copied_input(bwd: Backward, name: str) -> bool:
    """True when `name` is (a view of) a parameter through a copy the forward
    made and codegen renders as the array itself (``return np.copy(x)``)."""
    producers = {s.target: s for s in bwd.forward}
    params = {p.name for p in bwd.fn.params}
    todo, seen = [(name, False)], set()
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, copied = item
        if name in params and copied:
            return True
        step = producers.get(name)
        if step is not None and (RULES[step.op].view_result or step.op == "copy"):
            copied = copied or name in bwd.fn.copies
            todo += [(a.name, copied) for a in step.args if isinstance(a, ir.Var)]
    return False


def _may_hold_cached_memory(bwd: Backward, name: str) -> bool:
    """True when `name` is cached, or is (a view of, or the same array as) a
    cached value, following views and plain re-bindings back to their bases."""
    producers = {s.target: s for s in bwd.forward}
    seen: set[str] = set()
    todo = [name]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in bwd.cache:
            return True
        step = producers.get(name)
        if step is None:  # a parameter that is not cached
            continue
        if RULES[step.op].view_result or step.op == "copy":  # not a new array
            todo += [a.name for a in step.args if isinstance(a, ir.Var)]
        elif step.into or (step.op == "astype" and step.kwargs):  # in its operand's
            todo += [a.name for a in step.args[:1] if isinstance(a, ir.Var)]
    return False
