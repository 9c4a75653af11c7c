"""Turn a recorded `Case` into codegen's input form.

Contract: `forward_source(case)` returns a `Forward`: the text of a module
(``import numpy as np``, module-level constants and helpers, and
``def f(...): return ...``), the entry function's parameters, the ones to
differentiate, and the values to call it with; or raises `NotApplicable`
saying why the case is out of scope (complex values, FFT, higher order, a
test expecting an error, an object the forward closes over that source
cannot express).

The function checked is read back from its test file with `ast` (a lambda
becomes a `def`), so codegen sees the test's own expressions. What it closes
over becomes: extra non-differentiated parameters (arrays read by the
function checked), module-level constants (numbers; arrays read by a
helper), imports (modules), inlined spellings (NumPy functions, literals
such as an `axes` tuple), and module-level helper functions (other
functions of the test file). A NumPy function checked directly
(``combo_check(np.sum, [0])``) becomes a call with the keyword arguments
written as literals, spelled as at the call site (``np.abs`` and
``np.absolute`` are one object). autograd's ``tuple((w, v))`` is written
``(w, v)``, which it is under NumPy.
"""

from __future__ import annotations

import ast
import builtins
import functools
import operator
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.conformance.extract import Case, GradOf, Sink

#: operator-module functions the tests check, as the operator they stand for.
OPERATORS = {
    operator.add: "+",
    operator.sub: "-",
    operator.mul: "*",
    operator.truediv: "/",
    operator.mod: "%",
    operator.pow: "**",
}
#: NumPy namespaces searched for the name of a function checked directly.
NAMESPACES = (("np", np), ("np.linalg", np.linalg), ("np.fft", np.fft))
#: Aliases the test files give NumPy and operator at their call sites.
ALIASES = {"np": np, "onp": np, "numpy": np, "op": operator, "operator": operator}


class NotApplicable(Exception):
    """The case is outside what the conformance run measures; says why."""


@dataclass
class Forward:
    """A case in codegen's input form."""

    source: str
    name: str
    params: list[str]
    wrt: list[str]
    values: list[Any]


def is_complex(value: Any) -> bool:
    """True when `value` (or anything inside a tuple, list or dict) is complex."""
    if isinstance(value, (list, tuple)):
        return any(is_complex(v) for v in value)
    if isinstance(value, dict):
        return any(is_complex(v) for v in value.values())
    return isinstance(value, (complex, np.complexfloating)) or (
        isinstance(value, np.ndarray) and np.iscomplexobj(value)
    )


def literal(value: Any) -> str | None:
    """Source text of a plain literal value, or None."""
    if value is Ellipsis:
        return "..."
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, (np.bool_,)):
        return repr(bool(value))
    if isinstance(value, range):
        return repr(value)
    if isinstance(value, (tuple, list)):
        parts = [literal(v) for v in value]
        if any(p is None for p in parts):
            return None
        if isinstance(value, list):
            return "[" + ", ".join(parts) + "]"  # type: ignore[arg-type]
        return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"  # type: ignore[arg-type]
    return None


def _numeric_list(value: Any) -> bool:
    return isinstance(value, list) and np.asarray(value).dtype.kind in "fi"


def numpy_name(fun: Any) -> str | None:
    """``np.linalg.inv`` for NumPy's own function object, else None."""
    name = getattr(fun, "__name__", None)
    for prefix, space in NAMESPACES:
        if name and getattr(space, name, None) is fun:
            return f"{prefix}.{name}"
    for prefix, space in NAMESPACES:
        for attr in sorted(dir(space)):
            if not attr.startswith("_") and getattr(space, attr, None) is fun:
                return f"{prefix}.{attr}"
    return None


@functools.cache
def _tree(filename: str) -> ast.Module:
    with open(filename) as f:
        return ast.parse(f.read(), filename)


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _resolve(dotted: str) -> Any:
    head, *rest = dotted.split(".")
    value = ALIASES.get(head)
    for part in rest:
        value = getattr(value, part, None)
    return value


