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

import ast
import importlib.resources
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from collections.abc import Sequence
from typing import Any, TypeVar

import jinja2

T = TypeVar("T")


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
    #: Inputs whose contribution may be a view of (or the same array as) `g`.
    views: tuple[str, ...] = ()
    #: The macros take the operands' ranks (``x_rank``, ``y_rank``) when known.
    ranked: bool = False
    #: Has a macro ``<op>_same`` for both inputs being one array (NumPy modules).
    same: bool = False

    @property
    def variadic(self) -> str | None:
        """The name of the trailing ``*inputs`` collecting further operands."""
        last = self.inputs[-1] if self.inputs else ""
        return last[1:] if last.startswith("*") else None

    def forward_for(self, lib: str) -> str:
        """The forward format string for a module using `lib` ("math" or "np")."""
        return (self.forward_np or self.forward) if lib == "np" else self.forward


def bind(rule: Rule, args: Sequence[T]) -> list[tuple[str, T, int | None]]:
    """Pair a step's operands with the rule's input names: ``(name, operand,
    k)`` where k is the position among the variadic operands (else None)."""
    fixed = [i for i in rule.inputs if not i.startswith("*")]
    pairs: list[tuple[str, T, int | None]] = [
        (n, a, None) for n, a in zip(fixed, args, strict=False)
    ]
    if rule.variadic is not None:
        pairs += [(rule.variadic, a, k) for k, a in enumerate(args[len(fixed) :])]
    return pairs


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.op: r for r in rules}


_XY = ("x", "y")
_X = ("x",)
_XY_V = ("x", "v")
_AXIS = ("axis", "keepdims")

