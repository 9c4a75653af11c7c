"""Every table the passes use, derived from the primitive declarations.

Nothing here is written by hand beside `codegen/core/prims/`: the parse
tables (which spelling reaches which primitive), the reverse pass's rules,
graph's symbols, lint's pass-through ops and the runtime helpers all come
from the one declaration of each primitive. `tests/test_primitives.py` checks
the derivation both ways.
"""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from codegen.core.primitive import PRIMITIVES, Primitive, bind
from codegen.core.prims import FAMILIES

__all__ = ["NONDIFF", "RULES", "Primitive", "bind"]

#: Every primitive by op name.
RULES: dict[str, Primitive] = PRIMITIVES

#: Ops whose output carries no gradient (comparisons, shapes, constants).
NONDIFF: frozenset[str] = frozenset(op for op, p in RULES.items() if not p.diff)

#: Function spellings (canonical dotted names, builtins bare) -> op.
CALLS: dict[str, str] = {c: p.op for p in RULES.values() for c in p.calls}

#: ``x.<method>(...)`` -> op; x becomes the first operand.
METHODS: dict[str, str] = {m: p.op for p in RULES.values() for m in p.methods}

#: ``x.<attribute>`` -> op.
ATTRIBUTES: dict[str, str] = {a: p.op for p in RULES.values() for a in p.attributes}

#: Operator symbol (``"+"``, ``">="``) -> op.
OPERATORS: dict[str, str] = {p.operator: p.op for p in RULES.values() if p.operator}

#: Methods whose several positional arguments form one operand -> its name.
PACKED: dict[str, str] = {
    m: p.packed for p in RULES.values() if p.packed for m in p.methods
}

#: Ops whose result may be a view of their first operand's array.
VIEW_OPS: frozenset[str] = frozenset(op for op, p in RULES.items() if p.view_result)

#: Ops that move or select values without changing them.
PASS_THROUGH: frozenset[str] = frozenset(op for op, p in RULES.items() if p.passthrough)

#: Node label of each op in `codegen graph`.
SYMBOLS: dict[str, str] = {op: p.symbol for op, p in RULES.items() if p.symbol}

#: Runtime helpers that are primitives, by name -> op: a generated backward
#: calling them parses again (second order).
RUNTIME_CALLS: dict[str, str] = {
    p.helper: p.op for p in RULES.values() if p.helper is not None
}


def _spellings(p: Primitive) -> list[str]:
    names = [
        ("np." + c[len("numpy.") :]) if c.startswith("numpy.") else c for c in p.calls
    ]
    names = [n for n in names if not n.startswith("_")]
    names += [f"x.{m}()" for m in p.methods] + [f"x.{a}" for a in p.attributes]
    if p.operator:
        names.insert(0, p.operator)
    return names


def supported_table() -> str:
    """The README's table of supported primitives, made from the declarations
    (tests/test_readme.py checks the README holds exactly this text)."""
    rows = [
        "| family | spellings | keywords | gradient with respect to |",
        "|---|---|---|---|",
    ]
    for family, ops in FAMILIES.items():
        for op in ops:
            p = RULES[op]
            spelled = _spellings(p)
            if p.helper or not spelled:
                continue  # runtime helpers and constructs: the prose above says
            grads = ", ".join(f"`{g}`" for g in p.grads) or "none"
            text = ", ".join(f"`{s}`" for s in spelled)
            kw = ", ".join(f"`{k}`" for k in p.keywords) or ""
            rows.append(f"| {family} | {text} | {kw} | {grads} |")
    return "\n".join(rows) + "\n"


#: Calls that have no gradient rule because they do not belong in a forward,
#: by prefix, and what to write instead.
REWRITES: dict[str, str] = {
    "numpy.random.": "draw random values outside the forward and pass them in as a"
    " parameter (a dropout mask, noise)",
    "random.": "draw random values outside the forward and pass them in as a"
    " parameter",
    "print": "remove the print from the forward (use `codegen explain` to see values)",
    "scipy.": "SciPy functions are not supported; write the function with NumPy",
}


def _closest_calls(wanted: str, known: Iterable[str]) -> list[str]:
    """Up to three supported calls spelled like `wanted`: the same function
    in another module first (np.linalg.sum -> np.sum), then close names,
    compared on the function name alone (the module prefix would make every
    `math.` call look alike)."""
    by_tail: dict[str, list[str]] = {}
    for c in sorted(known):
        if not c.startswith("_"):
            short = c.replace("numpy.", "np.")
            by_tail.setdefault(short.rsplit(".", 1)[-1], []).append(short)
    module, _, tail = wanted.rpartition(".")
    tails = difflib.get_close_matches(tail, sorted(by_tail), n=3, cutoff=0.7)
    if tail in by_tail:
        tails = [tail, *(t for t in tails if t != tail)]
    shown = []
    for t in tails:  # the spelling in the user's module first
        spellings = sorted(by_tail[t], key=lambda s: s.rpartition(".")[0] != module)
        shown.append(spellings[0])
    return shown[:3]


def suggest(name: str, known: Iterable[str], kind: str = "call") -> str:
    """The hint for an unsupported call (`kind` "call") or method ("method")
    among the `known` spellings: the rewrite when `name` is a known
    non-forward call, else the closest supported spellings (did you mean) and
    where the full list is."""
    for prefix, rewrite in REWRITES.items():
        if name == prefix or name.startswith(prefix):
            return rewrite
    if kind == "method":
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.7)
        shown = [f".{m}()" for m in close]
    else:
        shown = _closest_calls(name.replace("numpy.", "np."), known)
    where = "every supported call is listed in the README's 'NumPy' section"
    if not shown:
        return f"{where}; straight-line functions defined in the same file are inlined"
    return f"did you mean {', '.join(shown)}? {where}"


def shape_ops(rule: str) -> frozenset[str]:
    """The ops declared with shape rule `rule` (``"same"``, ``"broadcast"``...)."""
    return frozenset(op for op, p in RULES.items() if p.shape == rule)


def templates_dir() -> Path:
    """The folder holding the jinja2 templates, in a checkout or an install."""
    package = Path(__file__).resolve().parent.parent  # codegen/
    for candidate in (package.parent / "templates", package / "templates"):
        if (candidate / "module.j2").is_file():
            return candidate
    return Path(str(importlib.resources.files("codegen") / "templates"))


def runtime_helpers() -> dict[str, str]:
    """Every runtime helper's source (templates/runtime/<name>.j2) by name."""
    folder = templates_dir() / "runtime"
    return {p.stem: p.read_text() for p in sorted(folder.glob("_*.j2"))}


@cache
def environment():  # type: ignore[no-untyped-def]
    """The jinja2 environment for the module layout (templates/module.j2)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
