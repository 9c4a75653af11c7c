"""Which arrays may share memory, for the parse pass's in-place updates.

The forward is made functional: ``a[0] = 5.0`` and ``a += 1`` give ``a`` a new
SSA version and leave every other value as it was. Python instead changes the
array in place, and with it every other name (or the caller) holding that
array or a view of it. The two agree exactly when nothing else can see the
array, and that is what this module checks.

Model: every SSA value has a set of *buffers* it may share memory with. A
fresh result (``x * 2``, ``np.copy(x)``, advanced indexing) is its own
buffer; a view (basic indexing, ``.T``, ``reshape``, one-operand
``np.einsum``), an alias (``a = x``, a helper returning its parameter,
builtin ``min(d, 0.0)``, which returns one of its arguments) or a tuple holds
the buffers of its sources. An in-place update of name `n` is refused when
one of its buffers is a parameter's (the caller holds it), or is held by
another name in scope (of this function or of a caller of an inlined
helper); a view of a temporary only (``np.exp(x)[::-1]``) or of a name since
re-bound is fine. Views NumPy makes read-only (``np.broadcast_to``, window
views) are refused too: Python raises there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import libcst as cst

from codegen.core import ir
from codegen.core.rules import VIEW_OPS as DECLARED_VIEWS

if TYPE_CHECKING:
    from codegen.front.source import _Module

#: Ops whose result may be a view of (or be) their first operand's array:
#: the declared views, aliases (``a = x``, ``_unbroadcast``) and the
#: functional update, which Python does in the array itself.
VIEW_OPS = DECLARED_VIEWS | {"copy", "unbroadcast", "setitem", "unpad"}

#: Ops whose result is a read-only view.
READ_ONLY = frozenset({"broadcast_to", "sliding_window_view", "strided_windows"})

#: Ops whose result is always an array: an index made of one is advanced.
_ARRAY_RESULTS = frozenset(
    {"arange", "gt", "ge", "lt", "le", "eq", "ne", "stack", "zeros", "ones"}
)


class Aliases:
    """Builder state and checks for in-place updates (mixed into the parse
    builder, which owns `env` and `steps`)."""

    mod: _Module
    env: dict[str, ir.Operand]
    steps: list[ir.Assign]
    tuple_items: dict[str, tuple[ir.Operand, ...]]
    #: SSA name -> the buffers it may share memory with (absent: its own).
    memory: dict[str, frozenset[str]]
    #: SSA names that are read-only views.
    read_only: set[str]
    #: Buffers the caller holds: the parameters of the function.
    external: set[str]
    #: The builder of the function an inlined helper is called from.
    parent: Aliases | None

    def buffers(self, operand: ir.Operand) -> frozenset[str]:
        if not isinstance(operand, ir.Var):
            return frozenset()
        return self.memory.get(operand.name, frozenset({operand.name}))

    def note_memory(self, step: ir.Assign) -> None:
        """Record what the new step's value may share memory with."""
        op, args = step.op, step.args
        sources: Sequence[ir.Operand] = ()
        if op == "einsum":  # np.einsum('ij->ji', a): a view of a (args[0]: spec)
            sources = args[1:] if len(args) == 2 else ()
        elif (
            op in VIEW_OPS
            or (op == "gather" and not self.advanced(args[1:]))
            or (op == "astype" and _may_not_copy(step))
            or op in ("float64", "float32")  # np.float64(x) is x when it is one
        ):
            sources = args[:1]
        elif op == "tuple":
            sources = args
        if sources:
            self.alias(step.target, sources)
        if op in READ_ONLY or (
            op in VIEW_OPS
            and op not in ("copy", "setitem")
            and isinstance(args[0], ir.Var)
            and args[0].name in self.read_only
        ):
            self.read_only.add(step.target)

    def alias(self, target: str, sources: Sequence[ir.Operand]) -> None:
        """`target` may share memory with each of `sources`."""
        held: frozenset[str] = frozenset()
        for s in sources:
            held |= self.buffers(s)
        self.memory[target] = held

    def fresh_memory(self, target: str) -> None:
        """`target` is a new array (``np.copy(x)``)."""
        self.memory[target] = frozenset({target})

    def advanced(self, parts: Sequence[ir.Operand]) -> bool:
        """True when an index is certainly advanced (NumPy then copies): a
        list literal, or a name bound to an array. A name that may be a
        Python int indexes basically, which gives a view."""
        for p in parts:
            if isinstance(p, ir.Const) and p.text.startswith("["):
                return True
            step = next(
                (s for s in self.steps if s.target == getattr(p, "name", "")), None
            )
            if step is not None and step.op in _ARRAY_RESULTS:
                return True
        return False

    def shares(self, a: ir.Operand, b: ir.Operand) -> bool:
        """Whether `a` and `b` may be (views of) one array."""
        return bool(self.buffers(a) & self.buffers(b))

    def holders(self, skip: str | None) -> frozenset[str]:
        """Buffers held by the names in scope (but `skip`), here and in the
        functions an inlined helper is called from."""
        held: frozenset[str] = frozenset()
        builder: Aliases | None = self
        while builder is not None:
            for name, value in builder.env.items():
                if builder is self and name == skip:
                    continue
                held |= builder.buffers(value)
            builder = builder.parent
        return held

    def in_place(self, name: ir.Operand, node: cst.CSTNode, what: str) -> None:
        """Refuse an in-place update of a NumPy array something else can see:
        Python would change it there too, the functional update here not."""
        numpy = any(v.split(".")[0] == "numpy" for v in self.mod.aliases.values())
        if not numpy or not isinstance(name, ir.Var):
            return
        if name.name in self.read_only:
            raise self.mod.error(
                f"in-place update of '{what}', a read-only view",
                node,
                "NumPy refuses to write into np.broadcast_to and window views; "
                f"write '{what} = {what} + ...' or copy it first (np.copy)",
            )
        mine = self.buffers(name)
        root = self
        while root.parent is not None:
            root = root.parent
        if mine & root.external or mine & self.holders(what):
            raise self.mod.error(
                f"in-place update of '{what}', whose array is also held elsewhere",
                node,
                f"on NumPy arrays this changes the caller's array or every name bound "
                f"to it; write '{what} = {what} + ...' (or use np.copy first)",
            )


def _may_not_copy(step: ir.Assign) -> bool:
    """``x.astype(t, copy=False)`` (copy not the literal True): x itself when
    it has dtype t already."""
    return dict(step.kwargs).get("copy", ir.Const("True")) != ir.Const("True")
