"""What a primitive is, and the registry every other table is derived from.

A primitive is declared once (`declare`, in ``codegen/core/prims/*.py``) with
everything about it side by side:

* its source spellings: functions (``numpy.exp``, ``math.exp``), methods
  (``x.sum()``), attributes (``x.T``), operators (``*``), and how positional
  operands map onto its keywords;
* its forward, as code: ``"np.exp(x)"`` in NumPy modules, ``"math.exp(x)"``
  in scalar ones (the step's keywords are appended to the outer call);
* its shape rule, by name (`codegen.core.shapes`);
* one adjoint per differentiable input, as code in the subset codegen parses:
  ``grads={"x": "g * ans"}`` where ``g`` is the upstream gradient, ``ans``
  the forward's output, and the other names the step's operands and keywords.
  An adjoint that depends on what is known statically (ranks, constant
  operands) is a function of `Facts` returning the code, or None for a
  contribution known to be zero;
* room for a tangent (forward-mode) rule;
* what explain, graph and lint need: `symbol`, `passthrough`.

`codegen.core.expr.template` parses each adjoint once into expression IR; the
reverse pass substitutes operands into it. `tests/test_primitives.py` checks
that every adjoint parses with codegen's own parser and uses only declared
primitives, and that every spelling reaches a primitive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Facts:
    """What the reverse pass knows statically when it picks an adjoint."""

    #: Keyword operands as source text, defaults filled in.
    kw: Mapping[str, str]
    #: Rank of each named input, None when unknown.
    rank: Mapping[str, int | None]
    #: Source text of each input that is a constant (a literal).
    const: Mapping[str, str]
    #: Position of the operand among the variadic ones, and their count.
    i: int | None = None
    n: int = 0
    #: "np" in NumPy modules, "math" in scalar ones.
    lib: str = "np"
    #: Inputs whose values are provably floating (`codegen.core.flow`).
    floating: frozenset[str] = frozenset()


Adjoint = str | Callable[[Facts], str | None]


@dataclass(frozen=True)
class Primitive:
    """One primitive op, declared once."""

    #: Name of the op in the IR (``ir.Assign.op``).
    op: str
    #: Positional operand names; a trailing ``*name`` collects the rest.
    inputs: tuple[str, ...]
    #: Forward in a NumPy module, as code over the input names.
    forward_np: str
    #: Forward in a scalar (``math``) module; "" when the op is NumPy only.
    forward: str = ""
    #: Adjoint per differentiable input (see the module docstring).
    grads: Mapping[str, Adjoint] = field(default_factory=dict)
    #: Adjoint when both inputs are one array (``x * x``): one pass, not two.
    same: Adjoint | None = None
    #: Tangent (forward-mode) rule per input, ``"dx * y"``: room for later.
    tangents: Mapping[str, str] = field(default_factory=dict)
    #: Keyword operands and their default source text.
    keywords: Mapping[str, str] = field(default_factory=dict)
    #: Function spellings, canonical dotted names: ``numpy.exp``, ``math.exp``.
    calls: tuple[str, ...] = ()
    #: Method spellings: ``x.sum(...)`` -> ("sum",).
    methods: tuple[str, ...] = ()
    #: Attribute spellings: ``x.T`` -> ("T",).
    attributes: tuple[str, ...] = ()
    #: Operator spelling: ``"+"``, ``"@"``, ``">="``.
    operator: str | None = None
    #: A method's several positional arguments form this one operand
    #: (``x.reshape(2, 3)`` -> shape ``(2, 3)``).
    packed: str | None = None
    #: Elementwise with broadcasting: contributions are summed to input shape.
    broadcast: bool = False
    #: Shape rule name (`codegen.core.shapes.SHAPE_RULES`).
    shape: str | None = None
    #: Inputs whose contribution may be a view of (or the same array as) g.
    views: tuple[str, ...] = ()
    #: Inputs whose contribution is shaped like an index of g, not like g
    #: (``x[idx] = v``: v gets g[idx]), so summing it back proves no copy.
    index_shaped: tuple[str, ...] = ()
    #: The result may be a view of the first operand's array.
    view_result: bool = False
    #: Where inputs are valid for gradient tests: "real", "positive", "unit".
    domain: str = "real"
    #: False for ops with kinks (abs, max): tests keep away from them.
    smooth: bool = True
    #: Node label in `codegen graph` (default: the op name).
    symbol: str | None = None
    #: Moves or selects values without changing them (lint, explain).
    passthrough: bool = False
    #: A runtime helper the generated module defines (templates/runtime/).
    helper: str | None = None

    @property
    def diff(self) -> tuple[str, ...]:
        """The inputs that receive a gradient."""
        return tuple(self.grads)

    @cached_property  # read for every operand of every step
    def variadic(self) -> str | None:
        """The name of the trailing ``*inputs`` collecting further operands."""
        last = self.inputs[-1] if self.inputs else ""
        return last[1:] if last.startswith("*") else None

    @cached_property
    def fixed(self) -> tuple[str, ...]:
        """The positional inputs before the variadic ones."""
        return tuple(i for i in self.inputs if not i.startswith("*"))

    def forward_for(self, lib: str) -> str:
        """The forward code in a module using `lib` ("math" or "np")."""
        return self.forward_np if lib == "np" or not self.forward else self.forward


#: Every primitive by op name, in declaration order.
PRIMITIVES: dict[str, Primitive] = {}


def declare(op: str, inputs: Sequence[str], forward_np: str, **fields: object) -> None:
    """Declare the primitive `op` (see `Primitive` for the fields)."""
    if op in PRIMITIVES:
        raise ValueError(f"primitive {op!r} declared twice")
    PRIMITIVES[op] = Primitive(op, tuple(inputs), forward_np, **fields)  # type: ignore[arg-type]


def bind(prim: Primitive, args: Sequence[T]) -> list[tuple[str, T, int | None]]:
    """Pair a step's operands with the input names: ``(name, operand, k)``
    where k is the position among the variadic operands (else None)."""
    fixed = prim.fixed
    pairs: list[tuple[str, T, int | None]] = [
        (n, a, None) for n, a in zip(fixed, args, strict=False)
    ]
    if prim.variadic is not None:
        pairs += [(prim.variadic, a, k) for k, a in enumerate(args[len(fixed) :])]
    return pairs
