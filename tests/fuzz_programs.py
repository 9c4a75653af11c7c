"""Random straight-line forward programs for the property tests, as source text.

A program is drawn as a small expression tree per statement; the tree renders
to Python source (so the parser is tested too) and evaluates itself with NumPy,
checking on the way that no value sits near a kink (abs, max, min), a domain
edge (log, sqrt, division, pow) or an overflow. `Reject` means "draw another
point": the test calls `hypothesis.assume` on it, so gradients are only ever
compared where central differences are a valid reference.

Hypothesis settings come from `FUZZ`: a bounded profile for CI (and by default)
and a long one when CODEGEN_FUZZ=long.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("CODEGEN_FUZZ", "") == "long"


#: Settings of every property and fuzz test: (examples in CI, examples when long).
def fuzz_settings(ci: int, long: int) -> settings:
    return settings(
        max_examples=long if LONG else ci,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
        derandomize=not LONG and os.environ.get("CI") == "true",
        database=None if os.environ.get("CI") == "true" else settings.default.database,
    )


class Reject(Exception):
    """The point is too close to a kink, a domain edge or an overflow."""


#: How far values must stay from kinks and domain edges.
GAP = 1e-2
#: Largest magnitude any intermediate may reach.
BIG = 1e3


def _guard(ok: object) -> None:
    if not bool(np.all(ok)):
        raise Reject


def _finite(v: np.ndarray) -> np.ndarray:
    _guard(np.isfinite(v))
    _guard(np.abs(v) < BIG)
    return v


# ----- expression trees -----


@dataclass(frozen=True)
class Node:
    def src(self, lib: str) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


@dataclass(frozen=True)
class Var(Node):
    name: str

    def src(self, lib: str) -> str:
        return self.name

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        return env[self.name]


@dataclass(frozen=True)
class Num(Node):
    text: str

    def src(self, lib: str) -> str:
        return self.text

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        return (
            env[self.text] if self.text.isidentifier() else np.float64(float(self.text))
        )


@dataclass(frozen=True)
class Bin(Node):
    op: str
    left: Node
    right: Node

    def src(self, lib: str) -> str:
        return f"({self.left.src(lib)} {self.op} {self.right.src(lib)})"

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        a, b = self.left.eval(env), self.right.eval(env)
        if self.op == "+":
            return _finite(a + b)
        if self.op == "-":
            return _finite(a - b)
        if self.op == "*":
            return _finite(a * b)
        if self.op == "/":
            _guard(np.abs(b) > GAP)
            return _finite(a / b)
        if self.op == "**":
            if float(b) != round(float(b)):
                _guard(a > GAP)
            else:
                _guard(np.abs(a) > GAP)  # d/dy of x**y needs log(x): keep y constant
            return _finite(np.power(a, b))
        if self.op == "@":
            return _finite(a @ b)
        raise AssertionError(self.op)


@dataclass(frozen=True)
class Neg(Node):
    inner: Node

    def src(self, lib: str) -> str:
        return f"(-{self.inner.src(lib)})"

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        return -self.inner.eval(env)


def _domain(fn: str, x: np.ndarray) -> None:
    if fn in ("log", "sqrt"):
        _guard(x > GAP)
    elif fn == "exp":
        _guard(x < 20)
    elif fn == "tan":
        _guard(np.abs(x) < 1.2)
    elif fn == "abs":
        _guard(np.abs(x) > GAP)


_NP = {
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "tanh": np.tanh,
    "abs": np.abs,
}


@dataclass(frozen=True)
class Call(Node):
    """A one-argument elementary function: math.f / np.f / abs."""

    fn: str
    arg: Node
    style: str = "math"  # math, bare (from math import f), alias (import math as m)

    def src(self, lib: str) -> str:
        a = self.arg.src(lib)
        if self.fn == "abs":
            return f"np.abs({a})" if lib == "np" else f"abs({a})"
        if lib == "np":
            return f"np.{self.fn}({a})"
        prefix = {"math": "math.", "bare": "", "alias": "m."}[self.style]
        return f"{prefix}{self.fn}({a})"

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        x = self.arg.eval(env)
        _domain(self.fn, x)
        return _finite(_NP[self.fn](x))


@dataclass(frozen=True)
class MaxMin(Node):
    fn: str  # max or min
    args: tuple[Node, ...]

    def src(self, lib: str) -> str:
        inner = ", ".join(a.src(lib) for a in self.args)
        if lib == "np":
            return f"np.{'maximum' if self.fn == 'max' else 'minimum'}({inner})"
        return f"{self.fn}({inner})"

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        vals = [a.eval(env) for a in self.args]
        acc = vals[0]
        for v in vals[1:]:  # max(a, b, c) is max(max(a, b), c)
            _guard(np.abs(acc - v) > GAP)
            acc = np.maximum(acc, v) if self.fn == "max" else np.minimum(acc, v)
        return acc


@dataclass(frozen=True)
class Reduce(Node):
    """np.sum / np.mean / np.max over an axis (or all), optionally keepdims."""

    fn: str
    arg: Node
    axis: int | None
    keepdims: bool
    method: bool = False

    def src(self, lib: str) -> str:
        kw = "" if self.axis is None else f"axis={self.axis}"
        if self.keepdims:
            kw += (", " if kw else "") + "keepdims=True"
        if self.method and not isinstance(self.arg, Num):  # 0.5.sum() is a float's
            return f"{self.arg.src(lib)}.{self.fn}({kw})"
        return f"np.{self.fn}({self.arg.src(lib)}{', ' if kw else ''}{kw})"

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        x = np.asarray(self.arg.eval(env))
        if self.fn == "max":
            srt = (
                np.sort(x, axis=self.axis)
                if self.axis is not None
                else np.sort(x.ravel())
            )
            ax = -1 if self.axis is None else self.axis
            if srt.shape[ax] > 1:  # a unique maximum: ties make the gradient a kink
                top = np.take(srt, [-1], axis=ax) - np.take(srt, [-2], axis=ax)
                _guard(top > GAP)
        f = {"sum": np.sum, "mean": np.mean, "max": np.max}[self.fn]
        return _finite(f(x, axis=self.axis, keepdims=self.keepdims))


@dataclass(frozen=True)
class HelperCall(Node):
    helper: str
    args: tuple[Node, ...]

    def src(self, lib: str) -> str:
        return f"{self.helper}({', '.join(a.src(lib) for a in self.args)})"

    def eval(self, env: dict[str, np.ndarray]) -> np.ndarray:
        return HELPERS[self.helper].run(*(a.eval(env) for a in self.args))


@dataclass(frozen=True)
class Helper:
    name: str
    arity: int
    #: Source with {m} for the math module prefix ("math." or "np.").
    text: str
    #: Other helpers it calls.
    calls: tuple[str, ...] = ()

    def source(self, lib: str) -> str:
        return self.text.format(m="np." if lib == "np" else "math.")

    def run(self, *a: np.ndarray) -> np.ndarray:
        if self.name == "sigmoid":
            _guard(-a[0] < 20)
            return _finite(1 / (1 + np.exp(-a[0])))
        if self.name == "mix":
            t = a[0] * a[1]
            t = t + a[0]
            return _finite(np.tanh(t) * a[1])
        if self.name == "squash":
            u = a[0] * a[0]
            return _finite(u / (u + 1))
        if self.name == "both":
            return _finite(HELPERS["squash"].run(a[0]) + HELPERS["sigmoid"].run(a[1]))
        raise AssertionError(self.name)


HELPERS = {
    h.name: h
    for h in (
        Helper("sigmoid", 1, "def sigmoid(z):\n    return 1 / (1 + {m}exp(-z))\n"),
        Helper(
            "mix",
            2,
            "def mix(a, b):\n    t = a * b\n    t = t + a\n    return {m}tanh(t) * b\n",
        ),
        Helper("squash", 1, "def squash(a):\n    u = a * a\n    return u / (u + 1)\n"),
        Helper(
            "both",
            2,
            "def both(a, b):\n    return squash(a) + sigmoid(b)\n",
            ("squash", "sigmoid"),
        ),
    )
}


# ----- programs -----


@dataclass
class Program:
    name: str
    params: list[str]
    #: Statements: (target, augmented operator or "", expression).
    body: list[tuple[str, str, Node]]
    result: Node
    lib: str = "math"
    imports: tuple[str, ...] = ("import math",)
    helpers: tuple[str, ...] = ()
    wrt: list[str] | None = None
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    constants: tuple[tuple[str, str], ...] = ()

    def source(self) -> str:
        lines = list(self.imports) + [""]
        lines += [f"{k} = {v}" for k, v in self.constants]
        needed = _helper_closure(self.helpers)
        for h in needed:
            lines += ["", HELPERS[h].source(self.lib)]
        lines += ["", f"def {self.name}({', '.join(self.params)}):"]
        lines.append('    """A random straight-line program."""')
        for target, aug, expr in self.body:
            lines.append(f"    {target} {aug}= {expr.src(self.lib)}")
        result = self.result.src(self.lib)
        lines.append(f"    return {result}")
        return "\n".join(lines) + "\n"

    def evaluate(self, point: dict[str, np.ndarray]) -> np.ndarray:
        """The program's value, raising `Reject` near kinks and domain edges."""
        env: dict[str, np.ndarray] = dict(point)
        env.update({k: np.float64(float(v)) for k, v in self.constants})
        with np.errstate(all="raise"):
            try:
                for target, aug, expr in self.body:
                    value = expr.eval(env)
                    if aug:
                        value = Bin(aug, Var(target), Var("__rhs")).eval(
                            {**env, "__rhs": value}
                        )
                    env[target] = value
                return self.result.eval(env)
            except FloatingPointError:
                raise Reject from None


