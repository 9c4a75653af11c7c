"""Linear algebra: @ (np.matmul), np.dot and np.inner of any rank, outer,
tensordot, einsum."""

from __future__ import annotations

import ast

from codegen.core.primitive import Facts, declare


def _matmul(part: str):
    """x @ y: with both ranks known the rule reads like the math (g y^T,
    x^T g, outer products for vectors); otherwise a helper handles any rank
    and the contribution is summed over broadcast batch axes."""

    def adjoint(f: Facts) -> str:
        ranks = (f.rank.get("x"), f.rank.get("y"))
        known = {
            "x": {
                (2, 2): "g @ y.T",
                (1, 2): "y @ g",
                (2, 1): "np.outer(g, y)",
                (1, 1): "g * y",
            },
            "y": {
                (2, 2): "x.T @ g",
                (1, 2): "np.outer(x, g)",
                (2, 1): "g @ x",
                (1, 1): "g * x",
            },
        }[part]
        if ranks in known:
            return known[ranks]
        return f"_unbroadcast(_matmul_vjp_{part}(g, x, y), np.shape({part}))"

    return adjoint


def einsum_vjp_spec(spec: str, i: int) -> str:
    """The einsum spec giving operand `i`'s gradient: ``"ij,jk->ik"`` with
    i = 0 becomes ``"ik,jk->ij"`` (g first, then the other operands)."""
    text = str(ast.literal_eval(spec)).replace(" ", "")
    ins, out = text.split("->")
    parts = ins.split(",")
    others = [p for k, p in enumerate(parts) if k != i]
    return '"' + ",".join([out, *others]) + "->" + parts[i] + '"'


def einsum_plain(spec: str, i: int) -> bool:
    """True when operand `i`'s gradient is one einsum of g with the others:
    no '...', its letters distinct, and each in the output or another operand."""
    text = str(ast.literal_eval(spec)).replace(" ", "")
    ins, _, out = text.partition("->")
    parts = ins.split(",")
    part = parts[i]
    others = out + "".join(p for k, p in enumerate(parts) if k != i)
    return (
        "." not in text
        and len(set(part)) == len(part)
        and all(c in others for c in part)
    )


def _einsum_xs(f: Facts) -> str:
    """einsum(spec, *xs): operand i's gradient is the einsum of g with the
    others; with '...', a letter repeated in operand i (a diagonal) or one
    only operand i has (summed there), the runtime helper `_einsum_vjp`
    spells the spec out for the operands' ranks and writes onto the diagonal."""
    assert f.i is not None
    if not einsum_plain(f.const["spec"], f.i):
        xs = "".join(f", xs_{k}" for k in range(f.n))
        return f"_einsum_vjp(spec, {f.i}, g{xs})"
    others = "".join(f", xs_{k}" for k in range(f.n) if k != f.i)
    optimize = "" if f.kw["optimize"] == "False" else ", optimize=optimize"
    return f"np.einsum({einsum_vjp_spec(f.const['spec'], f.i)}, g{others}{optimize})"


declare(
    "matmul",
    ("x", "y"),
    "x @ y",
    grads={"x": _matmul("x"), "y": _matmul("y")},
    operator="@",
    calls=("numpy.matmul",),
    shape="matmul",
    symbol="@",
)


def _dot(part: str):
    """np.dot(x, y): where it equals x @ y (ranks 1 and 2, or one operand
    1-d) the rule is matmul's; a 0-d operand multiplies; other or unknown
    ranks go through a helper (np.dot pairs every batch of x with every
    batch of y, unlike @)."""
    other = "y" if part == "x" else "x"

    def adjoint(f: Facts) -> str:
        rx, ry = f.rank.get("x"), f.rank.get("y")
        if rx is not None and ry is not None:
            if (rx in (1, 2) and ry in (1, 2)) or min(rx, ry) == 1:
                return _matmul(part)(f)
            if f.rank.get(part) == 0:
                return f"np.sum(g * {other})"
            if f.rank.get(other) == 0:
                return f"g * {other}"
        return f"_dot_vjp_{part}(g, x, y)"

    return adjoint


