"""Which parameters get a gradient, and why the others don't.

Contract:

* `default_wrt(fn)`: the parameters differentiated when the caller names
  none: every parameter that is neither an integer (``y: int``,
  ``Int[np.ndarray, "N"]``: labels, sizes, strides) nor given a default value
  (``eps=1e-5``, ``reg=0.0``, ``p=0.5``: hyperparameters, by the convention
  of cs231n's layers and of most NumPy code) nor a dict of settings read
  by constant keys (``conv_param["stride"]``). Naming the first two in ``wrt``
  (``--wrt``, the ``wrt`` option of ``[tool.codegen]``) differentiates them;
* `resolve_wrt(fn, wrt)`: `wrt` as given, or the default; a clean error when
  it names no parameter to differentiate;
* `left_out(fn, wrt)`: (parameter, reason) for each parameter not in `wrt`,
  which `docstring_note` turns into the lines the generated module's
  docstring ends with.

Pure: takes a parsed `ir.Function`, returns values.
"""

from __future__ import annotations

from collections.abc import Sequence

from codegen.core import ir
from codegen.errors import CodegenError

#: Why a parameter is not differentiated.
INTEGER = "an integer (a label, size or stride)"
HYPER = "has a default value, so it is taken as a hyperparameter"
SETTINGS = "a dict of settings (read by constant keys)"
NOT_NAMED = "not in wrt"


def hyperparameter(param: ir.Param) -> bool:
    """True for a parameter with a default value (``eps=1e-5``)."""
    return param.default is not None


def default_wrt(fn: ir.Function) -> list[str]:
    """The parameters differentiated by default: not integers, no default value."""
    return [
        p.name
        for p in fn.params
        if not p.integer and not hyperparameter(p) and not p.keys
    ]


def resolve_wrt(fn: ir.Function, wrt: Sequence[str] | None) -> list[str]:
    """`wrt` as given, else `default_wrt(fn)`.

    Raises:
        CodegenError: there is no parameter to differentiate.
    """
    chosen = list(wrt) if wrt is not None else default_wrt(fn)
    for p in fn.params:
        if p.keys and p.name in chosen:
            raise CodegenError(
                f"'{p.name}' is {SETTINGS}: it has no gradient",
                None,
                f"leave '{p.name}' out of wrt",
                fn.filename,
            )
    if chosen:
        return chosen
    reasons = "; ".join(
        f"'{p}' {why if why.startswith('has ') else 'is ' + why}"
        for p, why in left_out(fn, chosen)
    )
    example = next((p.name for p in fn.params if not p.integer and not p.keys), None)
    candidates = [p for p in fn.params if not p.keys]
    example = example or (candidates[0].name if candidates else "")
    return_hint = (
        f"name the parameters to differentiate: --wrt {example}"
        if example
        else "give the function a parameter to differentiate"
    )
    raise CodegenError(
        f"'{fn.name}' has no parameter to differentiate"
        + (f": {reasons}" if reasons else ""),
        None,
        return_hint,
        fn.filename,
    )


def left_out(fn: ir.Function, wrt: Sequence[str]) -> list[tuple[str, str]]:
    """(parameter, reason) for each parameter of `fn` not in `wrt`, in order.

    The reason is the one the default would have applied (integer,
    hyperparameter), else that `wrt` does not name it.
    """
    chosen = set(wrt)
    out = []
    for p in fn.params:
        if p.name in chosen:
            continue
        why = (
            SETTINGS
            if p.keys
            else INTEGER if p.integer else HYPER if hyperparameter(p) else NOT_NAMED
        )
        out.append((p.name, why))
    return out


def docstring_note(fn: ir.Function, wrt: Sequence[str]) -> list[str]:
    """The lines that end the generated module's docstring: the parameters
    without a gradient and why (nothing when every parameter has one)."""
    missing = left_out(fn, wrt)
    if not missing:
        return []
    lines = ["Not differentiated (name a parameter in wrt to differentiate it):"]
    lines += [f"    {name}: {why}" for name, why in missing]
    return lines