def _helper_closure(names: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for n in names:
        for dep in (*HELPERS[n].calls, n):
            if dep not in out:
                out.append(dep)
    return out


#: Names that look like generated ones: the generator must still be right.
TRICKY = [
    "grad_x",
    "grad_out",
    "cache",
    "cache_",
    "out",
    "grad_a",
    "f_forward",
    "f_backward",
    "grad_grad_x",
    "x_1",
    "out_mul",
    "é",
    "变量",
]
PLAIN = ["x", "y", "z", "a", "b", "w", "h", "s", "t1", "L"]


@st.composite
def names(draw: st.DrawFn, n: int, exclude: set[str]) -> list[str]:
    pool = [p for p in PLAIN + TRICKY if p not in exclude]
    return draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n, unique=True))


def _safe_unary(draw: st.DrawFn, fn: str, inner: Node, style: str) -> Node:
    """Wrap `inner` so the function sees a value inside its domain."""
    one = Num("1")
    if fn in ("log", "sqrt"):
        inner = Bin("+", Bin("*", inner, inner), one)
    elif fn in ("exp", "tan"):
        inner = (
            Call("tanh", inner, style)
            if draw(st.booleans())
            else Call("sin", inner, style)
        )
    return Call(fn, inner, style)


@st.composite
def scalar_expr(
    draw: st.DrawFn, avail: list[str], depth: int, style: str, helpers: list[str]
) -> Node:
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.integers(0, 5)) == 0:
            return Num(draw(st.sampled_from(["0.5", "2", "3.0", "1e-1", "1.5", "C"])))
        return Var(draw(st.sampled_from(avail)))
    sub = scalar_expr(avail, depth - 1, style, helpers)
    kind = draw(
        st.sampled_from(
            [
                "+",
                "-",
                "*",
                "/",
                "/safe",
                "**",
                "neg",
                "call",
                "call",
                "maxmin",
                "helper",
                "abs",
            ]
        )
    )
    if kind in ("+", "-", "*"):
        return Bin(kind, draw(sub), draw(sub))
    if kind == "/":
        return Bin("/", draw(sub), draw(sub))
    if kind == "/safe":
        d = draw(sub)
        return Bin("/", draw(sub), Bin("+", Bin("*", d, d), Num("1")))
    if kind == "**":
        e = draw(st.sampled_from(["2", "3", "0.5", "1.5", "var"]))
        base = draw(sub)
        if e in ("0.5", "1.5", "var"):
            base = Bin("+", Bin("*", base, base), Num("0.5"))
        exp: Node = Call("tanh", draw(sub), style) if e == "var" else Num(e)
        return Bin("**", base, exp)
    if kind == "neg":
        return Neg(draw(sub))
    if kind == "call":
        fn = draw(st.sampled_from(["exp", "log", "sqrt", "sin", "cos", "tan", "tanh"]))
        return _safe_unary(draw, fn, draw(sub), style)
    if kind == "abs":
        return Call("abs", draw(sub), style)
    if kind == "maxmin":
        k = draw(st.integers(2, 3))
        return MaxMin(
            draw(st.sampled_from(["max", "min"])), tuple(draw(sub) for _ in range(k))
        )
    h = draw(st.sampled_from(sorted(HELPERS)))
    helpers.append(h)
    return HelperCall(h, tuple(draw(sub) for _ in range(HELPERS[h].arity)))