declare(
    "dot",
    ("x", "y"),
    "np.dot(x, y)",
    grads={"x": _dot("x"), "y": _dot("y")},
    calls=("numpy.dot",),
    methods=("dot",),
    symbol="dot",
)


def _inner(part: str):
    """np.inner(x, y) sums over the last axes of both: with ranks 1 and 2
    the rule reads like the math (x @ y, y @ x, x @ y.T); a 0-d operand
    multiplies; other or unknown ranks go through a helper."""
    other = "y" if part == "x" else "x"

    def adjoint(f: Facts) -> str:
        ranks = (f.rank.get("x"), f.rank.get("y"))
        known = {
            "x": {(1, 1): "g * y", (2, 1): "np.outer(g, y)", (1, 2): "g @ y"},
            "y": {(1, 1): "g * x", (2, 1): "g @ x", (1, 2): "np.outer(g, x)"},
        }[part]
        known[(2, 2)] = "g @ y" if part == "x" else "g.T @ x"
        if ranks in known:
            return known[ranks]
        if f.rank.get(part) == 0:
            return f"np.sum(g * {other})"
        if f.rank.get(other) == 0:
            return f"g * {other}"
        return f"_inner_vjp_{part}(g, x, y)"

    return adjoint


declare(
    "inner",
    ("x", "y"),
    "np.inner(x, y)",
    grads={"x": _inner("x"), "y": _inner("y")},
    calls=("numpy.inner",),
)
# z = outer(x, y):  dz/dx = g y,  dz/dy = g^T x  (over the raveled operands)
declare(
    "outer",
    ("x", "y"),
    "np.outer(x, y)",
    grads={
        "x": "np.reshape(g @ np.reshape(y, -1), np.shape(x))",
        "y": "np.reshape(np.reshape(x, -1) @ g, np.shape(y))",
    },
    calls=("numpy.outer",),
    shape="outer",
)
# z = tensordot(x, y, axes):  contract g with the other operand over its free axes
declare(
    "tensordot",
    ("x", "y"),
    "np.tensordot(x, y)",
    grads={
        "x": "_tensordot_vjp_x(g, x, y, axes)",
        "y": "_tensordot_vjp_y(g, x, y, axes)",
    },
    keywords={"axes": "2"},
    calls=("numpy.tensordot",),
)
declare(
    "einsum",
    ("spec", "*xs"),
    "np.einsum(spec, *xs)",
    grads={"xs": _einsum_xs},
    views=("xs",),  # einsum("ji->ij", g) is a view of g
    view_result=True,  # and einsum("ij->ji", x) a view of x
    keywords={"optimize": "False"},
    calls=("numpy.einsum",),
    # a contracted axis of size 1 broadcasts against a longer one: sum back
    broadcast=True,
    shape="einsum",
)


def _vdot(part: str):
    """z = vdot(x, y) = sum(ravel(x) * ravel(y)): the operands need only the
    same size, so the other operand is reshaped to this one's shape unless
    both are vectors (one shape then)."""
    other = "y" if part == "x" else "x"

    def adjoint(f: Facts) -> str:
        if f.rank.get("x") == f.rank.get("y") == 1:
            return f"g * {other}"
        return f"np.reshape(g * {other}, np.shape({part}))"

    return adjoint


# z = vdot(x, y) = sum(x * y) over same-sized operands; written by the
# `fuse_sum_of_squares` pass for np.sum(x * x), one pass over x instead of three
declare(
    "vdot",
    ("x", "y"),
    "np.vdot(x, y)",
    grads={"x": _vdot("x"), "y": _vdot("y")},
    same="2 * g * x",
    calls=("numpy.vdot",),
    shape="scalar",
)


