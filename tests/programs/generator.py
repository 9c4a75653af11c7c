"""Random straight-line forward programs, built by running them.

A program is grown one statement at a time. Each candidate statement is drawn
from a template (an op in one of the forms users write: keyword or positional
arguments, method or function, negative axes, list indices with repeats, ...),
then the whole function so far is executed on the real sample inputs with
NumPy warnings raised as errors. The candidate is kept only if NumPy runs it,
every value stays finite and moderate, and every kink (abs, max, clip, a tie
of a reduction) and domain edge (log, sqrt, division) the statement touches is
at least `GAP` away. Shapes, ties, aliasing and domains are therefore those
NumPy really sees, not a model of them.

This module writes programs only; `check.py` runs codegen on them.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import numpy as np

#: Distance every kink and domain edge must keep from the sample values.
GAP = 1e-2
#: Largest magnitude a value may reach.
BIG = 1e3
#: Smallest argument of log, sqrt and fractional powers.
POS = 5e-2


class Reject(Exception):
    """The candidate does not run, or runs too close to a kink or an edge."""


@dataclass
class Stmt:
    """One statement of the forward (one or more source lines)."""

    lines: list[str]
    #: What the statement exercises, e.g. ``index.list_repeat``.
    tag: str
    #: The name it binds or updates (a return candidate).
    target: str
    #: Guards checked right after it runs: ("abs", e) |e| > GAP, ("pos", e) e >
    #: POS, ("gap", e, axis) the two largest and two smallest along axis differ,
    #: ("sorted", e, axis) all entries along axis (None: all) differ.
    checks: list[tuple] = field(default_factory=list)


@dataclass
class Param:
    name: str
    #: "float" (a Python float), "a0" (a 0-d array) or "array".
    kind: str
    shape: tuple[int, ...] = ()
    annotation: str = ""


@dataclass
class Program:
    kind: str  # "scalar" or "numpy"
    params: list[Param]
    consts: list[str]  # module-level lines before the helpers
    helpers: list[str]  # names of HELPERS used
    stmts: list[Stmt]
    ret: str
    inputs: dict[str, object]
    seed: int = 0
    #: Further outputs, returned after `ret` (``return v5, v2, x``): earlier
    #: values or parameters a layer also hands back (a cs231n pair's ``h``).
    extra: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return [s.tag for s in self.stmts]

    def header(self) -> str:
        lines = []
        if any(p.annotation for p in self.params):
            lines.append("from __future__ import annotations")
            lines.append("")
        lines.append("import math" if self.kind == "scalar" else "import numpy as np")
        lines.append("")
        if self.consts:
            lines.extend(self.consts)
            lines.append("")
        for h in self.helpers:
            lines.append("")
            lines.append(HELPERS[self.kind][h])
        lines.append("")
        return "\n".join(lines)

    def signature(self) -> str:
        ps = ", ".join(
            f"{p.name}: {p.annotation}" if p.annotation else p.name for p in self.params
        )
        return f"def f({ps}):"

    def source(self) -> str:
        body = [f"    {ln}" for s in self.stmts for ln in s.lines]
        body.append(f"    return {', '.join([self.ret, *self.extra])}")
        return self.header() + "\n" + self.signature() + "\n" + "\n".join(body) + "\n"

    def instrumented(self, stmts: list[Stmt] | None = None) -> str:
        """The function with a guard call after every statement, returning its
        locals instead of the result."""
        body = []
        for s in self.stmts if stmts is None else stmts:
            body.extend(f"    {ln}" for ln in s.lines)
            for c in s.checks:
                if c[0] in ("gap", "sorted"):
                    body.append(f"    _{c[0]}({c[1]}, {c[2]!r})")
                else:
                    body.append(f"    _chk({c[0]!r}, {c[1]})")
            body.append(f"    _fin({s.target})")
        body.append("    return dict(locals())")
        sig = "def f(" + ", ".join(p.name for p in self.params) + "):"
        return self.header() + "\n" + sig + "\n" + "\n".join(body) + "\n"

    def fresh_inputs(self) -> list[object]:
        return [copy_value(self.inputs[p.name]) for p in self.params]


def copy_value(v: object) -> object:
    return np.array(v, copy=True) if isinstance(v, np.ndarray) else v


HELPERS = {
    "numpy": {
        "scaled": "def scaled(u, factor=2.0):\n    return u * factor\n",
        "tail": "def tail(q):\n    return q[1:]\n",
        "first": "def first(q):\n    return q[0]\n",
        "flipped": "def flipped(q):\n    return q.T\n",
        "sigmoid": "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n",
        "mix": "def mix(a, b, w=0.5):\n    return w * a + (1 - w) * b\n",
        "pair": "def pair(q):\n    return q * 2.0, np.sin(q)\n",
    },
    "scalar": {
        "scaled": "def scaled(u, factor=2.0):\n    return u * factor\n",
        "sigmoid": "def sigmoid(z):\n    return 1 / (1 + math.exp(-z))\n",
        "mix": "def mix(a, b, w=0.5):\n    return w * a + (1 - w) * b\n",
        "pair": "def pair(q):\n    return q * 2.0, math.sin(q)\n",
    },
}


# ----- guards, run inside the instrumented function -----


def _chk(kind: str, value: object) -> None:
    a = np.asarray(value, dtype=float)
    if kind == "abs" and a.size and np.min(np.abs(a)) < GAP:
        raise Reject
    if kind == "pos" and a.size and np.min(a) < POS:
        raise Reject


def _gap(value: object, axis: object) -> None:
    a = np.asarray(value, dtype=float)
    if a.ndim == 0 or a.size < 2:
        return
    if axis is None:
        a = a.reshape(1, -1)
    else:
        axes = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(ax % a.ndim for ax in axes)
        rest = [i for i in range(a.ndim) if i not in axes]
        a = np.transpose(a, rest + list(axes))
        a = a.reshape(-1, int(np.prod([value.shape[i] for i in axes])))
    if a.shape[-1] < 2:
        return
    s = np.sort(a, axis=-1)
    if min(np.min(s[:, -1] - s[:, -2]), np.min(s[:, 1] - s[:, 0])) < GAP:
        raise Reject


def _sorted(value: object, axis: object) -> None:
    """Reject values with two entries along `axis` closer than GAP (a median
    or quantile there is a kink)."""
    a = np.asarray(value, dtype=float)
    a = a.reshape(1, -1) if axis is None or a.ndim == 0 else np.moveaxis(a, axis, -1)
    if a.shape[-1] >= 2 and np.min(np.diff(np.sort(a, axis=-1), axis=-1)) < GAP:
        raise Reject


def _fin(value: object) -> None:
    if isinstance(value, (tuple, list)):
        for v in value:
            _fin(v)
        return
    a = np.asarray(value)
    if a.size == 0:
        raise Reject
    if a.dtype.kind == "f" and (not np.all(np.isfinite(a)) or np.any(np.abs(a) > BIG)):
        raise Reject


def run_locals(prog: Program, stmts: list[Stmt]) -> dict[str, object]:
    """Run the program's statements on fresh copies of its inputs; the locals
    at the end, or Reject."""
    ns: dict[str, object] = {"_chk": _chk, "_gap": _gap, "_fin": _fin}
    ns["_sorted"] = _sorted
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            code = compile(prog.instrumented(stmts), "<candidate>", "exec")
            exec(code, ns)  # noqa: S102
            with np.errstate(all="raise"):
                env = ns["f"](*prog.fresh_inputs())
    except Reject:
        raise
    except Exception as exc:  # NumPy refuses the candidate: draw another
        raise Reject from exc
    return env


# ----- the generator -----


def _is_float(v: object) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, float):
        return True
    return isinstance(v, np.ndarray | np.floating) and np.asarray(v).dtype.kind == "f"


def _lit(x: float) -> str:
    return repr(float(x))


def _shape_str(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _axes_str(axes: tuple[int, ...]) -> str:
    return _shape_str(axes)


class Gen:
    """State of one program being grown."""

    def __init__(self, rng: np.random.Generator, kind: str) -> None:
        self.rng = rng
        self.kind = kind
        self.counter = 0
        self.env: dict[str, object] = {}
        self.order: list[str] = []  # names in creation order
        self.consts: dict[str, float] = {}
        self.const_lines: list[str] = []
        self.helpers: list[str] = []
        self.params: list[str] = []

    # -- names and values --
    def new(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def choice(self, seq):
        seq = list(seq)
        return seq[int(self.rng.integers(len(seq)))]

    def floats(self, pred=None) -> list[str]:
        out = [n for n in self.order if n in self.env and _is_float(self.env[n])]
        if pred is not None:
            out = [n for n in out if pred(np.asarray(self.env[n]))]
        return out

    def pick(self, pred=None) -> str | None:
        names = self.floats(pred)
        if not names:
            return None
        # favour recent values so the program is a chain, not a fan
        w = np.arange(1, len(names) + 1, dtype=float) ** 1.5
        return names[int(self.rng.choice(len(names), p=w / w.sum()))]

    def pairs(
        self, fmt: str, pred_a=None, pred_b=None, same=True
    ) -> tuple[str, str] | None:
        """Two names for which NumPy evaluates `fmt` (with {a} and {b})."""
        a_names = self.floats(pred_a)
        b_names = self.floats(pred_b)
        cand = [(a, b) for a in a_names for b in b_names if same or a != b]
        self.rng.shuffle(cand)
        for a, b in cand[:40]:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    with np.errstate(all="raise"):
                        eval(
                            fmt.format(a=a, b=b),
                            {"np": np, "math": math},
                            dict(self.env),
                        )
                return a, b
            except Exception:  # noqa: BLE001, S112
                continue
        return None

    def const(self) -> str:
        """A literal or a module-level constant (maybe negative)."""
        if self.chance(0.03):  # a constant the module re-binds before f runs
            if "GAIN" not in self.consts:
                self.consts["GAIN"] = 3.0
                self.const_lines.extend(
                    self.choice(
                        [
                            ["GAIN = 2.0", "GAIN += 1.0"],
                            ["GAIN = 0.6", "GAIN = GAIN * 5"],
                            ["GAIN, BIAS = 3.0, 1.0"],
                        ]
                    )
                )
            return "GAIN"
        if self.chance(0.3):
            table = [
                ("SCALE", 2.0),
                ("SHIFT", -1.5),
                ("HALF", 0.5),
                ("NEG", -0.25),
                ("THREE", 3),
            ]
            name, value = self.choice(table)
            if name not in self.consts:
                self.consts[name] = value
                self.const_lines.append(f"{name} = {value!r}")
            return name
        return self.choice(["2.0", "0.5", "-1.5", "3.0", "1.0", "-0.5", "2", "0.25"])

    def helper(self, name: str) -> str:
        if name not in self.helpers:
            self.helpers.append(name)
        return name


# ----- NumPy templates: each returns a Stmt or None -----


def _ndim(g: Gen, n: str) -> int:
    return np.ndim(g.env[n])


def _shape(g: Gen, n: str) -> tuple[int, ...]:
    return np.shape(g.env[n])


def t_unary(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None:
        return None
    fn = g.choice(
        [
            "exp",
            "log",
            "log1p",
            "sqrt",
            "square",
            "abs",
            "sin",
            "cos",
            "tan",
            "tanh",
            "neg",
            "pow2",
            "pow3",
            "power",
            "powhalf",
            "meth_abs",
            "neg_pow",
            "const_base",
            "neg_square",
        ]
    )
    t = g.new()
    checks: list[tuple] = []
    if fn == "neg":
        expr = f"-{x}"
    elif fn == "pow2":
        expr = f"{x} ** 2"
    elif fn == "pow3":
        expr = f"{x} ** 3"
    elif fn == "power":
        expr = f"np.power({x}, {g.choice(['2', '3.0', '2.0'])})"
    elif fn == "powhalf":
        expr = f"{x} ** 0.5"
        checks.append(("pos", x))
    elif fn == "meth_abs":
        expr = f"abs({x})"
        checks.append(("abs", x))
    elif fn == "neg_pow":
        expr = f"{x} ** {g.choice(['-1', '-2', '-1.0'])}"
        checks.append(("abs", x))
    elif fn == "const_base":
        expr = g.choice([f"2.0 ** {x}", f"np.power(0.5, {x})", f"3 ** {x}"])
    elif fn == "neg_square":
        expr = f"-{x} ** 2"
    else:
        expr = f"np.{fn}({x})"
        if fn in ("log", "sqrt"):
            checks.append(("pos", x))
        if fn == "log1p":
            checks.append(("pos", f"1 + {x}"))
        if fn == "abs":
            checks.append(("abs", x))
        if fn == "tan":
            checks.append(("abs", f"np.cos({x})"))
    return Stmt([f"{t} = {expr}"], f"unary.{fn}", t, checks)


def t_binary(g: Gen) -> Stmt | None:
    op = g.choice(["+", "-", "*", "/"])
    t = g.new()
    r = g.rng.random()
    if r < 0.25:  # with a constant
        x = g.pick()
        if x is None:
            return None
        c = g.const()
        if g.chance(0.5):
            expr, checks = f"{x} {op} {c}", []
        else:
            expr = f"{c} {op} {x}"
            checks = [("abs", x)] if op == "/" else []
        return Stmt([f"{t} = {expr}"], f"binary.const{op}", t, checks)
    if r < 0.35:  # the same name twice
        x = g.pick()
        if x is None or op in "-/":
            return None
        return Stmt([f"{t} = {x} {op} {x}"], f"binary.self{op}", t)
    pr = g.pairs("{a} " + op + " {b}")
    if pr is None:
        return None
    a, b = pr
    checks = [("abs", b)] if op == "/" else []
    bshape = np.broadcast_shapes(_shape(g, a), _shape(g, b))
    tag = (
        "binary.bcast"
        if (_shape(g, a) != bshape or _shape(g, b) != bshape)
        else "binary.same"
    )
    return Stmt([f"{t} = {a} {op} {b}"], tag + op, t, checks)


def t_pow_var(g: Gen) -> Stmt | None:
    pr = g.pairs("{a} ** {b}", same=False)
    if pr is None:
        return None
    a, b = pr
    t = g.new()
    form = g.choice(["op", "np"])
    expr = f"{a} ** {b}" if form == "op" else f"np.power({a}, {b})"
    return Stmt([f"{t} = {expr}"], f"pow.var.{form}", t, [("pos", a)])


def t_router(g: Gen) -> Stmt | None:
    kind = g.choice(["maximum", "minimum", "where", "mask", "maximum0"])
    t = g.new()
    if kind == "maximum0":
        x = g.pick()
        if x is None:
            return None
        fn, c = g.choice(
            [
                ("maximum", "0"),
                ("maximum", "0.5"),
                ("minimum", "1.0"),
                ("maximum", "x_first"),
            ]
        )
        if c == "x_first":
            return Stmt(
                [f"{t} = np.maximum({x}, 0.0)"], "router.relu_x_first", t, [("abs", x)]
            )
        return Stmt(
            [f"{t} = np.{fn}({c}, {x})"],
            f"router.{fn}_const",
            t,
            [("abs", f"{x} - {c}")],
        )
    if kind in ("maximum", "minimum"):
        pr = g.pairs(f"np.{kind}({{a}}, {{b}})", same=False)
        if pr is None:
            return None
        a, b = pr
        return Stmt(
            [f"{t} = np.{kind}({a}, {b})"], f"router.{kind}", t, [("abs", f"{a} - {b}")]
        )
    if kind == "where":
        pr = g.pairs("np.where({a} > 0, {a}, {b})", same=False)
        if pr is None:
            return None
        a, b = pr
        c = g.pick()
        return Stmt(
            [f"{t} = np.where({a} > 0, {c if c and g.chance(0.3) else a}, {b})"],
            "router.where",
            t,
            [("abs", a)],
        )
    pr = g.pairs("({a} > 0) * {b}")
    if pr is None:
        return None
    a, b = pr
    return Stmt([f"{t} = ({a} > 0) * {b}"], "router.mask", t, [("abs", a)])


def t_clip(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None:
        return None
    t = g.new()
    form = g.choice(
        ["scalars", "lo_none", "hi_none", "array_lo", "array_both", "method", "kw"]
    )
    lo, hi = "-0.5", "0.5"
    if form == "scalars":
        expr, checks = f"np.clip({x}, -0.5, 0.5)", [
            ("abs", f"{x} + 0.5"),
            ("abs", f"{x} - 0.5"),
        ]
    elif form == "lo_none":
        expr, checks = f"np.clip({x}, None, 0.5)", [("abs", f"{x} - 0.5")]
    elif form == "hi_none":
        expr, checks = f"np.clip({x}, -0.5, None)", [("abs", f"{x} + 0.5")]
    elif form in ("array_lo", "array_both"):
        pr = g.pairs("np.clip({a}, {b}, 2.0)", same=False)
        if pr is None:
            return None
        x, lo = pr
        hi = "2.0"
        if form == "array_both":
            hi = f"{lo} + 1.0"
        expr = f"np.clip({x}, {lo}, {hi})"
        checks = [("abs", f"{x} - {lo}"), ("abs", f"{x} - ({hi})")]
    elif form == "method":
        expr, checks = f"{x}.clip({lo}, {hi})", [
            ("abs", f"{x} + 0.5"),
            ("abs", f"{x} - 0.5"),
        ]
    else:
        expr = f"np.clip({x}, a_min={lo}, a_max={hi})"
        checks = [("abs", f"{x} + 0.5"), ("abs", f"{x} - 0.5")]
    return Stmt([f"{t} = {expr}"], f"clip.{form}", t, checks)


def t_matmul(g: Gen) -> Stmt | None:
    kind = g.choice(
        [
            "dot",
            "dot",
            "dot",
            "matmul_op",
            "matmul",
            "outer",
            "tensordot",
            "einsum_t",
            "einsum_mm",
            "dot_method",
            "tensordot2",
            "tensordot_lists",
            "tensordot0",
            "einsum_rowdot",
            "einsum_rowsum",
            "einsum_inner",
        ]
    )
    fmt = {
        "dot": "np.dot({a}, {b})",
        "dot_method": "{a}.dot({b})",
        "matmul_op": "{a} @ {b}",
        "matmul": "np.matmul({a}, {b})",
        "outer": "np.outer({a}, {b})",
        "tensordot": "np.tensordot({a}, {b}, axes=1)",
        "einsum_mm": "np.einsum('ij,jk->ik', {a}, {b})",
        "tensordot2": "np.tensordot({a}, {b}, axes=2)",
        "tensordot0": "np.tensordot({a}, {b}, axes=0)",
        "tensordot_lists": "np.tensordot({a}, {b}, axes=([1], [0]))",
        "einsum_rowdot": "np.einsum('ij,ij->i', {a}, {b})",
        "einsum_rowsum": "np.einsum('ij->i', {a}) + 0.0 * {b}",
        "einsum_inner": "np.einsum('i,i->', {a}, {b})",
    }
    t = g.new()
    if kind == "einsum_t":
        x = g.pick(lambda v: v.ndim == 2)
        if x is None:
            return None
        return Stmt([f"{t} = np.einsum('ij->ji', {x})"], "matmul.einsum_t", t)
    pr = g.pairs(fmt[kind])
    if pr is None:
        return None
    a, b = pr
    tag = f"matmul.{kind}"
    if kind in ("dot", "dot_method"):
        tag += f".{_ndim(g, a)}x{_ndim(g, b)}"
    return Stmt([f"{t} = {fmt[kind].format(a=a, b=b)}"], tag, t)


def _axis_choice(g: Gen, nd: int) -> object:
    r = g.rng.random()
    if nd == 0 or r < 0.15:
        return None
    if r < 0.7 or nd == 1:
        ax = int(g.rng.integers(nd))
        return ax - nd if g.chance(0.4) else ax
    axes = g.rng.choice(nd, 2, replace=False).tolist()
    if g.chance(0.6):
        axes = sorted(axes)
    return tuple(a - nd if g.chance(0.4) else a for a in axes)


def t_reduce(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None:
        return None
    nd = _ndim(g, x)
    fn = g.choice(["sum", "sum", "mean", "max", "min", "var", "std"])
    axis = _axis_choice(g, nd)
    keep = g.chance(0.3)
    form = g.choice(["kw", "pos", "method", "method_pos"])
    if axis is None and form in ("pos", "method_pos"):
        form = "kw"
    t = g.new()
    args = []
    if axis is not None:
        a = str(axis)
        args.append(a if form in ("pos", "method_pos") else f"axis={a}")
    if keep:
        args.append("keepdims=1" if g.chance(0.1) else "keepdims=True")
    if form in ("method", "method_pos"):
        expr = f"{x}.{fn}({', '.join(args)})"
    else:
        expr = f"np.{fn}({', '.join([x] + args)})"
    checks: list[tuple] = []
    if fn in ("max", "min"):
        checks.append(("gap", x, axis))
    if fn == "std":
        checks.append(("pos", f"np.var({x}, axis={axis!r})"))
    axtag = (
        "none"
        if axis is None
        else ("tuple" if isinstance(axis, tuple) else ("neg" if axis < 0 else "int"))
    )
    return Stmt(
        [f"{t} = {expr}"],
        f"reduce.{fn}.{axtag}.{form}" + (".keep" if keep else ""),
        t,
        checks,
    )


def t_transpose(g: Gen) -> Stmt | None:
    x = g.pick(lambda v: v.ndim >= 2)
    if x is None:
        return None
    nd = _ndim(g, x)
    t = g.new()
    perm = g.rng.permutation(nd).tolist()
    perm = [p - nd if g.chance(0.4) else p for p in perm]
    form = g.choice(["T", "np", "np_axes", "np_axes_kw", "method", "method_tuple"])
    if form == "T":
        expr = f"{x}.T"
    elif form == "np":
        expr = f"np.transpose({x})"
    elif form == "np_axes":
        expr = f"np.transpose({x}, {_axes_str(tuple(perm))})"
    elif form == "np_axes_kw":
        expr = f"np.transpose({x}, axes={_axes_str(tuple(perm))})"
    elif form == "method":
        expr = f"{x}.transpose({', '.join(map(str, perm))})"
    else:
        expr = f"{x}.transpose({_axes_str(tuple(perm))})"
    neg = any(p < 0 for p in perm) and form not in ("T", "np")
    return Stmt([f"{t} = {expr}"], f"transpose.{form}" + (".neg" if neg else ""), t)


def t_reshape(g: Gen) -> Stmt | None:
    x = g.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    size = int(np.prod(_shape(g, x)))
    t = g.new()
    divs = [d for d in range(1, size + 1) if size % d == 0]
    a = g.choice(divs)
    shape = g.choice(
        [(-1,), (a, -1), (-1, a), (a, size // a), (size,), (1, size), (a, 1, size // a)]
    )
    form = g.choice(["method_tuple", "method_args", "np", "fortran", "ravel_F"])
    if form == "fortran":  # the first index fastest
        expr = f"{x}.reshape({', '.join(map(str, shape))}, order='F')"
    elif form == "ravel_F":
        expr = g.choice([f"{x}.ravel(order='F')", f"np.ravel({x}, 'F')"])
    elif form == "method_tuple":
        expr = f"{x}.reshape({_shape_str(shape)})"
    elif form == "method_args":
        expr = f"{x}.reshape({', '.join(map(str, shape))})"
    else:
        expr = f"np.reshape({x}, {_shape_str(shape)})"
    return Stmt([f"{t} = {expr}"], f"reshape.{form}", t)


def t_dims(g: Gen) -> Stmt | None:
    kind = g.choice(["expand", "expand", "squeeze", "broadcast_to", "newaxis"])
    x = g.pick()
    if x is None:
        return None
    nd = _ndim(g, x)
    t = g.new()
    if kind == "expand":
        ax = int(g.rng.integers(-(nd + 1), nd + 1))
        form = g.choice(["kw", "pos", "tuple"])
        if form == "kw":
            expr = f"np.expand_dims({x}, axis={ax})"
        elif form == "pos":
            expr = f"np.expand_dims({x}, {ax})"
        else:
            expr = f"np.expand_dims({x}, (0, {g.choice([1, -1])}))"
        return Stmt(
            [f"{t} = {expr}"], f"expand_dims.{form}" + (".neg" if ax < 0 else ""), t
        )
    if kind == "squeeze":
        ones = [i for i, d in enumerate(_shape(g, x)) if d == 1]
        if not ones:
            return None
        ax = g.choice(ones)
        ax = ax - nd if g.chance(0.5) else ax
        form = g.choice(["none", "kw", "pos", "method"])
        expr = {
            "none": f"np.squeeze({x})",
            "kw": f"np.squeeze({x}, axis={ax})",
            "pos": f"np.squeeze({x}, {ax})",
            "method": f"{x}.squeeze({ax})",
        }[form]
        return Stmt([f"{t} = {expr}"], f"squeeze.{form}", t)
    if kind == "broadcast_to":
        shape = (2,) + _shape(g, x) if g.chance(0.5) else _shape(g, x)
        shape = tuple(3 if d == 1 and g.chance(0.5) else d for d in shape)
        return Stmt(
            [f"{t} = np.broadcast_to({x}, {_shape_str(shape)})"], "broadcast_to", t
        )
    form = g.choice(["None0", "None1", "newaxis"])
    if form == "None1" and nd >= 1:
        expr = f"{x}[:, None]"
    elif form == "newaxis":
        expr = f"{x}[np.newaxis]"
    else:
        expr = f"{x}[None]"
    return Stmt([f"{t} = {expr}"], f"index.{form}", t)


def t_join(g: Gen) -> Stmt | None:
    fn = g.choice(["concatenate", "stack"])
    form = g.choice(["kw", "pos", "tuple_pos", "default", "self", "three"])
    t = g.new()
    x0 = g.pick(lambda v: v.ndim >= 1) if fn == "concatenate" else g.pick()
    if x0 is None:
        return None
    nd = _ndim(g, x0) + (1 if fn == "stack" else 0)
    ax = int(g.rng.integers(-nd, nd))
    if form == "self":
        seq = f"[{x0}, {x0}]"
        expr = f"np.{fn}({seq}, axis={ax})"
        return Stmt([f"{t} = {expr}"], f"{fn}.self", t)
    fmt = {
        "kw": "np." + fn + "([{a}, {b}], axis=" + str(ax) + ")",
        "pos": "np." + fn + "([{a}, {b}], " + str(ax) + ")",
        "tuple_pos": "np." + fn + "(({a}, {b}), " + str(ax) + ")",
        "default": "np." + fn + "([{a}, {b}])",
        "three": "np." + fn + "([{a}, {b}, {a}], axis=" + str(ax) + ")",
    }[form]
    pr = g.pairs(fmt, same=False)
    if pr is None:
        return None
    return Stmt(
        [f"{t} = {fmt.format(a=pr[0], b=pr[1])}"],
        f"{fn}.{form}" + (".neg" if ax < 0 and form != "default" else ""),
        t,
    )


def _index_list(g: Gen, n: int, k: int | None = None) -> list[int]:
    k = k or int(g.rng.integers(2, 5))
    idx = g.rng.integers(0, n, size=k).tolist()
    if len(set(idx)) == len(idx) and k >= 2:  # make sure of a repeat
        idx[-1] = idx[0]
    return [i - n if g.chance(0.2) else i for i in idx]


def t_index(g: Gen) -> Stmt | None:
    x = g.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = _shape(g, x)
    nd = len(shape)
    n = shape[0]
    t = g.new()
    kind = g.choice(
        [
            "int",
            "neg_int",
            "slice",
            "step",
            "reverse",
            "list",
            "list",
            "list_axis1",
            "array",
            "arange",
            "pair",
            "mask",
            "slice_axis1",
            "ellipsis",
            "take",
            "take_flat",
        ]
    )
    checks: list[tuple] = []
    lines: list[str] = []
    if kind == "int":
        expr = f"{x}[{int(g.rng.integers(n))}]"
    elif kind == "neg_int":
        expr = f"{x}[-1]"
    elif kind == "slice":
        expr = g.choice(
            [f"{x}[1:]", f"{x}[:-1]", f"{x}[:2]", f"{x}[-2:]", f"{x}[1:][::-1]"]
        )
    elif kind == "step":
        expr = g.choice(
            [
                f"{x}[::2]",
                f"{x}[1::2]",
                f"{x}[::-2]",
                f"{x}[-1::-2]",
                f"{x}[{n - 1}:0:-1]",
            ]
        )
    elif kind == "reverse":
        expr = f"{x}[::-1]"
    elif kind == "list":
        expr = f"{x}[{_index_list(g, n)}]"
    elif kind == "list_axis1":
        if nd < 2:
            return None
        expr = f"{x}[:, {_index_list(g, shape[1])}]"
    elif kind == "array":
        expr = f"{x}[np.array({_index_list(g, n)})]"
    elif kind == "arange":
        k = int(g.rng.integers(2, 2 * n + 1))
        expr = f"{x}[np.arange({k}) // 2]"
    elif kind == "pair":
        if nd < 2:
            return None
        k = int(g.rng.integers(2, 4))
        expr = f"{x}[{_index_list(g, n, k)}, {_index_list(g, shape[1], k)}]"
    elif kind == "mask":
        expr = f"{x}[{x} > 0]"
        checks.append(("abs", x))
    elif kind == "slice_axis1":
        if nd < 2:
            return None
        expr = g.choice([f"{x}[:, 1:]", f"{x}[:, ::-1]", f"{x}[1:, :1]", f"{x}[:, -1]"])
    elif kind == "take":  # any axis, negative ones too, indices repeated
        axis = int(g.rng.integers(-nd, nd))
        expr = f"np.take({x}, {_index_list(g, shape[axis])}, axis={axis})"
        if g.rng.random() < 0.3:  # out of range, wrapped or clipped
            m = shape[axis]
            far = [int(v) for v in g.rng.integers(-3 * m, 3 * m, size=4)]
            mode = g.choice(["wrap", "clip"])
            expr = f"np.take({x}, {far}, axis={axis}, mode='{mode}')"
    elif kind == "take_flat":
        expr = f"np.take({x}, {_index_list(g, int(np.prod(shape)))})"
    else:
        expr = f"{x}[..., 0]"
    lines.append(f"{t} = {expr}")
    return Stmt(lines, f"index.{kind}", t, checks)


def _set_index(g: Gen, shape: tuple[int, ...]) -> tuple[str, str]:
    n = shape[0]
    kind = g.choice(
        ["int", "slice", "list_repeat", "arange_repeat", "axis1_list", "all"]
    )
    if kind == "int":
        return f"{int(g.rng.integers(n))}", kind
    if kind == "slice":
        return g.choice(["1:", ":-1", "::2"]), kind
    if kind == "list_repeat":
        return str(_index_list(g, n)), kind
    if kind == "arange_repeat":
        return f"np.arange({2 * n}) // 2", kind
    if kind == "axis1_list" and len(shape) >= 2:
        return f":, {_index_list(g, shape[1])}", kind
    return ":", "all"


def t_setitem(g: Gen) -> Stmt | None:
    x = g.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    shape = _shape(g, x)
    t = g.new()
    start = g.choice(["copy_mul", "np_copy", "zeros", "zeros_like", "method_copy"])
    if g.chance(0.15):  # cs231n style: out[out < 0] = 0 on a fresh copy
        src = g.choice(["<", ">"])
        return Stmt(
            [f"{t} = {x} * 1.0", f"{t}[{t} {src} 0] = 0.0"],
            "setitem.mask",
            t,
            [("abs", x)],
        )
    if g.chance(0.1):
        return Stmt(
            [f"{t} = np.copy({x})", f"{t}[0] = {t}[0] * 2.0"], "setitem.self_read", t
        )
    first = {
        "copy_mul": f"{t} = {x} * 1.0",
        "method_copy": f"{t} = {x}.copy()",
        "np_copy": f"{t} = np.copy({x})",
        "zeros": f"{t} = np.zeros({_shape_str(shape)})",
        "zeros_like": f"{t} = np.zeros_like({x})",
    }[start]
    idx, kind = _set_index(g, shape)
    op = g.choice(["=", "=", "+=", "-=", "*="])
    # the right-hand side: a value of the program that fits, or a constant
    target_shape = np.shape(np.zeros(shape)[eval(f"np.s_[{idx}]", {"np": np})])
    fits = g.floats(lambda v: _broadcasts_into(v.shape, target_shape))
    rhs = g.choice(fits) if fits and g.chance(0.8) else g.const()
    if (
        rhs in fits
        and g.chance(0.2)
        and _broadcasts_into((1,) + np.shape(g.env[rhs]), target_shape)
    ):
        rhs = f"{rhs}[None]"
    if op == "*=" and rhs in fits and g.chance(0.5):
        rhs = g.const()
    lines = [first, f"{t}[{idx}] {op} {rhs}"]
    return Stmt(lines, f"setitem.{kind}.{op}", t)


def _broadcasts_into(src: tuple[int, ...], dst: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(src, dst) == tuple(dst)
    except ValueError:
        return False


def t_inplace(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None or x in g.params and not g.chance(0.05):
        return None
    op = g.choice(["+=", "-=", "*=", "/=", "**="])
    xs = np.shape(g.env[x])
    checks: list[tuple] = []
    if op == "**=":
        rhs = "2"
    elif g.chance(0.4):
        rhs = g.const()
    else:
        fits = g.floats(lambda v: _broadcasts_into(v.shape, xs))
        if not fits:
            return None
        rhs = g.choice(fits)
        if op == "/=":
            checks.append(("abs", rhs))
    if op == "/=" and rhs in ("0.0",):
        return None
    return Stmt(
        [f"{x} {op} {rhs}"],
        f"inplace.{op}" + (".param" if x in g.params else ""),
        x,
        checks,
    )


def t_alias(g: Gen) -> Stmt | None:
    """A view or a second name of a value, later updated in place."""
    x = g.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    t = g.new()
    kind = g.choice(["name", "slice", "helper_tail", "einsum", "reshape", "min0"])
    if kind == "name":
        view = x
    elif kind == "slice":
        view = f"{x}[1:]"
    elif kind == "helper_tail":
        view = f"{g.helper('tail')}({x})"
    elif kind == "einsum":
        if _ndim(g, x) != 2:
            return None
        view = f"np.einsum('ij->ji', {x})"
    elif kind == "reshape":
        view = f"{x}.reshape(-1)"
    else:
        s = g.pick(lambda v: v.ndim == 0)
        if s is None:
            return None
        view = f"min({s}, 0.0)"
        return Stmt([f"{t} = {view}", f"{t} *= 2.0"], "alias.min0", t, [("abs", s)])
    op = g.choice(["[0] = 5.0", " *= 3.0", " += 1.0", "[0] += 1.0"])
    return Stmt([f"{t} = {view}", f"{t}{op}"], f"alias.{kind}", t)


def t_tuple(g: Gen) -> Stmt | None:
    kind = g.choice(
        ["mean_tuple", "sum_list", "tuple_index", "literal_index", "unpack"]
    )
    t = g.new()
    if kind == "mean_tuple":
        x = g.pick()
        if x is None:
            return None
        fn = g.choice(["mean", "sum", "max"])
        expr = f"np.{fn}(({x}, {x} + 2))"
        return Stmt([f"{t} = {expr}"], f"tuple.{fn}", t)
    if kind == "sum_list":
        pr = g.pairs("np.sum([{a}, {b}], axis=0)", same=False)
        if pr is None:
            return None
        return Stmt(
            [f"{t} = np.sum([{pr[0]}, {pr[1]}], axis=0)"], "tuple.sum_list_axis", t
        )
    pr = g.pairs("({a}, {b})", same=False)
    if pr is None:
        return None
    a, b = pr
    i = int(g.rng.integers(-2, 2))
    if kind == "tuple_index":
        u = g.new()
        return Stmt([f"{u} = {a}, {b}", f"{t} = {u}[{i}]"], "tuple.index", t)
    if kind == "literal_index":
        return Stmt([f"{t} = ({a} * 2.0, {b})[{i}]"], "tuple.literal_index", t)
    u = g.new()
    return Stmt([f"{t}, {u} = {a}, {b}", f"{t} = {t} * {u}"], "tuple.unpack", t)


def t_helper(g: Gen) -> Stmt | None:
    kind = g.choice(
        [
            "scaled",
            "scaled_kw",
            "scaled_pos",
            "tail",
            "first",
            "flipped",
            "sigmoid",
            "mix_kw",
        ]
    )
    t = g.new()
    if kind.startswith("scaled"):
        x = g.pick()
        if x is None:
            return None
        call = {
            "scaled": f"scaled({x})",
            "scaled_kw": f"scaled({x}, factor={g.const()})",
            "scaled_pos": f"scaled({x}, {g.const()})",
        }[kind]
        g.helper("scaled")
        return Stmt([f"{t} = {call}"], f"helper.{kind}", t)
    if kind in ("tail", "first", "flipped"):
        x = g.pick(lambda v: v.ndim >= (2 if kind == "flipped" else 1))
        if x is None:
            return None
        g.helper(kind)
        return Stmt([f"{t} = {kind}({x})"], f"helper.{kind}", t)
    if kind == "sigmoid":
        x = g.pick()
        if x is None:
            return None
        g.helper("sigmoid")
        return Stmt([f"{t} = sigmoid({x})"], "helper.sigmoid", t)
    pr = g.pairs("{a} + {b}", same=False)
    if pr is None:
        return None
    g.helper("mix")
    return Stmt([f"{t} = mix({pr[0]}, {pr[1]}, w=0.25)"], "helper.mix_kw", t)


def t_shape(g: Gen) -> Stmt | None:
    """Values without gradient: sizes read from shapes."""
    x = g.pick(lambda v: v.ndim >= 1)
    if x is None:
        return None
    t = g.new()
    nd = _ndim(g, x)
    kind = g.choice(["shape0", "len", "unpack", "size"])
    if kind == "shape0":
        return Stmt([f"{t} = {x} / {x}.shape[{g.choice([0, -1])}]"], "shape.index", t)
    if kind == "len":
        return Stmt([f"{t} = {x} * len({x})"], "shape.len", t)
    if kind == "size":
        return Stmt([f"{t} = np.sum({x}) / {x}.size"], "shape.size", t)
    names = [f"n{g.counter}_{i}" for i in range(nd)]
    return Stmt(
        [
            f"{', '.join(names)}{',' if nd == 1 else ''} = {x}.shape",
            f"{t} = {x} / {names[0]}",
        ],
        "shape.unpack",
        t,
    )


def t_builtin(g: Gen) -> Stmt | None:
    x = g.pick(lambda v: v.ndim == 0)
    if x is None:
        return None
    t = g.new()
    kind = g.choice(["max", "min", "abs", "max_var"])
    if kind == "abs":
        return Stmt([f"{t} = abs({x})"], "builtin.abs", t, [("abs", x)])
    if kind == "max_var":
        y = g.pick(lambda v: v.ndim == 0)
        if y is None or y == x:
            return None
        return Stmt(
            [f"{t} = max({x}, {y})"], "builtin.max_var", t, [("abs", f"{x} - {y}")]
        )
    return Stmt([f"{t} = {kind}({x}, 0.0)"], f"builtin.{kind}", t, [("abs", x)])


def t_stats(g: Gen) -> Stmt | None:
    """Statistics, masks and NumPy 2's names: median, quantiles, ptp, the
    nan-reductions, average, cumulative products, where= masks, flattened
    sorts, vector norms, vecdot, trapezoid."""
    x = g.pick(lambda a: a.ndim >= 1 and a.size >= 2)
    if x is None:
        return None
    shape = _shape(g, x)
    nd = len(shape)
    axis = (
        None
        if g.chance(0.3)
        else int(g.rng.integers(nd)) - (nd if g.chance(0.4) else 0)
    )
    ax = "" if axis is None else f", axis={axis}"
    keep = ", keepdims=True" if g.chance(0.2) else ""
    fn = g.choice(
        ["median", "quantile", "percentile", "ptp", "nanmean", "nansum", "nanmax"]
        + ["nanstd", "average", "average_w", "cumprod", "cumulative_sum", "masked"]
        + ["sort_flat", "vector_norm", "vecdot", "trapezoid"]
    )
    checks: list[tuple] = []
    if fn in ("median", "quantile", "percentile"):
        q = {"median": "", "quantile": ", 0.3", "percentile": ", 75"}[fn]
        expr = f"np.{fn}({x}{q}{ax}{keep})"
        checks.append(("sorted", x, axis))
    elif fn in ("ptp", "nanmax"):
        expr = f"np.{fn}({x}{ax}{keep})"
        checks.append(("gap", x, axis))
    elif fn in ("nanmean", "nansum", "nanstd", "average"):
        expr = f"np.{fn}({x}{ax}{keep})"
        if fn == "nanstd":
            checks.append(("pos", f"np.var({x}, axis={axis!r})"))
    elif fn == "average_w":
        along = axis is not None and nd > 1 and g.chance(0.5)
        want = (shape[axis],) if along else shape
        w = g.pick(lambda a: a.shape == want)
        if w is None:
            return None
        expr = f"np.average({x}{ax}, weights={w} * {w} + 0.5{keep})"
    elif fn in ("cumprod", "cumulative_sum"):
        if fn == "cumulative_sum" and axis is None and nd > 1:
            axis, ax = -1, ", axis=-1"
        expr = f"np.{fn}({x}{ax})"
    elif fn == "masked":
        red = g.choice(["sum", "mean", "prod", "max"])
        extra = ", initial=-5.0" if red == "max" else ""
        expr = f"np.{red}({x}{ax}, where={x} > 0{extra}{keep})"
        checks.append(("abs", x))
        if red == "max":
            checks.append(("gap", f"np.where({x} > 0, {x}, -5.0)", axis))
    elif fn == "sort_flat":
        expr = f"np.sort({x}, axis=None) * np.arange({int(np.prod(shape))}.0)"
        checks.append(("sorted", x, None))
    elif fn == "vector_norm":
        order = g.choice(["", ", ord=1", ", ord=3"])
        expr = (
            f"np.linalg.vector_norm({x}{ax}{keep if axis is not None else ''}{order})"
        )
        checks.append(("abs", x))
    elif fn == "vecdot":
        y = g.pick(lambda a: a.shape == shape)
        if y is None:
            return None
        expr = f"np.vecdot({x}, {y}{ax})"
    else:
        expr = f"np.trapezoid({x}{ax})"
    t = g.new()
    axtag = "none" if axis is None else ("neg" if axis < 0 else "int")
    return Stmt([f"{t} = {expr}"], f"stats.{fn}.{axtag}", t, checks)


def t_loop(g: Gen) -> Stmt | None:
    """A for loop over range(k) or a list written out, or a comprehension
    over one: what codegen unrolls."""
    x = g.pick()
    if x is None:
        return None
    shape = np.shape(g.env[x])
    y = g.pick(lambda a: a.shape == shape) or x
    k = int(g.rng.integers(1, 4))
    t = g.new()
    form = g.choice(["range", "list", "sum", "stack"])
    c = g.const()
    if form == "range":
        lines = [f"{t} = {x} * 1.0", f"for i in range({k}):"]
        lines.append(f"    {t} = np.tanh({t} * {c}) + {y} * i")
    elif form == "list":
        lines = [f"{t} = {x}", f"for w in [{c}, 0.5]:", f"    {t} = {t} * w + {y}"]
    elif form == "sum":
        lines = [f"{t} = sum({x} * ({y} + j) for j in range({k}))"]
    else:
        lines = [f"{t} = np.stack([{x} * (j + 1) for j in range({k})], axis=-1)"]
    return Stmt(lines, f"loop.{form}", t, [])


def _module_const(g: Gen, name: str, text: str) -> str:
    """A module-level constant bound once (lists and tuples of numbers too)."""
    if name not in g.consts:
        g.consts[name] = 0.0
        g.const_lines.append(f"{name} = {text}")
    return name


def _container(g: Gen, kind: str, x: str, t: str, u: str) -> Stmt | None:
    """Python containers and exponents as users write them, for both
    kinds of program: a list filled item by item, a helper returning a
    tuple, an exponent that is a constant expression (0 at N = 1)."""
    lib = "np" if g.kind == "numpy" else "math"
    if kind == "list_fill":
        k = int(g.rng.integers(2, 4))
        start = g.choice([f"[0.0] * {k}", repr([0] * k)])
        body = f"np.sum({x} * (i + 1.5))" if lib == "np" else f"{x} * (i + 1.5)"
        use = g.choice([f"{t}[0] * {t}[-1]", f"{t}[1] - 2.0 * {t}[0]"])
        lines = [f"{t} = {start}", f"for i in range({k}):", f"    {t}[i] = {body}"]
        return Stmt([*lines, f"{u} = {use}"], f"container.list_fill.{lib}", u)
    if kind == "list_recur":
        return _list_recurrence(g, lib, x, t, u)
    if kind == "helper_pair":
        g.helper("pair")
        return Stmt([f"{t}, {u} = pair({x})", f"{u} = {t} * {u}"], "container.pair", u)
    n = _module_const(g, "N1", "1")
    form = g.choice(
        [f"{x} ** (N1 - 1) * 2.0 + {x}", f"{x} ** (N1 + 1)", f"{x} ** (1 - 1) + {x}"]
    )
    return Stmt([f"{u} = {form}"], "container.const_exponent", u)


def _list_recurrence(g: Gen, lib: str, x: str, t: str, u: str) -> Stmt:
    """A list grown in an unrolled loop, as an RNN keeps its states: each
    item from the one before (``t[i - 1]``, ``t[-1]``, ``t[len(t) - 1]``),
    grown by append, concatenation or extend, then read by slices and len."""
    k = int(g.rng.integers(1, 4))
    grow = g.choice(["append", "concat", "prepend", "extend"])
    if grow == "prepend":
        prev = f"{t}[0]"
    else:
        prev = g.choice([f"{t}[i - 1]", f"{t}[-1]", f"{t}[len({t}) - 1]"])
    item = f"{lib}.tanh({prev} * 0.5 + {x})"
    add = {
        "append": f"{t}.append({item})",
        "concat": f"{t} = {t} + [{item}]",
        "prepend": f"{t} = [{item}] + {t}",
        "extend": f"{t} += [{item}]",
    }[grow]
    use = g.choice(
        [f"{t}[-1] * len({t})", f"{t}[1:][0] - {t}[0]", f"{t}[::-1][0] * {t}[0]",
         f"sum({t}[1:]) + {t}[0]"]
    )  # fmt: skip
    lines = [
        f"{t} = [{x}]",
        f"for i in range(1, {k + 1}):",
        f"    {add}",
        f"{u} = {use}",
    ]
    return Stmt(lines, f"container.list_recur.{grow}", u)


def t_containers(g: Gen) -> Stmt | None:
    """Integer destinations (writes truncate), lists and tuples written out
    as operands, module-level index lists, Python lists filled by item
    assignment, helpers returning tuples, constant-expression exponents."""
    x = g.pick()
    if x is None:
        return None
    t, u = g.new(), g.new()
    shape = np.shape(g.env[x])
    kind = g.choice(
        ["int_dest", "literal", "module_index", "list_fill", "helper_pair", "exponent"]
        + ["list_recur"]
    )
    if kind in ("list_fill", "helper_pair", "exponent", "list_recur"):
        return _container(g, kind, x, t, u)
    if not shape:
        return None
    n = shape[-1]
    if kind == "int_dest":
        start = g.choice(
            [f"np.arange({n})", f"np.zeros({n}, dtype=int)", f"np.full({n}, 2)",
             repr(list(range(n))).join(("np.array(", ")"))]
        )  # fmt: skip
        v = f"np.sum({x}) * 3.0"
        return Stmt(
            [f"{t} = {start}", f"{t}[0] = {v}", f"{u} = {t} * {x}"],
            "container.int_dest",
            u,
            [("abs", f"{v} - np.round({v})")],
        )
    if kind == "literal":
        vals = [g.choice([0.5, -1.0, 2.0, 1.5, -0.25]) for _ in range(n)]
        ints = [int(g.rng.integers(1, 4)) for _ in range(n)]
        form = g.choice(["pow", "maximum", "inner", "matmul", "polyval", "power_abs"])
        checks: list[tuple] = []
        if form == "pow":
            expr = f"{x} ** {ints}"
        elif form == "maximum":
            expr = f"np.maximum({x}, {vals})"
            checks = [("abs", f"{x} - np.array({vals})")]
        elif form == "inner":
            expr = f"np.inner({x}, {tuple(vals)})"
        elif form == "matmul":
            expr = f"{x} @ {vals}"
        elif form == "polyval":
            expr = f"np.polyval({vals}, {x})"
        else:
            expr = f"np.power(np.abs({x}) + 0.5, {vals})"
        return Stmt([f"{u} = {expr}"], f"container.literal.{form}", u, checks)
    k = shape[0]
    idx = (0, 0, k - 1) if k > 1 else (0, 0)
    name = _module_const(g, f"IDX{k}", repr(idx))
    return Stmt([f"{u} = {x}[np.array({name})] * 2.0"], "container.module_index", u)


def s_containers(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None:
        return None
    kind = g.choice(["list_fill", "helper_pair", "exponent", "list_recur"])
    return _container(g, kind, x, g.new(), g.new())


NUMPY_TEMPLATES = [
    (t_unary, 3),
    (t_binary, 5),
    (t_pow_var, 0.5),
    (t_router, 1.5),
    (t_clip, 1.5),
    (t_matmul, 2.5),
    (t_reduce, 3),
    (t_transpose, 1.5),
    (t_reshape, 1),
    (t_dims, 1.5),
    (t_join, 1.5),
    (t_index, 3),
    (t_setitem, 1.5),
    (t_inplace, 1),
    (t_alias, 0.4),
    (t_tuple, 1),
    (t_helper, 1),
    (t_builtin, 0.7),
    (t_shape, 0.5),
    (t_stats, 1.5),
    (t_loop, 0.7),
    (t_containers, 0.8),
]


# ----- scalar (math) templates -----


def s_unary(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None:
        return None
    t = g.new()
    fn = g.choice(
        [
            "exp",
            "log",
            "sqrt",
            "sin",
            "cos",
            "tan",
            "tanh",
            "abs",
            "neg",
            "pow2",
            "powhalf",
        ]
    )
    checks: list[tuple] = []
    if fn == "abs":
        expr = f"abs({x})"
        checks.append(("abs", x))
    elif fn == "neg":
        expr = f"-{x}"
    elif fn == "pow2":
        expr = f"{x} ** 2"
    elif fn == "powhalf":
        expr = f"{x} ** 0.5"
        checks.append(("pos", x))
    else:
        expr = f"math.{fn}({x})"
        if fn in ("log", "sqrt"):
            checks.append(("pos", x))
        if fn == "tan":
            checks.append(("abs", f"math.cos({x})"))
    return Stmt([f"{t} = {expr}"], f"s.unary.{fn}", t, checks)


def s_binary(g: Gen) -> Stmt | None:
    op = g.choice(["+", "-", "*", "/", "**"])
    t = g.new()
    a = g.pick()
    if a is None:
        return None
    r = g.rng.random()
    if r < 0.3:
        b = g.const()
    elif r < 0.4:
        b = a
    else:
        b = g.choice(g.floats())
    checks = []
    if op == "/":
        if b[0].isdigit() or b[0] == "-" or b.isupper():
            pass
        else:
            checks.append(("abs", b))
    if op == "**":
        checks.append(("pos", a))
    if g.chance(0.3) and op != "**":
        a, b = b, a
        checks = (
            [("abs", b)]
            if op == "/" and not (b[0].isdigit() or b[0] == "-" or b.isupper())
            else []
        )
    return Stmt([f"{t} = {a} {op} {b}"], f"s.binary{op}", t, checks)


def s_minmax(g: Gen) -> Stmt | None:
    a = g.pick()
    if a is None:
        return None
    b = g.choice(g.floats())
    if a == b:
        return None
    fn = g.choice(["max", "min"])
    t = g.new()
    return Stmt([f"{t} = {fn}({a}, {b})"], f"s.{fn}", t, [("abs", f"{a} - {b}")])


def s_helper(g: Gen) -> Stmt | None:
    a = g.pick()
    if a is None:
        return None
    t = g.new()
    kind = g.choice(["sigmoid", "scaled_kw", "mix_kw", "scaled"])
    if kind == "sigmoid":
        g.helper("sigmoid")
        return Stmt([f"{t} = sigmoid({a})"], "s.helper.sigmoid", t)
    if kind.startswith("scaled"):
        g.helper("scaled")
        call = (
            f"scaled({a}, factor={g.const()})"
            if kind == "scaled_kw"
            else f"scaled({a})"
        )
        return Stmt([f"{t} = {call}"], f"s.helper.{kind}", t)
    b = g.choice(g.floats())
    g.helper("mix")
    return Stmt([f"{t} = mix({a}, {b}, w=0.25)"], "s.helper.mix_kw", t)


def s_inplace(g: Gen) -> Stmt | None:
    x = g.pick()
    if x is None:
        return None
    op = g.choice(["+=", "-=", "*=", "/="])
    rhs = g.const() if g.chance(0.5) else g.choice(g.floats())
    checks = [("abs", rhs)] if op == "/=" else []
    return Stmt([f"{x} {op} {rhs}"], f"s.inplace{op}", x, checks)


def s_tuple(g: Gen) -> Stmt | None:
    a = g.pick()
    if a is None:
        return None
    b = g.choice(g.floats())
    t, u = g.new(), g.new()
    return Stmt(
        [f"{u} = {a}, {b}", f"{t} = {u}[{int(g.rng.integers(2))}] * 2.0"],
        "s.tuple.index",
        t,
    )


def s_numbers(g: Gen) -> Stmt | None:
    """Python's and math's functions of several numbers, as users write them."""
    a = g.pick()
    if a is None:
        return None
    b = g.choice(g.floats())
    t = g.new()
    kind = g.choice(
        ["max_list", "min_tuple", "fsum", "prod", "hypot", "hypot1", "log_base",
         "erf", "pow", "round"]
    )  # fmt: skip
    checks: list[tuple] = []
    if kind in ("max_list", "min_tuple"):
        if a == b:
            return None
        items = f"[{a}, {b}, 0.25]" if kind == "max_list" else f"({a}, {b})"
        expr = f"{kind[:3]}({items})"
        checks = [("abs", f"{a} - {b}"), ("abs", f"{a} - 0.25"), ("abs", f"{b} - 0.25")]
    elif kind == "fsum":
        expr = f"math.fsum([{a}, {b}, {a} * {b}, 0.1])"
    elif kind == "prod":
        expr = f"math.prod([{a}, {b}, 1.5])"
    elif kind == "hypot":
        expr = f"math.hypot({a}, {b}, 0.5)"
    elif kind == "hypot1":
        expr = f"math.hypot({a})"
        checks = [("abs", a)]
    elif kind == "log_base":
        expr = f"math.log({a}, 2.0)"
        checks = [("pos", a)]
    elif kind == "erf":
        expr = f"math.erf({a}) + math.erfc({b})"
    elif kind == "pow":
        expr = f"pow({a}, 3)"
    else:  # a step function, away from its steps
        expr = f"round({a}, 1) + {b}"
        checks = [("abs", f"{a} * 10 - math.floor({a} * 10) - 0.5")]
    return Stmt([f"{t} = {expr}"], f"s.numbers.{kind}", t, checks)


SCALAR_TEMPLATES = [
    (s_unary, 3),
    (s_binary, 5),
    (s_minmax, 1),
    (s_numbers, 1),
    (s_helper, 1),
    (s_inplace, 1),
    (s_tuple, 0.5),
    (s_containers, 0.6),
]


# ----- programs -----

DIM_POOL = (1, 2, 3, 4)
#: Chance that an array parameter is annotated with its shape (`--annotate`):
#: ranks proven from annotations turn on the passes that need them.
ANNOTATE = 0.25
LETTERS = {1: "1", 2: "B", 3: "N", 4: "D"}


def _params(g: Gen, kind: str) -> list[Param]:
    rng = g.rng
    params: list[Param] = []
    names = iter(["x", "y", "w", "s", "b", "c"])
    if kind == "scalar":
        for _ in range(int(rng.integers(1, 4))):
            params.append(
                Param(next(names), "float", (), "float" if g.chance(0.2) else "")
            )
        return params
    base = [int(d) for d in rng.choice([2, 3, 4], size=3)]
    for _ in range(int(rng.integers(1, 4))):
        nd = int(rng.choice([1, 1, 2, 2, 2, 3]))
        shape = tuple(
            int(rng.choice(base + [1] * (1 if g.chance(0.2) else 0))) for _ in range(nd)
        )
        ann = ""
        if g.chance(ANNOTATE):
            ann = 'Float[np.ndarray, "' + " ".join(LETTERS[d] for d in shape) + '"]'
        params.append(Param(next(names), "array", shape, ann))
    if g.chance(0.35):
        params.append(Param(next(names), "float", (), "float" if g.chance(0.3) else ""))
    if g.chance(0.25):
        params.append(Param(next(names), "a0", ()))
    return params


def _input(rng: np.random.Generator, p: Param) -> object:
    if p.kind == "float":
        return float(rng.uniform(-2, 2))
    if p.kind == "a0":
        return np.array(rng.uniform(-2, 2))
    return rng.uniform(-2, 2, size=p.shape)


def generate_program(
    seed: int,
    kind: str | None = None,
    max_stmts: int | None = None,
    several: float = 0.15,
) -> Program:
    """One random program; deterministic in `seed`. With chance `several` it
    returns one or two earlier values or parameters beside its result."""
    rng = np.random.default_rng(seed)
    g = Gen(rng, kind or ("scalar" if rng.random() < 0.2 else "numpy"))
    params = _params(g, g.kind)
    g.params = [p.name for p in params]
    inputs = {p.name: _input(rng, p) for p in params}
    prog = Program(g.kind, params, g.const_lines, g.helpers, [], "", inputs, seed)
    g.env = dict(inputs)
    g.order = list(g.params)
    templates = NUMPY_TEMPLATES if g.kind == "numpy" else SCALAR_TEMPLATES
    weights = np.array([w for _, w in templates], dtype=float)
    weights /= weights.sum()
    n = max_stmts or int(rng.integers(1, 9))
    for _ in range(12 * n):
        if len(prog.stmts) >= n:
            break
        tmpl = templates[int(rng.choice(len(templates), p=weights))][0]
        saved = (list(g.helpers), dict(g.consts), list(g.const_lines), g.counter)
        stmt = tmpl(g)
        if stmt is not None:
            trial = prog.stmts + [stmt]
            prog.consts, prog.helpers = g.const_lines, g.helpers
            try:
                env = run_locals(prog, trial)
            except Reject:
                env = None
            if env is not None:
                prog.stmts.append(stmt)
                g.env = {k: v for k, v in env.items()}
                for name in env:
                    if name not in g.order:
                        g.order.append(name)
                if stmt.target in g.order:  # updated in place: now the latest
                    g.order.remove(stmt.target)
                    g.order.append(stmt.target)
                continue
        g.helpers[:], g.const_lines[:] = saved[0], saved[2]
        g.consts.clear()
        g.consts.update(saved[1])
        g.counter = saved[3]
    prog.consts, prog.helpers = list(g.const_lines), list(g.helpers)
    prog.ret = prog.stmts[-1].target if prog.stmts else params[0].name
    if prog.ret in g.params and prog.stmts:
        prog.ret = f"{prog.ret} * 1.0"
    others = [
        v
        for v in dict.fromkeys(g.order)
        if v != prog.ret and v in g.env and _is_float(g.env[v])
    ]
    if others and rng.random() < several:
        k = min(len(others), int(rng.integers(1, 3)))
        picked = rng.choice(len(others), size=k, replace=False)
        prog.extra = [others[int(i)] for i in sorted(picked)]
    return prog


def shrink_candidates(prog: Program):
    """Smaller variants of `prog` (one statement dropped, or an earlier return),
    for minimising a failure."""
    n = len(prog.stmts)
    for i in range(n - 1, -1, -1):
        stmts = prog.stmts[:i] + prog.stmts[i + 1 :]
        yield _variant(prog, stmts, stmts[-1].target if stmts else None)
    for i in range(n - 1):
        stmts = prog.stmts[: i + 1]
        yield _variant(prog, stmts, stmts[-1].target)
    for i, p in enumerate(prog.params):  # drop a parameter no statement reads
        if (
            len(prog.params) > 1
            and not any(_mentions(s, p.name) for s in prog.stmts)
            and p.name not in prog.ret
        ):
            q = _variant(prog, prog.stmts, prog.ret)
            q.params = prog.params[:i] + prog.params[i + 1 :]
            q.inputs = {k: v for k, v in prog.inputs.items() if k != p.name}
            yield q


def _mentions(s: Stmt, name: str) -> bool:
    return any(re.search(rf"\b{name}\b", ln) for ln in s.lines)


def _variant(prog: Program, stmts: list[Stmt], ret: str | None) -> Program:
    used = [h for h in prog.helpers if any(_mentions(s, h) for s in stmts)]
    consts = [
        c
        for c in prog.consts
        if any(_mentions(s, re.match(r"\w+", c).group()) for s in stmts)
    ]
    q = Program(
        prog.kind,
        list(prog.params),
        consts,
        used,
        list(stmts),
        ret or prog.params[0].name,
        dict(prog.inputs),
        prog.seed,
    )
    if q.ret in [p.name for p in q.params] and stmts:
        q.ret = f"{q.ret} * 1.0"
    bound = {p.name for p in q.params} | {s.target for s in stmts}
    q.extra = [e for e in prog.extra if e in bound and e != q.ret]
    return q


def valid(prog: Program) -> bool:
    """Does NumPy still run `prog` cleanly, away from kinks?"""
    try:
        run_locals(prog, prog.stmts)
    except Reject:
        return False
    return True


__all__ = [
    "Param",
    "Program",
    "Reject",
    "Stmt",
    "generate_program",
    "shrink_candidates",
    "valid",
]