@st.composite
def scalar_programs(
    draw: st.DrawFn, max_params: int = 4, max_stmts: int = 6
) -> Program:
    fname = draw(st.sampled_from(["f", "loss", "grad_f", "g", "forward"]))
    reserved = {
        fname,
        "math",
        "m",
        "np",
        "C",
        *HELPERS,
        *(f"{fname}_{s}" for s in ("forward", "backward", "value_and_grad")),
    }
    params = draw(names(draw(st.integers(1, max_params)), reserved))
    style = draw(st.sampled_from(["math", "bare", "alias"]))
    imports = {
        "math": ("import math",),
        "alias": ("import math", "import math as m"),
        "bare": ("import math", "from math import cos, exp, log, sin, sqrt, tan, tanh"),
    }[style]
    avail = list(params)
    body: list[tuple[str, str, Node]] = []
    helpers: list[str] = []
    for _ in range(draw(st.integers(0, max_stmts))):
        expr = draw(scalar_expr(avail, draw(st.integers(1, 3)), style, helpers))
        how = draw(st.sampled_from(["new", "new", "rebind", "aug"]))
        if how == "new":
            fresh = [n for n in PLAIN + TRICKY if n not in avail and n not in reserved]
            target = draw(st.sampled_from(fresh))
            avail.append(target)
            body.append((target, "", expr))
        elif how == "rebind":
            body.append((draw(st.sampled_from(avail)), "", expr))
        else:
            op = draw(st.sampled_from(["+", "-", "*", "/", "**"]))
            if op == "/":
                expr = Bin("+", Bin("*", expr, expr), Num("1"))
            if op == "**":
                expr = Num(draw(st.sampled_from(["2", "3"])))
            body.append((draw(st.sampled_from(avail)), op, expr))
    result = draw(scalar_expr(avail, draw(st.integers(0, 3)), style, helpers))
    if not any(isinstance(n, Var) for n in _leaves(result)):
        result = Bin("*", result, Var(params[0]))
    wrt = None
    if draw(st.booleans()):
        wrt = draw(st.permutations(params))[: draw(st.integers(1, len(params)))]
    return Program(
        fname,
        params,
        body,
        result,
        "math",
        imports,
        tuple(helpers),
        wrt,
        constants=(("C", "0.25"),),
    )


