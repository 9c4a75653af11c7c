"""What a generated module returns as its value: each output, or a copy of
it where the caller could otherwise write into what the backward reads, or
into its own inputs."""

from __future__ import annotations

from collections.abc import Iterable

from codegen.back.docs import tuple_text
from codegen.core import ir
from codegen.core.reverse import Backward
from codegen.core.rules import RULES
from codegen.core.shapes import ranks


def returned(bwd: Backward, cached: bool = True) -> str:
    """What `f_forward` (`cached`) or the value-and-grad returns: each output,
    or a copy of it when it may share memory with the cache (it, an array
    it is a view of, or a view of it is cached), or is the caller's input where the
    forward made a copy (`ir.Function.copies`), so a caller's in-place update
    of an output never changes what the backward reads, nor the inputs."""
    params = {p.name for p in bwd.fn.params}
    floats = {s.target for s in bwd.forward if s.scalar}  # math's: immutable
    rank = ranks(bwd.fn)
    producers = {s.target: s for s in bwd.forward}
    # the arrays the cache holds, and what they are views of (``h.T`` cached
    # shares h's memory, so a returned h is copied too): one walk for all
    held = {n for n, _ in _bases(bwd, bwd.cache, producers)} if cached else set()
    out = []
    for result in bwd.fn.results:
        shares = (
            bwd.lib == "np"
            and result not in floats
            and any(
                name in held or (copied and name in params)
                for name, copied in _bases(bwd, (result,), producers)
            )
        )
        out.append(copy_of(result, rank.get(result)) if shares else result)
    return tuple_text(out, one=bool(bwd.fn.outputs))


def copy_of(name: str, rank: int | None) -> str:
    """A copy of `name` for the caller: ``np.copy`` of what is surely an
    array; of what may be a number, ``_copy`` (runtime/_copy.j2), which
    returns a number as it is (``np.copy`` makes a 0-d array of a float)."""
    return f"np.copy({name})" if rank else f"_copy({name})"


def _bases(
    bwd: Backward, names: Iterable[str], producers: dict[str, ir.Assign]
) -> set[tuple[str, bool]]:
    """`names` and every value they may be (a view of, or the same array as),
    following views and plain re-bindings back to their bases, each with
    whether the way there passes a copy codegen renders as the array itself
    (``np.copy(x)`` is rendered ``x``)."""
    seen: set[tuple[str, bool]] = set()
    todo = [(name, False) for name in names]
    while todo:
        item = todo.pop()
        if item in seen:
            continue
        seen.add(item)
        name, copied = item
        step = producers.get(name)
        if step is None:  # a parameter
            continue
        copied = copied or name in bwd.fn.copies
        if RULES[step.op].view_result or step.op == "copy":  # not a new array
            todo += [(a.name, copied) for a in step.args if isinstance(a, ir.Var)]
        elif step.into or (step.op == "astype" and step.kwargs):  # in its operand's
            todo += [(a.name, copied) for a in step.args[:1] if isinstance(a, ir.Var)]
    return seen