def spelling(case: Case, path: str) -> str | None:
    """How the call site at `case.line` spells the NumPy function checked."""
    for node in ast.walk(_tree(path)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        if not node.lineno <= case.line <= (node.end_lineno or node.lineno):
            continue
        dotted = _dotted(node.args[0])
        if dotted and _resolve(dotted) is case.fun:
            head, _, tail = dotted.partition(".")
            return "np." + tail if ALIASES.get(head) is np else dotted
    return None


def find_node(fun: types.FunctionType) -> ast.Lambda | ast.FunctionDef:
    """The lambda or def of `fun` in its source file."""
    code = fun.__code__
    names = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    found: list[ast.Lambda | ast.FunctionDef] = []
    for node in ast.walk(_tree(code.co_filename)):
        if isinstance(node, ast.FunctionDef) and node.name == code.co_name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if first == code.co_firstlineno:
                found.append(node)
        elif isinstance(node, ast.Lambda) and code.co_name == "<lambda>":
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            params += [a.arg for a in node.args.kwonlyargs]
            if node.lineno == code.co_firstlineno and params == names:
                found.append(node)
    if len(found) > 1:  # two lambdas on one line: match the body's columns
        cols = [c for _, _, c, _ in code.co_positions() if c is not None]
        found = [n for n in found if n.col_offset <= min(cols)] or found
        found = [max(found, key=lambda n: n.col_offset)]
    if not found:
        raise NotApplicable(f"source of {code.co_name} not found")
    return found[0]


class _Rewrite(ast.NodeTransformer):
    """Substitute names by expressions; expand ``args[k]`` of a star-args
    function into positional names."""

    def __init__(self, subst: dict[str, str], star: str | None, n: int) -> None:
        self.subst, self.star, self.n = subst, star, n

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.subst:
            return ast.parse(self.subst[node.id], mode="eval").body
        return node

    def _star_index(self, node: ast.AST) -> Any:
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == self.star
        ):
            return node.slice
        return None

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        index = self._star_index(node)
        if isinstance(index, ast.Constant) and isinstance(index.value, int):
            return ast.Name(f"a{index.value}", ast.Load())
        return self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if (  # autograd's tuple((a, b)) is the tuple (a, b) under NumPy
            isinstance(node.func, ast.Name)
            and node.func.id == "tuple"
            and len(node.args) == 1
            and isinstance(node.args[0], ast.Tuple)
        ):
            return node.args[0]
        args: list[ast.expr] = []
        for a in node.args:
            if isinstance(a, ast.Starred):
                start = 0
                index = self._star_index(a.value)
                if isinstance(index, ast.Slice) and isinstance(
                    index.lower, ast.Constant
                ):
                    start = index.lower.value
                elif not (isinstance(a.value, ast.Name) and a.value.id == self.star):
                    args.append(a)
                    continue
                args += [ast.Name(f"a{k}", ast.Load()) for k in range(start, self.n)]
            else:
                args.append(a)
        node.args = args
        return node


@dataclass
class _Module:
    """The pieces of the forward module being written."""

    imports: dict[str, str] = field(
        default_factory=lambda: {"np": "import numpy as np"}
    )
    constants: dict[str, str] = field(default_factory=dict)
    helpers: dict[str, str] = field(default_factory=dict)
    helper_funs: dict[str, Any] = field(default_factory=dict)

    def text(self, entry: str) -> str:
        parts = ["\n".join(sorted(set(self.imports.values())))]
        if self.constants:
            parts.append("\n".join(f"{k} = {v}" for k, v in self.constants.items()))
        parts += list(self.helpers.values()) + [entry]
        return "\n\n\n".join(parts) + "\n"


def _free_names(node: ast.Lambda | ast.FunctionDef) -> list[str]:
    """Names the function reads but neither binds nor takes as parameters."""
    bound: set[str] = set()
    loads: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            bound.add(sub.arg)
        elif isinstance(sub, ast.Name):
            if isinstance(sub.ctx, ast.Load):
                loads.append(sub.id)
            else:
                bound.add(sub.id)
    return [n for n in dict.fromkeys(loads) if n not in bound]


