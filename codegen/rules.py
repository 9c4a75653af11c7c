"""The rule table: what each primitive op computes and which inputs it differentiates.

The math of every adjoint lives in ``templates/adjoints.j2``, one macro per
(op, input) named ``<op>_<input>``; this module holds the metadata:

* ``RULES[op]`` is a `Rule`: the op's positional inputs, which of them carry a
  gradient, its keyword operands, its forward expression for scalar (``math``)
  and array (``np``) modules, and the input domain the tests draw from.
* ``NONDIFF`` names the ops whose output carries no gradient (comparisons,
  shapes, constants): their results are inactive, never silently zero.

An op that is in neither is an error in `parse`, never a silent zero.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2


@dataclass(frozen=True, slots=True)
class Rule:
    """Metadata for one primitive op."""

    #: Rule-table key.
    op: str
    #: Names of the positional inputs, in order (macro parameters after g, ans).
    inputs: tuple[str, ...]
    #: The inputs that receive a gradient (each has a macro ``<op>_<input>``).
    diff: tuple[str, ...]
    #: Forward expression in a scalar module (``str.format`` over inputs, kw).
    forward: str
    #: Forward expression in a NumPy module; defaults to `forward`.
    forward_np: str = ""
    #: Keyword operands the op accepts (passed to the macros by name).
    keywords: tuple[str, ...] = ()
    #: Elementwise with broadcasting: contributions are summed to input shape.
    broadcast: bool = False
    #: Where inputs are valid for gradient tests: "real", "positive", "unit".
    domain: str = "real"
    #: False for ops with kinks (abs, max): tests keep away from them.
    smooth: bool = True

    def forward_for(self, lib: str) -> str:
        """The forward format string for a module using `lib` ("math" or "np")."""
        return (self.forward_np or self.forward) if lib == "np" else self.forward


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.op: r for r in rules}


_XY = ("x", "y")
_X = ("x",)

RULES: dict[str, Rule] = _rules(
    # ----- Arithmetic -----
    Rule("add", _XY, _XY, "{x} + {y}", broadcast=True),
    Rule("sub", _XY, _XY, "{x} - {y}", broadcast=True),
    Rule("mul", _XY, _XY, "{x} * {y}", broadcast=True),
    Rule("div", _XY, _XY, "{x} / {y}", broadcast=True),
    Rule("pow", _XY, _XY, "{x} ** {y}", broadcast=True, domain="positive"),
    Rule("neg", _X, _X, "-{x}"),
    Rule("copy", _X, _X, "{x}"),
    # ----- Routers -----
    Rule("abs", _X, _X, "abs({x})", smooth=False),
    Rule("maximum", _XY, _XY, "max({x}, {y})", "np.maximum({x}, {y})",
         broadcast=True, smooth=False),
    Rule("minimum", _XY, _XY, "min({x}, {y})", "np.minimum({x}, {y})",
         broadcast=True, smooth=False),
    # ----- Elementary functions -----
    Rule("exp", _X, _X, "math.exp({x})", "np.exp({x})"),
    Rule("log", _X, _X, "math.log({x})", "np.log({x})", domain="positive"),
    Rule("sqrt", _X, _X, "math.sqrt({x})", "np.sqrt({x})", domain="positive"),
    Rule("sin", _X, _X, "math.sin({x})", "np.sin({x})"),
    Rule("cos", _X, _X, "math.cos({x})", "np.cos({x})"),
    Rule("tan", _X, _X, "math.tan({x})", "np.tan({x})", domain="unit"),
    Rule("tanh", _X, _X, "math.tanh({x})", "np.tanh({x})"),
    Rule("sigmoid", _X, _X, "1 / (1 + math.exp(-{x}))", "1 / (1 + np.exp(-{x}))"),
    # ----- No gradient: comparisons, constants -----
    Rule("const", _X, (), "{x}"),
    Rule("gt", _XY, (), "{x} > {y}"),
    Rule("ge", _XY, (), "{x} >= {y}"),
    Rule("lt", _XY, (), "{x} < {y}"),
    Rule("le", _XY, (), "{x} <= {y}"),
    Rule("eq", _XY, (), "{x} == {y}"),
    Rule("ne", _XY, (), "{x} != {y}"),
    Rule("floor", _X, (), "math.floor({x})", "np.floor({x})"),
    Rule("sign", _X, (), "np.sign({x})"),
    Rule("item", _XY, (), "{x}[{y}]"),
    Rule("shape", _X, (), "{x}.shape"),
)

NONDIFF: frozenset[str] = frozenset(op for op, r in RULES.items() if not r.diff)


def templates_dir() -> Path:
    """The folder holding the jinja2 templates, in a checkout or an install."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "templates"):
        if (candidate / "adjoints.j2").is_file():
            return candidate
    return Path(str(importlib.resources.files("codegen") / "templates"))


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment for adjoint macros and module layouts."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


@cache
def macros(lib: str) -> Any:
    """The adjoint macros rendered for `lib`: ``macros("np").mul_x(g, ans, x, y)``."""
    return environment().get_template("adjoints.j2").make_module({"lib": lib})


def macro_names() -> set[str]:
    """Names of every macro defined in adjoints.j2 (for the table tests)."""
    module = macros("np")
    return {n for n in dir(module) if not n.startswith("_")}
