"""The intermediate representation shared by every pass.

A forward function becomes a `Function`: its parameters, a body of `Assign`
steps in source order (each one primitive operation, so the body is already a
topological order of the computational graph) and the name it returns.

Invariants, established by `parse` and relied on by `reverse` and `render`:

* every name is assigned exactly once (re-bindings get fresh SSA names);
* operands are `Var` (a parameter or an earlier target) or `Const`;
* `op` is a key of `codegen.core.rules.RULES` or a member of `codegen.core.rules.NONDIFF`;
* `source` is the text of the user's statement that produced the step, shared
  by every primitive step flattened out of that statement.

The IR holds no libcst nodes (a parsed step's `loc` may be a
`codegen.front.positions.LazyLoc`, which asks libcst for its columns when
they are read), so passes can be tested with IR built by hand.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

#: The NumPy constructors a module-level array constant may call, with
#: numbers (or lists and tuples of numbers) as arguments: ``np.eye(3)``,
#: ``np.array([[1.0, 2.0]])``. Generated modules repeat them at the top.
ARRAY_CONSTRUCTORS = frozenset(
    {"array", "asarray", "eye", "identity", "zeros", "ones", "full", "arange"}
)


@dataclass(frozen=True, slots=True)
class Loc:
    """A source range: lines are 1-based, columns 0-based (LibCST convention)."""

    #: First line of the node.
    line: int
    #: Column of the node's first character.
    col: int
    #: Last line of the node.
    end_line: int
    #: Column just past the node's last character.
    end_col: int

    def __hash__(self) -> int:
        # the line alone: equal ranges hash alike, and a range whose columns
        # are found only when read (`codegen.front.positions.LazyLoc`) can be
        # hashed, with the step holding it, without finding them
        return hash(self.line)


@dataclass(frozen=True, slots=True)
class Var:
    """A reference to a named value."""

    #: The (SSA) name.
    name: str


@dataclass(frozen=True, slots=True)
class Const:
    """A literal: a number, a string, None, a slice or a tuple of literals.

    `text` is the Python source that evaluates to the value, used verbatim
    when rendering, so `0.5` stays `0.5` and `np.newaxis` stays readable.
    """

    #: Python source text for the constant.
    text: str


Operand = Var | Const


@dataclass(frozen=True, slots=True)
class Assign:
    """`target = op(*args, **kwargs)`: one primitive step."""

    #: Name bound by this step (SSA, unique in the function).
    target: str
    #: Rule-table key, e.g. ``"mul"`` or ``"exp"``.
    op: str
    #: Positional operands.
    args: tuple[Operand, ...]
    #: Keyword operands (``axis=1``), in source order.
    kwargs: tuple[tuple[str, Operand], ...]
    #: Where the producing expression sits in the source.
    loc: Loc
    #: The user's statement this step was flattened out of (one line of text).
    source: str
    #: Further names bound when the step unpacks a tuple (``N, D = x.shape``).
    extra_targets: tuple[str, ...] = ()
    #: The name the user wrote (targets of re-bindings get SSA suffixes).
    display: str = ""
    #: True for a value codegen named (``L_sub``), flattened out of a statement.
    intermediate: bool = False
    #: An operand whose buffer the result may be written into, a temporary
    #: nothing reads again (`codegen.core.in_place.write_over`); "" for none.
    over: str = ""
    #: True when ``x / y`` (``+ - *``) is rendered as ``x /= y`` then
    #: ``target = x``: x is a new array of the result's dtype and shape that
    #: nothing reads afterwards (`codegen.core.norm_forward.divide_in_place`,
    #: `codegen.core.forward_in_place`).
    into: bool = False
    #: True for a call of Python's `math` (``math.exp(a)``) in a NumPy module:
    #: rendered with `math`, as written, so the value is Python's float (in
    #: float64 for a float32 operand) and the step raises where math raises.
    scalar: bool = False


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter of the forward function."""

    #: Parameter name.
    name: str
    #: Annotation source text, if any.
    annotation: str | None = None
    #: True when the annotation says integer: not differentiated by default.
    integer: bool = False
    #: Literal default value text, if any.
    default: str | None = None
    #: Declared after ``*``: passed by name only (``def f(x, *, eps=1e-5)``).
    keyword_only: bool = False
    #: The constant keys the function reads it with (``conv_param["stride"]``):
    #: a dict of settings, read entry by entry, with no gradient.
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Function:
    """A parsed forward function."""

    #: Function name.
    name: str
    #: Parameters in order.
    params: tuple[Param, ...]
    #: Primitive steps in source (topological) order.
    body: tuple[Assign, ...]
    #: The name the function returns (its first output).
    result: str
    #: Module import lines the forward relies on (``import numpy as np``).
    imports: tuple[str, ...] = ()
    #: The function's docstring, if any.
    doc: str | None = None
    #: Path of the source file, as given.
    filename: str = "<string>"
    #: Every name a user wrote in the source: generated names avoid them.
    user_names: frozenset[str] = field(default_factory=frozenset)
    #: True when the function uses NumPy (arrays may broadcast).
    array: bool = False
    #: Module-level constants the body reads, as (name, literal): numbers, or
    #: arrays built by one of `ARRAY_CONSTRUCTORS` from numbers.
    constants: tuple[tuple[str, str], ...] = ()
    #: Every output of ``return a, b``, in order (one for ``return (v,)``, a
    #: tuple of one); empty for ``return v``.
    outputs: tuple[str, ...] = ()
    #: The source file's text, for errors the later passes locate.
    text: str = ""
    #: Names bound by ``np.copy(x)``, ``np.array(x)`` or ``+x``: a new array in
    #: the forward, rendered as `x` itself (nothing writes into either), so
    #: an output reached through one is copied before it is returned.
    copies: frozenset[str] = field(default_factory=frozenset)

    @property
    def results(self) -> tuple[str, ...]:
        """The names the function returns: its outputs, or just `result`."""
        return self.outputs or (self.result,)


def literal(text: str) -> object:
    """The Python value a constant's text spells (``"2"`` -> 2), or None."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        return None


def is_string(text: str) -> bool:
    """True for the text of a string literal (``'a'``, ``"a"``, ``b"a"``)."""
    return isinstance(literal(text), (str, bytes))