def _lookup(fun: types.FunctionType, name: str, defaults: dict[str, Any]) -> Any:
    code = fun.__code__
    if name in defaults:
        return defaults[name]
    if name in _SNAPSHOT.get(id(fun), {}):
        return _SNAPSHOT[id(fun)][name]
    if name in code.co_freevars and fun.__closure__:
        return fun.__closure__[code.co_freevars.index(name)].cell_contents
    if name in fun.__globals__:
        return fun.__globals__[name]
    return getattr(builtins, name, _Missing)


class _Missing:
    pass


#: id(function checked) -> its closure as recorded (set by forward_source).
_SNAPSHOT: dict[int, dict[str, Any]] = {}


def _bind(
    mod: _Module, name: str, value: Any, entry: bool, extras: list[tuple[str, Any]]
) -> str | None:
    """Make free name `name` available; return a substitute spelling or None."""
    if value is _Missing or value is getattr(builtins, name, _Missing):
        return None
    if isinstance(value, (GradOf, Sink)) or value is GradOf:
        raise NotApplicable("the forward calls autograd.grad (higher order)")
    if isinstance(value, types.ModuleType):
        if value.__name__.startswith("numpy.fft"):
            raise NotApplicable("FFT")
        if value.__name__ == name:
            mod.imports[name] = f"import {name}"
        else:
            mod.imports[name] = f"import {value.__name__} as {name}"
        return None
    if is_complex(value):
        raise NotApplicable(f"complex-valued ({name})")
    if callable(value) and numpy_name(value):
        spelled = numpy_name(value)
        if spelled and spelled.startswith("np.fft"):
            raise NotApplicable("FFT")
        return spelled
    if isinstance(value, types.FunctionType):
        if name not in mod.helpers:
            mod.helpers[name] = "pending"
            mod.helpers[name] = _function(mod, value, name, False, [], [])[0]
            mod.helper_funs[name] = value
        elif mod.helper_funs.get(name, value) is not value:
            raise NotApplicable(f"two helpers named {name}")
        return None
    if isinstance(value, np.ndarray):
        if entry:
            extras.append((name, value))
        else:
            mod.constants[name] = f"np.array({literal(value.tolist())})"
        return None
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        mod.constants[name] = literal(value) or repr(value)
        return None
    spelled = literal(value)
    if spelled is not None:
        return spelled
    raise NotApplicable(f"closes over a {type(value).__name__} ({name})")


def _function(
    mod: _Module,
    fun: types.FunctionType,
    name: str,
    entry: bool,
    args: list[Any],
    extras: list[tuple[str, Any]],
) -> tuple[str, list[str]]:
    """Source of `fun` as ``def name(...)`` and its positional parameters."""
    node = find_node(fun)
    a = node.args
    positional = [p.arg for p in a.posonlyargs + a.args]
    star = a.vararg.arg if a.vararg else None
    if star and not entry:
        raise NotApplicable(f"helper {name} takes *{star}")
    if star:
        positional = [f"a{k}" for k in range(len(args))]
    # parameters the call leaves to their defaults are free names bound to them
    defaults: dict[str, Any] = {}
    given = len(args) if entry else len(positional)
    for p, d in zip(
        reversed(positional), reversed(fun.__defaults__ or ()), strict=False
    ):
        if positional.index(p) >= given:
            defaults[p] = d
    positional = [p for p in positional if p not in defaults]
    subst: dict[str, str] = {}
    for free in list(defaults) + _free_names(node):
        if free in positional or free == star or free in subst:
            continue
        spelled = _bind(mod, free, _lookup(fun, free, defaults), entry, extras)
        if spelled is not None:
            subst[free] = spelled
    body = node.body if isinstance(node, ast.FunctionDef) else [ast.Return(node.body)]
    rewrite = _Rewrite(subst, star, len(args))
    stmts = [ast.fix_missing_locations(rewrite.visit(s)) for s in body]
    if (
        stmts
        and isinstance(stmts[0], ast.Expr)
        and isinstance(stmts[0].value, ast.Constant)
        and isinstance(stmts[0].value.value, str)
    ):
        stmts = stmts[1:]  # the test's docstring says nothing about the forward
    params = positional + [n for n, _ in extras]
    text = f"def {name}({', '.join(params)}):\n"
    text += "\n".join(
        "    " + line for s in stmts for line in ast.unparse(s).splitlines()
    )
    return text, positional


