"""The docstrings of a generated module's functions, from the `Backward`
(`codegen.back.render` places them)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from codegen.core.reverse import Backward


def tuple_text(items: Sequence[str], one: bool = False) -> str:
    """``a`` for one item (``(a,)`` when `one` says it is a tuple of one),
    ``(a, b)`` for several."""
    if len(items) == 1:
        return f"({items[0]},)" if one else items[0]
    return "(" + ", ".join(items) + ")"


def docstring(*paragraphs: str) -> str:
    """Paragraphs wrapped to fit black's 88 columns inside a function body."""
    wrapped = [textwrap.fill(p, width=80, subsequent_indent="    ") for p in paragraphs]
    return "\n\n    ".join(wrapped)


def docs(
    bwd: Backward, grads_doc: str, many: bool, twin: str | None = None
) -> tuple[str, str]:
    """Docstrings of the backward and of the value-and-grad function; `twin`
    says how the value-and-grad runs a float twin: "call" (after testing the
    arguments' types) or "inline" (parameters annotated float)."""
    if bwd.fn.outputs:
        return _several(bwd, grads_doc, many)
    name, result, seed = bwd.fn.name, bwd.fn.result, bwd.seed
    shaped = f" (shaped like {result})" if bwd.lib == "np" else ""
    order = ", in that order" if many else ""
    backward = docstring(
        f"Backpropagate `{seed}`, the gradient of a loss with respect to {result}"
        f"{shaped}, through `{name}`; `cache` comes from `{name}_forward`.",
        f"Returns {grads_doc}{order}.",
    )
    if bwd.lib == "np":
        seeded = (
            f"The backward is seeded with ones shaped like {result}: for a scalar "
            f"{result} these are its gradients, for an array those of sum({result})."
        )
    else:
        seeded = f"The backward is seeded with d{result}/d{result} = 1."
    if twin == "call":
        floats = (
            f" On Python floats it runs `_{name}_value_and_grad_floats`, the same "
            "steps in `math`."
        )
    elif twin == "inline":
        floats = (
            " Its parameters are annotated float: it runs the same steps in `math` "
            "first, and NumPy's where math raises (overflow, a domain error)."
        )
    else:
        floats = ""
    vag = docstring(
        f"Return ({result}, grads): the forward, then the flat backward.",
        f"{seeded} grads is {grads_doc}.{floats}",
    )
    return backward, vag


def _several(bwd: Backward, grads_doc: str, many: bool) -> tuple[str, str]:
    """The docstrings of a function with several outputs (``return a, b``)."""
    name, results, seeds = bwd.fn.name, bwd.fn.results, bwd.seeds
    pairs = ", ".join(f"`{s}` for {r}" for s, r in zip(seeds, results, strict=True))
    order = ", in that order" if many else ""
    backward = docstring(
        f"Backpropagate the gradients of a loss with respect to each output "
        f"({pairs}) through `{name}`; `cache` comes from `{name}_forward`.",
        f"Returns {grads_doc}{order}.",
    )
    outs = tuple_text(list(results))
    total = " + ".join(f"sum({r})" for r in results)
    vag = docstring(
        f"Return ({outs}, grads): the forward, then the flat backward.",
        f"Every output's gradient is seeded with ones: grads ({grads_doc}) are "
        f"the gradients of {total}.",
    )
    return backward, vag
