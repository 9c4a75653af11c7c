"""The rows of an explanation: one `ForwardRow` per forward step, one
`BackwardRow` per gradient contribution, and `Shown`, what the presentation
(`codegen.learn.explain_view`) reads of an `Explanation`. Plain data: the
explain pass (`codegen.learn.explain`) fills them in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from codegen.core import ir


@dataclass(frozen=True, slots=True)
class ForwardRow:
    """One forward step and the value it computed."""

    #: Line of the user's statement (1-based).
    line: int
    #: The user's statement this step comes from.
    source: str
    #: The generated line that ran (``s0 = w0 * x0``).
    code: str
    #: The name it bound.
    name: str
    #: Its value (a number or an array).
    value: Any
    #: True for the first step of its statement.
    first: bool = True


@dataclass(frozen=True, slots=True)
class BackwardRow:
    """One contribution: [downstream] = [local] x [upstream]."""

    #: Line of the forward statement this row undoes.
    line: int
    #: The forward statement (quoted above its block in the generated code).
    source: str
    #: The generated line that ran (``grad_w1 = grad_s1 * x1``).
    code: str
    #: The gradient variable written and the forward value it belongs to.
    grad: str
    var: str
    #: The forward step, its op and the rule input the gradient flows through.
    step: str
    op: str
    input: str
    #: The gradient flowing in, by name and value.
    upstream: str
    upstream_value: Any
    #: d step / d var at the point (None when not elementwise).
    local: Any
    #: The contribution flowing out to `var`.
    downstream: Any
    #: True when `grad` already held a contribution (`var` branches).
    accumulate: bool
    #: The value of `grad` after this row (the running sum).
    total: Any
    #: True for the first row of its block.
    first: bool = True


class Shown(Protocol):
    """What the views read of an `codegen.learn.explain.Explanation`."""

    point: dict[str, Any]
    drawn: tuple[str, ...]
    seed: int
    digits: int
    gradients: list[tuple[str, str, Any]]

    @property
    def forward(self) -> Sequence[ForwardRow]: ...

    @property
    def backward(self) -> Sequence[BackwardRow]: ...

    @property
    def fn(self) -> ir.Function: ...

    @property
    def result(self) -> Any: ...