RULES: dict[str, Rule] = _rules(
    # ----- Arithmetic -----
    Rule("add", _XY, _XY, "{x} + {y}", broadcast=True, views=_XY, same=True),
    Rule("sub", _XY, _XY, "{x} - {y}", broadcast=True, views=_X),
    Rule("mul", _XY, _XY, "{x} * {y}", broadcast=True, same=True),
    Rule("div", _XY, _XY, "{x} / {y}", broadcast=True),
    Rule("pow", _XY, _XY, "{x} ** {y}", broadcast=True, domain="positive"),
    Rule("neg", _X, _X, "-{x}"),
    Rule("copy", _X, _X, "{x}", views=_X),
    # ----- Routers -----
    Rule("abs", _X, _X, "abs({x})", smooth=False),
    Rule(
        "maximum",
        _XY,
        _XY,
        "max({x}, {y})",
        "np.maximum({x}, {y})",
        broadcast=True,
        smooth=False,
    ),
    Rule(
        "minimum",
        _XY,
        _XY,
        "min({x}, {y})",
        "np.minimum({x}, {y})",
        broadcast=True,
        smooth=False,
    ),
    # ----- Elementary functions -----
    Rule("exp", _X, _X, "math.exp({x})", "np.exp({x})"),
    Rule("log", _X, _X, "math.log({x})", "np.log({x})", domain="positive"),
    Rule("sqrt", _X, _X, "math.sqrt({x})", "np.sqrt({x})", domain="positive"),
    Rule("sin", _X, _X, "math.sin({x})", "np.sin({x})"),
    Rule("cos", _X, _X, "math.cos({x})", "np.cos({x})"),
    Rule("tan", _X, _X, "math.tan({x})", "np.tan({x})", domain="unit"),
    Rule("tanh", _X, _X, "math.tanh({x})", "np.tanh({x})"),
    Rule("sigmoid", _X, _X, "1 / (1 + math.exp(-{x}))", "1 / (1 + np.exp(-{x}))"),
    # ----- NumPy: elementwise -----
    Rule("log1p", _X, _X, "math.log1p({x})", "np.log1p({x})", domain="positive"),
    Rule("square", _X, _X, "{x} ** 2", "np.square({x})"),
    Rule(
        "clip",
        ("x", "lo", "hi"),
        _X,
        "min(max({x}, {lo}), {hi})",
        "np.clip({x}, {lo}, {hi})",
        smooth=False,
    ),
    Rule(
        "where",
        ("c", "x", "y"),
        _XY,
        "np.where({c}, {x}, {y})",
        broadcast=True,
        smooth=False,
    ),
    # ----- NumPy: reductions -----
    Rule("sum", _X, _X, "np.sum({x}{kw})", keywords=(*_AXIS, "dtype"), views=_X),
    Rule("mean", _X, _X, "np.mean({x}{kw})", keywords=_AXIS),
    Rule("amax", _X, _X, "np.max({x}{kw})", keywords=_AXIS, smooth=False),
    Rule("amin", _X, _X, "np.min({x}{kw})", keywords=_AXIS, smooth=False),
    Rule("var", _X, _X, "np.var({x}{kw})", keywords=_AXIS),
    Rule("std", _X, _X, "np.std({x}{kw})", keywords=_AXIS),
    # ----- NumPy: linear algebra -----
    Rule("matmul", _XY, _XY, "{x} @ {y}", ranked=True),
    Rule("outer", _XY, _XY, "np.outer({x}, {y})"),
    Rule("tensordot", _XY, _XY, "np.tensordot({x}, {y}{kw})", keywords=("axes",)),
    Rule(
        "einsum",
        ("spec", "*xs"),
        ("xs",),
        "np.einsum({spec}, {xs}{kw})",
        keywords=("optimize",),
    ),
    # ----- NumPy: shapes -----
    Rule("transpose", _X, _X, "np.transpose({x}{kw})", keywords=("axes",), views=_X),
    Rule("reshape", ("x", "shape"), _X, "np.reshape({x}, {shape})", views=_X),
    Rule("expand_dims", ("x", "axis"), _X, "np.expand_dims({x}, {axis})", views=_X),
    Rule("squeeze", _X, _X, "np.squeeze({x}{kw})", keywords=("axis",), views=_X),
    Rule("broadcast_to", ("x", "shape"), _X, "np.broadcast_to({x}, {shape})"),
    Rule("unbroadcast", ("x", "like"), _X, "_unbroadcast({x}, {like})", views=_X),
    Rule(
        "concatenate",
        ("*xs",),
        ("xs",),
        "np.concatenate([{xs}]{kw})",
        keywords=("axis",),
    ),
    Rule("stack", ("*xs",), ("xs",), "np.stack([{xs}]{kw})", keywords=("axis",)),
    # ----- NumPy: convolution and pooling (codegen/parse_windows.py) -----
    Rule(
        "pad",
        ("x", "pad_width"),
        _X,
        "np.pad({x}, {pad_width}{kw})",
        keywords=("mode", "constant_values"),
        views=_X,
    ),
    Rule(
        "sliding_window_view",
        ("x", "window_shape"),
        _X,
        "np.lib.stride_tricks.sliding_window_view({x}, {window_shape}{kw})",
        keywords=("axis",),
    ),
    Rule(
        "strided_windows",
        ("x", "window_shape", "*idx"),
        _X,
        "_windows({x}, {window_shape}, np.s_[{idx}]{kw})",
        keywords=("axis",),
    ),
    Rule(
        "pool_max",
        _X,
        _X,
        "np.max({x}{kw})",
        "_pool_max({x}{kw})",
        keywords=_AXIS,
        smooth=False,
    ),
    Rule(
        "pool_mean", _X, _X, "np.mean({x}{kw})", "_pool_mean({x}{kw})", keywords=_AXIS
    ),
    Rule(
        "pool_sum",
        _X,
        _X,
        "np.sum({x}{kw})",
        "_pool_sum({x}{kw})",
        keywords=_AXIS,
        views=_X,
    ),
    # ----- NumPy: indexing (x[idx], and the functional update of x[idx] = v) -----
    Rule("getitem", ("x", "*idx"), _X, "{x}[{idx}]"),
    Rule("gather", ("x", "*idx"), _X, "{x}[{idx}]"),
    Rule(
        "setitem",
        ("x", "v", "*idx"),
        _XY_V,
        "_setitem({x}, np.s_[{idx}], {v})",
        broadcast=True,
    ),
    # ----- No gradient: comparisons, constants -----
    Rule("const", _X, (), "{x}"),
    Rule("gt", _XY, (), "{x} > {y}"),
    Rule("ge", _XY, (), "{x} >= {y}"),
    Rule("lt", _XY, (), "{x} < {y}"),
    Rule("le", _XY, (), "{x} <= {y}"),
    Rule("eq", _XY, (), "{x} == {y}"),
    Rule("ne", _XY, (), "{x} != {y}"),
    Rule("floor", _X, (), "math.floor({x})", "np.floor({x})"),
    Rule("floordiv", _XY, (), "{x} // {y}"),
    Rule("sign", _X, (), "np.sign({x})"),
    Rule("item", _XY, (), "{x}[{y}]"),
    Rule("shape", _X, (), "{x}.shape"),
    Rule("dtype", _X, (), "{x}.dtype"),
    Rule("size", _X, (), "np.size({x})"),
    Rule("ndim", _X, (), "np.ndim({x})"),
    Rule("slice", ("lo", "hi", "step"), (), "slice({lo}, {hi}, {step})"),
    Rule("arange", ("*xs",), (), "np.arange({xs})"),
    Rule("zeros_like", _X, (), "np.zeros_like({x})"),
    Rule("ones_like", _X, (), "np.ones_like({x})"),
    Rule("zeros", ("shape",), (), "np.zeros({shape})"),
    Rule("ones", ("shape",), (), "np.ones({shape})"),
    Rule("argmax", _X, (), "np.argmax({x}{kw})", keywords=("axis",)),
    Rule("argmin", _X, (), "np.argmin({x}{kw})", keywords=("axis",)),
    Rule("len", _X, (), "len({x})"),
    Rule("tuple", ("*xs",), (), "{xs_tuple}"),
)

NONDIFF: frozenset[str] = frozenset(op for op, r in RULES.items() if not r.diff)


def templates_dir() -> Path:
    """The folder holding the jinja2 templates, in a checkout or an install."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "templates", here / "templates"):
        if (candidate / "adjoints.j2").is_file():
            return candidate
    return Path(str(importlib.resources.files("codegen") / "templates"))


def einsum_vjp_spec(spec: str, i: int, n: int) -> str:
    """The einsum spec giving operand `i`'s gradient: ``"ij,jk->ik"`` with
    i = 0 becomes ``"ik,jk->ij"`` (g first, then the other operands)."""
    text = str(ast.literal_eval(spec)).replace(" ", "")
    ins, out = text.split("->")
    parts = ins.split(",")
    others = [p for k, p in enumerate(parts) if k != i]
    return '"' + ",".join([out, *others]) + "->" + parts[i] + '"'


@cache
def environment() -> jinja2.Environment:
    """The jinja2 environment for adjoint macros and module layouts."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["einsum_vjp_spec"] = einsum_vjp_spec
    return env


@cache
def macros(lib: str) -> Any:
    """The adjoint macros rendered for `lib`: ``macros("np").mul_x(g, ans, x, y)``."""
    return environment().get_template("adjoints.j2").make_module({"lib": lib})


def macro_names() -> set[str]:
    """Names of every macro defined in adjoints.j2 (for the table tests)."""
    module = macros("np")
    return {n for n in dir(module) if not n.startswith("_")}
