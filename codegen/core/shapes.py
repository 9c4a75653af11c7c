"""Static shape facts: dimensions from annotations, ranks through the IR.

Contract: `annotation_dims` reads a jaxtyping-style annotation
(``Float[np.ndarray, "N D"]``, ``Int[np.ndarray, "N"]``, ``float``) into its
dimension names, without importing anything; `ranks` propagates the number of
dimensions of every value of an `ir.Function` where it is known. An unknown
rank is None, and the reverse pass then emits a form correct for any rank.
"""

from __future__ import annotations

import re

from codegen.core import ir
from codegen.core.rules import shape_ops

_JAXTYPING = re.compile(
    r"""^\s*\w+\[\s*[\w.]+\s*,\s*(?P<q>["'])(?P<dims>[^"']*)(?P=q)\s*\]\s*$"""
)
_SCALARS = {"float", "int", "bool", "complex"}


def annotation_dims(text: str | None) -> tuple[str, ...] | None:
    """``'Float[np.ndarray, "N D"]'`` -> ``("N", "D")``; ``"float"`` -> ``()``;
    None when the annotation says nothing about the shape."""
    if text is None:
        return None
    if text.strip() in _SCALARS:
        return ()
    dims = written_dims(text)
    # named sizes and numbers only: "*batch", "...", "#N", "_" and "N+1" say
    # less (any rank, broadcastable, any size), so nothing is proven from them
    if dims is None or not all(d.isdigit() or _named(d) for d in dims):
        return None
    return dims


def _named(d: str) -> bool:
    return d.isidentifier() and d != "_"


def written_dims(text: str | None) -> tuple[str, ...] | None:
    """The dimension words of a jaxtyping annotation as written
    (``"N *batch"`` -> ``("N", "*batch")``), None for any other annotation."""
    match = _JAXTYPING.match(text or "")
    return None if match is None else tuple(match.group("dims").split())


def example_dims(text: str | None) -> tuple[str, ...] | None:
    """Dimension names for drawing an example point: as `annotation_dims`,
    but a word that admits several shapes ("...", "*batch", "#N", "_") is one
    dimension of its own (a size the annotation admits)."""
    dims = annotation_dims(text)
    if dims is not None or written_dims(text) is None:
        return dims
    return tuple(
        d if d.isdigit() or _named(d) else f"{d}@{i}"
        for i, d in enumerate(written_dims(text) or ())
    )


def _elementwise(rs: list[int | None]) -> int | None:
    return None if any(r is None for r in rs) else max(rs, default=0)  # type: ignore[type-var]


def _reduced(r: int | None, step: ir.Assign) -> int | None:
    kw = {k: v for k, v in step.kwargs}
    keep = kw.get("keepdims")
    if isinstance(keep, ir.Const) and keep.text == "True":
        return r
    if keep is not None and not isinstance(keep, ir.Const):
        return None
    axis = kw.get("axis")
    if axis is None or (isinstance(axis, ir.Const) and axis.text == "None"):
        return 0
    if r is None or not isinstance(axis, ir.Const):
        return None
    text = axis.text.strip("()")
    return r - len([a for a in text.split(",") if a.strip()])


def _matmul(rx: int | None, ry: int | None) -> int | None:
    if rx is None or ry is None:
        return None
    if rx == 1 and ry == 1:
        return 0
    if rx == 1 or ry == 1:
        return max(rx, ry) - 1
    return max(rx, ry)


def _contracted(rx: int | None, ry: int | None) -> int | None:
    """The rank of np.dot(x, y) and np.inner(x, y)."""
    if rx is None or ry is None:
        return None
    return max(rx, ry) if min(rx, ry) == 0 else rx + ry - 2


#: Ops by shape rule, from the declarations (`Primitive.shape`).
_SAME_SHAPE = shape_ops("same")
_BROADCAST = shape_ops("broadcast")

#: Ops whose result is one number (``np.vdot``).
_SCALAR_OPS = shape_ops("scalar")

#: Ops whose result's rank is the largest of their operands' ranks.
_ELEMENTWISE = (
    _SAME_SHAPE | _BROADCAST | shape_ops("transpose") | shape_ops("unbroadcast")
)
_REDUCTIONS = shape_ops("reduce")


def _length(shape: ir.Operand, tuples: dict[str, int]) -> int | None:
    """The number of entries of a shape operand, when it is known."""
    if isinstance(shape, ir.Var):
        return tuples.get(shape.name)
    text = shape.text.strip()
    if text.startswith("(") and text.endswith(")"):
        return len([t for t in text[1:-1].split(",") if t.strip()])
    return 1 if re.fullmatch(r"-?\d+", text) else None