def _as_value(value: Any, differentiated: bool) -> Any:
    if _numeric_list(value):
        return np.asarray(value, dtype=float)
    if (
        differentiated
        and isinstance(value, (int, np.integer))
        and not isinstance(value, bool)
    ):
        return float(value)
    return value


def _numpy_call(case: Case) -> Forward:
    """``def f(x0, ...): return np.fn(x0, ..., kw=literal)`` for a NumPy function."""
    spelled = (spelling(case, case.path) if case.path else None) or numpy_name(case.fun)
    if case.fun in OPERATORS:
        spelled = OPERATORS[case.fun]
    if spelled is None:
        raise NotApplicable(f"checks {getattr(case.fun, '__name__', case.fun)!r}")
    if spelled.startswith("np.fft"):
        raise NotApplicable("FFT")
    params: list[str] = []
    values: list[Any] = []
    wrt: list[str] = []
    exprs: list[str] = []

    def param(name: str, value: Any, diff: bool) -> str:
        params.append(name)
        values.append(_as_value(value, diff))
        if diff:
            wrt.append(name)
        return name

    for i, arg in enumerate(case.args):
        diff = i in case.argnums
        if isinstance(arg, (tuple, list)) and any(
            isinstance(e, np.ndarray) for e in arg
        ):
            names = [param(f"x{i}_{j}", e, diff) for j, e in enumerate(arg)]
            inner = ", ".join(names) + (
                "," if isinstance(arg, tuple) and len(names) == 1 else ""
            )
            exprs.append(f"({inner})" if isinstance(arg, tuple) else f"[{inner}]")
        elif diff or isinstance(arg, np.ndarray) or literal(arg) is None:
            exprs.append(param(f"x{i}", arg, diff))
        else:
            exprs.append(literal(arg))  # type: ignore[arg-type]
    for key, value in case.kwargs.items():
        spelled_kw = literal(value)
        if spelled_kw is None:
            spelled_kw = param(key, value, False)
        exprs.append(f"{key}={spelled_kw}")
    if spelled in OPERATORS.values():
        body = f" {spelled} ".join(exprs)
    else:
        body = f"{spelled}({', '.join(exprs)})"
    source = f"import numpy as np\n\n\ndef f({', '.join(params)}):\n    return {body}\n"
    return Forward(source, "f", params, wrt, values)


def _user_function(case: Case) -> Forward:
    mod = _Module()
    extras: list[tuple[str, Any]] = []
    text, positional = _function(mod, case.fun, "f", True, list(case.args), extras)
    name = "f"
    if "f" in mod.helpers or "f" in mod.constants or "f" in [n for n, _ in extras]:
        name = "f_case"
        text = text.replace("def f(", "def f_case(", 1)
    values = [_as_value(v, i in case.argnums) for i, v in enumerate(case.args)]
    for key, value in case.kwargs.items():
        if key not in positional:
            raise NotApplicable(f"keyword argument {key} to a lambda")
        values.append(value)
    if any(isinstance(v, (tuple, list)) for v in values):
        raise NotApplicable("a tuple or list argument to the function checked")
    wrt = [positional[i] for i in case.argnums if i < len(positional)]
    params = positional + [n for n, _ in extras]
    return Forward(mod.text(text), name, params, wrt, values + [v for _, v in extras])


def forward_source(case: Case) -> Forward:
    """`case` in codegen's input form; raises NotApplicable when out of scope."""
    if case.na:
        raise NotApplicable(case.na)
    if is_complex(case.args) or is_complex(case.kwargs):
        raise NotApplicable("complex-valued")
    if isinstance(case.fun, types.FunctionType) and not numpy_name(case.fun):
        _SNAPSHOT.clear()
        _SNAPSHOT[id(case.fun)] = case.closure
        return _user_function(case)
    return _numpy_call(case)