def _leaves(node: Node) -> list[Node]:
    kids = [v for v in vars(node).values() if isinstance(v, Node)]
    kids += [
        k
        for v in vars(node).values()
        if isinstance(v, tuple)
        for k in v
        if isinstance(k, Node)
    ]
    return [node] if not kids else [leaf for k in kids for leaf in _leaves(k)]


# ----- array programs -----


def shape_of(node: Node, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...]:
    """The NumPy shape `node` evaluates to, from its leaves' shapes."""
    if isinstance(node, Var):
        return shapes[node.name]
    if isinstance(node, Num):
        return ()
    if isinstance(node, Bin):
        a, b = shape_of(node.left, shapes), shape_of(node.right, shapes)
        if node.op == "@":
            return (np.zeros(a) @ np.zeros(b)).shape
        return np.broadcast_shapes(a, b)
    if isinstance(node, (Neg, Call)):
        return shape_of(node.inner if isinstance(node, Neg) else node.arg, shapes)
    if isinstance(node, (MaxMin, HelperCall)):
        return np.broadcast_shapes(*(shape_of(a, shapes) for a in node.args))
    if isinstance(node, Reduce):
        return np.sum(
            np.zeros(shape_of(node.arg, shapes)), axis=node.axis, keepdims=node.keepdims
        ).shape
    raise AssertionError(node)