def ranks(fn: ir.Function) -> dict[str, int | None]:
    """The rank of every parameter and step target, or None where unknown."""
    out: dict[str, int | None] = {}
    for p in fn.params:
        dims = annotation_dims(p.annotation)
        out[p.name] = None if dims is None else len(dims)

    tuples: dict[str, int] = {}
    shape_tuples: set[str] = set()  # x.shape
    sizes: set[str] = set()  # x.shape[0]: an int

    def rank(o: ir.Operand) -> int | None:
        if isinstance(o, ir.Const):
            return 0 if re.fullmatch(r"\(?-?[\d.e+-]+\)?", o.text) else None
        return out.get(o.name)

    for step in fn.body:
        args = [rank(a) for a in step.args]
        if step.op in _ELEMENTWISE:
            r = _elementwise(args)
        elif step.op in _REDUCTIONS:
            r = _reduced(args[0], step)
        elif step.op == "matmul":
            r = _matmul(args[0], args[1])
        elif step.op in ("dot", "inner"):  # 0-d multiplies; else one axis each
            r = _contracted(args[0], args[1])
        elif step.op == "outer":
            r = 2
        elif step.op in ("ravel", "flatten"):
            r = 1
        elif step.op == "tuple":
            r, tuples[step.target] = None, len(step.args)
        elif step.op == "reshape":
            r = _length(step.args[1], tuples)
        elif step.op == "expand_dims":  # one new axis per entry of a tuple axis
            added = _length(step.args[1], tuples) if len(step.args) > 1 else None
            r = None if args[0] is None or added is None else args[0] + added
        elif step.op == "einsum" and isinstance(step.args[0], ir.Const):
            letters = step.args[0].text.split("->")[-1].strip("'\" ")
            r = None if "." in letters else len(letters)  # '...': the ranks decide
        elif step.op in ("size", "ndim", "len") or step.target in sizes:
            r = 0  # a Python int
        elif step.op in _SCALAR_OPS:
            r = 0  # one number
        else:
            r = None
        if step.op in _SHAPES:
            shape_tuples.add(step.target)
        elif step.op in ("item", "getitem") and isinstance(step.args[0], ir.Var):
            index = step.args[1] if len(step.args) == 2 else None
            integer = isinstance(index, ir.Const) and re.fullmatch(r"-?\d+", index.text)
            if step.args[0].name in shape_tuples and integer:
                sizes.add(step.target)
                r = 0
        out[step.target] = r
    return out


Shape = tuple[str, ...]


#: Ops whose result is an array's shape.
_SHAPES = shape_ops("shape")

#: Ops whose result is an integer index when their operands are.
_INTEGER_SOURCES = frozenset(
    {"arange", "argsort", "argmax", "argmin", "argpartition", "searchsorted"}
    | {"flatnonzero", "nonzero", "floordiv", "floor_divide", "len", "size", "item"}
)
_INTEGER_IF_OPERANDS = frozenset(
    {"add", "sub", "mul", "mod", "neg", "np_add", "np_subtract", "np_multiply"}
    | {"reshape", "ravel", "transpose", "getitem", "copy", "concatenate", "stack"}
    | {"tile", "repeat", "flip", "roll", "expand_dims", "squeeze", "broadcast_to"}
)


#: Of these, only the first operand is the data (the rest: shapes, indices).
_FIRST_ONLY = frozenset(
    {"reshape", "getitem", "transpose", "broadcast_to", "expand_dims", "squeeze"}
)


def _integer_index(
    producers: dict[str, ir.Assign], params: dict[str, ir.Param], name: str
) -> bool:
    """Whether `name` is provably an integer array (an index that gathers),
    not a boolean mask, whose selection has a data-dependent count."""
    todo, seen = [name], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in params:
            if "bool" in (params[n].annotation or "").lower():
                return False
            continue
        step = producers.get(n)
        if step is None:
            return False
        texts = [a.text for a in step.args if isinstance(a, ir.Const)]
        if step.op == "const" and not any(("True" in t or "False" in t) for t in texts):
            continue
        if step.op in _INTEGER_SOURCES:
            continue
        if step.op not in _INTEGER_IF_OPERANDS or any("." in t for t in texts):
            return False
        operands = [a.name for a in step.args if isinstance(a, ir.Var)]
        todo += operands[:1] if step.op in _FIRST_ONLY else operands
    return True


_SCALAR_RESULTS = {"item", "size", "ndim", "len"} | _SCALAR_OPS | shape_ops("scalar")


def _broadcast(shapes: list[Shape | None]) -> Shape | None:
    """The broadcast of symbolic shapes, or None when it cannot be proven."""
    if any(s is None for s in shapes):
        return None
    known = [s for s in shapes if s is not None]
    width = max((len(s) for s in known), default=0)
    out: list[str] = []
    for i in range(width):
        dims = {s[len(s) - width + i] for s in known if len(s) - width + i >= 0} - {"1"}
        if len(dims) > 1:
            return None
        out.append(dims.pop() if dims else "1")
    return tuple(out)


def _reduce_shape(shape: Shape | None, step: ir.Assign) -> Shape | None:
    kw = dict(step.kwargs)
    keep = kw.get("keepdims")
    axis = kw.get("axis")
    if keep is not None and not isinstance(keep, ir.Const):
        return None
    keepdims = isinstance(keep, ir.Const) and keep.text == "True"
    if axis is None or (isinstance(axis, ir.Const) and axis.text == "None"):
        if not keepdims:
            return ()
        return None if shape is None else tuple("1" for _ in shape)
    if shape is None or not isinstance(axis, ir.Const):
        return None
    try:
        axes = {
            int(a) % len(shape) for a in axis.text.strip("()").split(",") if a.strip()
        }
    except (ValueError, ZeroDivisionError):
        return None
    return tuple(
        "1" if i in axes else d  # with keepdims a reduced axis keeps size 1
        for i, d in enumerate(shape)
        if keepdims or i not in axes
    )  # type: ignore[return-value]