# _einsum_vjp(spec, i, v, *xs) is operand i's gradient of einsum(spec, *xs)
# at v: linear in v and in every other operand, and free of xs[i]. Against
# an upstream g shaped like xs[i], its adjoint in v is the einsum itself with
# g in place of xs[i]; in another operand j, operand j's gradient of that
# einsum.
def _einsum_vjp_v(f: Facts) -> str:
    i = int(f.const.get("i", "0"))
    xs = ", ".join("g" if k == i else f"xs_{k}" for k in range(f.n))
    return f"np.einsum(spec, {xs})"


def _einsum_vjp_xs(f: Facts) -> str | None:
    assert f.i is not None
    i = int(f.const.get("i", "0"))
    if f.i == i:
        return None  # operand i's own gradient does not read operand i
    xs = "".join(", g" if k == i else f", xs_{k}" for k in range(f.n))
    return f"_einsum_vjp(spec, {f.i}, v{xs})"


declare(
    "einsum_vjp",
    ("spec", "i", "v", "*xs"),
    "_einsum_vjp(spec, i, v, *xs)",
    grads={"v": _einsum_vjp_v, "xs": _einsum_vjp_xs},
    calls=("_einsum_vjp",),
    helper="_einsum_vjp",
)


# The helpers the adjoints above call for operands of unknown rank. Each is
# linear in v, the upstream gradient of the first derivative: it is the
# transpose of the map it differentiates (x -> x @ y, x -> tensordot(x, y)),
# so its own adjoint in v is that map again, and in the other operand the
# other helper.
declare(
    "matmul_vjp_x",
    ("v", "x", "y"),
    "_matmul_vjp_x(v, x, y)",
    grads={"v": "g @ y", "y": "_unbroadcast(_matmul_vjp_y(v, g, y), np.shape(y))"},
    calls=("_matmul_vjp_x",),
    helper="_matmul_vjp_x",
)
declare(
    "matmul_vjp_y",
    ("v", "x", "y"),
    "_matmul_vjp_y(v, x, y)",
    grads={"v": "x @ g", "x": "_unbroadcast(_matmul_vjp_x(v, x, g), np.shape(x))"},
    calls=("_matmul_vjp_y",),
    helper="_matmul_vjp_y",
)
declare(
    "tensordot_vjp_x",
    ("v", "x", "y", "axes"),
    "_tensordot_vjp_x(v, x, y, axes)",
    grads={"v": "np.tensordot(g, y, axes)", "y": "_tensordot_vjp_y(v, g, y, axes)"},
    calls=("_tensordot_vjp_x",),
    helper="_tensordot_vjp_x",
)
declare(
    "tensordot_vjp_y",
    ("v", "x", "y", "axes"),
    "_tensordot_vjp_y(v, x, y, axes)",
    grads={"v": "np.tensordot(x, g, axes)", "x": "_tensordot_vjp_x(v, x, g, axes)"},
    calls=("_tensordot_vjp_y",),
    helper="_tensordot_vjp_y",
)

# np.dot's and np.inner's helpers: the same structure, the transposes of
# x -> dot(x, y) and y -> dot(x, y) (inner likewise).
for _name in ("dot", "inner"):
    declare(
        f"{_name}_vjp_x",
        ("v", "x", "y"),
        f"_{_name}_vjp_x(v, x, y)",
        grads={"v": f"np.{_name}(g, y)", "y": f"_{_name}_vjp_y(v, g, y)"},
        calls=(f"_{_name}_vjp_x",),
        helper=f"_{_name}_vjp_x",
    )
    declare(
        f"{_name}_vjp_y",
        ("v", "x", "y"),
        f"_{_name}_vjp_y(v, x, y)",
        grads={"v": f"np.{_name}(x, g)", "x": f"_{_name}_vjp_x(v, x, g)"},
        calls=(f"_{_name}_vjp_y",),
        helper=f"_{_name}_vjp_y",
    )