@st.composite
def array_expr(
    draw: st.DrawFn,
    avail: list[str],
    shapes: dict[str, tuple[int, ...]],
    depth: int,
    helpers: list[str],
    weight: str | None,
) -> Node:
    if depth <= 0 or draw(st.integers(0, 4)) == 0:
        if draw(st.integers(0, 6)) == 0:
            return Num(draw(st.sampled_from(["0.5", "2", "1.5"])))
        return Var(draw(st.sampled_from(avail)))
    sub = array_expr(avail, shapes, depth - 1, helpers, weight)

    def fits(*nodes: Node) -> bool:
        try:
            np.broadcast_shapes(*(shape_of(n, shapes) for n in nodes))
        except ValueError:  # e.g. (n, k) after @ against (n, c)
            return False
        return True

    kind = draw(
        st.sampled_from(
            [
                "+",
                "-",
                "*",
                "/safe",
                "**",
                "neg",
                "call",
                "call",
                "maxmin",
                "reduce",
                "reduce",
                "matmul",
                "helper",
                "abs",
            ]
        )
    )
    if kind in ("+", "-", "*"):
        a, b = draw(sub), draw(sub)
        return Bin(kind, a, b) if fits(a, b) else a
    if kind == "/safe":
        d, a = draw(sub), draw(sub)
        return Bin("/", a, Bin("+", Bin("*", d, d), Num("1"))) if fits(a, d) else a
    if kind == "**":
        return Bin("**", draw(sub), Num(draw(st.sampled_from(["2", "3"]))))
    if kind == "neg":
        return Neg(draw(sub))
    if kind == "call":
        fn = draw(st.sampled_from(["exp", "log", "sqrt", "sin", "cos", "tanh"]))
        return _safe_unary(draw, fn, draw(sub), "math")
    if kind == "abs":
        return Call("abs", draw(sub))
    if kind == "maxmin":
        a, b = draw(sub), draw(sub)
        return (
            MaxMin(draw(st.sampled_from(["max", "min"])), (a, b)) if fits(a, b) else a
        )
    if kind == "reduce":
        arg = draw(sub)
        ndim = len(shape_of(arg, shapes))
        axis = draw(st.sampled_from([None, *range(-ndim, ndim)]))
        method = ndim > 0 and draw(st.booleans())  # a float has no .sum()
        return Reduce(
            draw(st.sampled_from(["sum", "mean", "max"])),
            arg,
            axis,
            draw(st.booleans()),
            method,
        )
    if kind == "matmul" and weight is not None:
        arg = draw(sub)
        k = shapes[weight][0]
        if shape_of(arg, shapes)[-1:] == (k,):
            return Bin("@", arg, Var(weight))
        return arg
    if kind == "helper":
        h = draw(st.sampled_from(sorted(HELPERS)))
        args = tuple(draw(sub) for _ in range(HELPERS[h].arity))
        if not fits(*args):
            return args[0]
        helpers.append(h)
        return HelperCall(h, args)
    return draw(sub)


def _into(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """True when `shape` broadcasts into `target` (so `t op= e` keeps t's shape)."""
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


@st.composite
def array_programs(draw: st.DrawFn, max_params: int = 3, max_stmts: int = 5) -> Program:
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    fname = draw(st.sampled_from(["f", "loss", "layer"]))
    reserved = {
        fname,
        "np",
        *HELPERS,
        *(f"{fname}_{s}" for s in ("forward", "backward", "value_and_grad")),
    }
    params = draw(names(draw(st.integers(1, max_params)), reserved))
    shapes = {
        p: draw(st.sampled_from([(n, c), (c,), (n, 1), (1, c), (n, c)])) for p in params
    }
    weight = None
    if draw(st.booleans()):
        weight = draw(
            st.sampled_from([w for w in ("W", "W1", "grad_W") if w not in params])
        )
        params.append(weight)
        shapes[weight] = (c, draw(st.integers(1, 3)))
    avail = [p for p in params if p != weight]
    param_shapes = dict(shapes)
    body: list[tuple[str, str, Node]] = []
    helpers: list[str] = []
    for _ in range(draw(st.integers(0, max_stmts))):
        expr = draw(array_expr(avail, shapes, draw(st.integers(1, 3)), helpers, weight))
        if isinstance(expr, Var):  # `a = x` aliases x: in-place updates are refused
            expr = Bin("*", expr, Num("1.0"))
        shape = shape_of(expr, shapes)
        how = draw(st.sampled_from(["new", "new", "rebind", "aug"]))
        same = [v for v in avail if v not in params and _into(shape, shapes[v])]
        if how == "new" or not same:
            fresh = [
                v
                for v in PLAIN + TRICKY
                if v not in avail and v not in reserved and v not in params
            ]
            target = draw(st.sampled_from(fresh))
            avail.append(target)
            shapes[target] = shape
            body.append((target, "", expr))
        elif how == "rebind":
            target = draw(st.sampled_from(avail))
            shapes[target] = shape
            body.append((target, "", expr))
        else:  # x op= e keeps x's shape only when e broadcasts into it
            body.append(
                (
                    draw(st.sampled_from(same)),
                    draw(st.sampled_from(["+", "-", "*"])),
                    expr,
                )
            )
    result = draw(array_expr(avail, shapes, draw(st.integers(0, 3)), helpers, weight))
    if not any(isinstance(leaf, Var) for leaf in _leaves(result)):
        result = Bin("*", result, Var(avail[0]))
    if draw(st.booleans()):
        result = Reduce("sum", result, None, False)
    wrt = None
    if draw(st.booleans()):
        wrt = draw(st.permutations(params))[: draw(st.integers(1, len(params)))]
    return Program(
        fname,
        params,
        body,
        result,
        "np",
        ("import numpy as np",),
        tuple(helpers),
        wrt,
        {p: param_shapes[p] for p in params},
    )