def _index_shape(shape: Shape | None, parts: tuple[ir.Operand, ...]) -> Shape | None:
    """Basic indexing with ':', None and integers (an integer drops its
    axis); other indices: unknown."""
    if shape is None:
        return None
    out: list[str] = []
    dims = list(shape)
    for p in parts:
        if not isinstance(p, ir.Const):
            return None
        if p.text == "None":
            out.append("1")
        elif p.text == ":" and dims:
            out.append(dims.pop(0))
        elif re.fullmatch(r"-?\d+", p.text) and dims:
            dims.pop(0)
        else:
            return None
    return tuple(out + dims)


def shapes(fn: ir.Function) -> dict[str, Shape | None]:
    """Symbolic shapes (tuples of dimension names) where they can be proven
    from annotations: enough to tell when an elementwise op broadcasts."""
    return _ShapeInference(fn).run()


class _ShapeInference:
    """Propagates symbolic shapes through the steps, in order."""

    def __init__(self, fn: ir.Function) -> None:
        self.fn = fn
        self.out: dict[str, Shape | None] = {
            p.name: annotation_dims(p.annotation) for p in fn.params
        }
        #: names bound to ``x.shape`` -> x; names bound to one size -> its dim.
        self.shape_of: dict[str, str] = {}
        self.size: dict[str, str] = {}
        self.producers: dict[str, ir.Assign] | None = None

    def of(self, o: ir.Operand) -> Shape | None:
        if isinstance(o, ir.Const):
            return () if re.fullmatch(r"\(?-?[\d.e+-]+\)?", o.text) else None
        return self.out.get(o.name)

    def run(self) -> dict[str, Shape | None]:
        for step in self.fn.body:
            self.out[step.target] = self.step(step)
        return self.out

    def step(self, step: ir.Assign) -> Shape | None:
        args = [self.of(a) for a in step.args]
        op = step.op
        if op in _SAME_SHAPE:
            return args[0]
        if op in _BROADCAST:
            return _broadcast(args)
        if op in _REDUCTIONS:
            return _reduce_shape(args[0], step)
        if op == "matmul" and args[0] is not None and args[1] is not None:
            a, b = args[0], args[1]
            # a stack of matrices times one matrix, or one matrix times a
            # stack: the matrix broadcasts over the stack (NumPy's matmul)
            if len(a) >= 2 and len(b) == 2 and a[-1] == b[0]:
                return (*a[:-1], b[1])
            if len(a) == 2 and len(b) > 2 and a[1] == b[-2]:
                return (*b[:-2], a[0], b[-1])
            return None
        if op == "transpose" and not step.kwargs and args[0] is not None:
            return tuple(reversed(args[0]))
        if op in _SHAPES and isinstance(step.args[0], ir.Var):
            self.shape_of[step.target] = step.args[0].name
            return None
        if op in ("item", "getitem") and self.sized(step):
            return ()
        if op == "getitem":
            return _index_shape(args[0], step.args[1:])
        if op == "gather":
            return self.gathered(args[0], step.args[1:])
        if op == "arange" and len(step.args) == 1:
            n = step.args[0]
            dim = self.size.get(n.name) if isinstance(n, ir.Var) else n.text
            return None if dim is None else (dim,)
        if op in _SCALAR_RESULTS:
            return ()
        return None

    def sized(self, step: ir.Assign) -> bool:
        """`N = x.shape[0]` (or unpacked): record that N is x's first dim."""
        base, index = step.args[0], step.args[1] if len(step.args) == 2 else None
        if not isinstance(base, ir.Var) or base.name not in self.shape_of:
            return False
        dims = self.out.get(self.shape_of[base.name])
        if (
            dims is not None
            and isinstance(index, ir.Const)
            and re.fullmatch(r"-?\d+", index.text)
        ):
            k = int(index.text)
            if -len(dims) <= k < len(dims):
                self.size[step.target] = dims[k]
        return True

    def gathered(self, x: Shape | None, parts: tuple[ir.Operand, ...]) -> Shape | None:
        """``x[i, j]`` with integer arrays i, j: their broadcast shape, then
        the axes of x they do not index."""
        if x is None or not parts or len(parts) > len(x):
            return None
        if not all(isinstance(p, ir.Var) for p in parts):
            return None
        if self.producers is None:  # once per function: gathers may be many
            self.producers = {s.target: s for s in self.fn.body}
        params = {p.name: p for p in self.fn.params}
        if not all(_integer_index(self.producers, params, p.name) for p in parts):  # type: ignore[union-attr]
            return None  # a boolean mask selects a data-dependent count
        index = _broadcast([self.of(p) for p in parts])
        return None if index is None else index + x[len(parts) :]
