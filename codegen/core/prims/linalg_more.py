"""Linear algebra beyond products (issue 14): inv, solve, det, cholesky, norm.

Each adjoint is the standard one; what it assumes is said beside it. The
matrix axes are the last two (``np.swapaxes(a, -1, -2)`` is the transpose of
each matrix of a batch).
"""

from __future__ import annotations

import ast
import math

from codegen.core.primitive import Facts, declare
from codegen.errors import CodegenError

_T = "np.swapaxes({}, -1, -2)"


def _inv_x(f: Facts) -> str:
    # z = inv(x):  dz = -z dx z, so dL/dx = -z^T g z^T
    if f.rank.get("x") == 2:
        return "-ans.T @ g @ ans.T"
    return f"-{_T.format('ans')} @ g @ {_T.format('ans')}"


declare(
    "inv",
    ("x",),
    "np.linalg.inv(x)",
    grads={"x": _inv_x},
    calls=("numpy.linalg.inv",),
)


def _solve(part: str):
    """z = solve(a, b) = a^-1 b:  dL/db = solve(a^T, g); and since b = a z,
    dL/da = -(dL/db) z^T (an outer product for a vector b). Either operand
    may broadcast against the other's batch: each gradient is summed back to
    its operand's shape. NumPy reads b as a vector only when it is 1-d, so
    where b's rank is unknown (or b is a vector beside a stack of matrices)
    the rule goes through z = inv(a) @ b, whose matmul helpers handle both
    readings: dL/da = -inv(a)^T (dL/d inv(a)) inv(a)^T."""

    def adjoint(f: Facts) -> str:
        ra, rb = f.rank.get("a"), f.rank.get("b")
        at = "a.T" if ra == 2 else _T.format("a")
        grad_b = f"np.linalg.solve({at}, g)"
        if ra == 2 and rb in (1, 2):
            if part == "b":
                return grad_b
            return f"-np.outer({grad_b}, ans)" if rb == 1 else f"-{grad_b} @ ans.T"
        if rb is not None and rb >= 2:
            if part == "b":
                return f"_unbroadcast({grad_b}, np.shape(b))"
            return f"-_unbroadcast({grad_b} @ {_T.format('ans')}, np.shape(a))"
        inv = "np.linalg.inv(a)"
        if part == "b":
            return f"_unbroadcast(_matmul_vjp_y(g, {inv}, b), np.shape(b))"
        inv_t = _T.format(inv)
        grad_inv = f"_matmul_vjp_x(g, {inv}, b)"
        return f"-_unbroadcast({inv_t} @ {grad_inv} @ {inv_t}, np.shape(a))"

    return adjoint


declare(
    "solve",
    ("a", "b"),
    "np.linalg.solve(a, b)",
    grads={"a": _solve("a"), "b": _solve("b")},
    calls=("numpy.linalg.solve",),
)


def _det_x(f: Facts) -> str:
    # z = det(x):  dz/dx = adj(x)^T, the cofactor matrix (Jacobi's formula:
    # z inv(x)^T where x is invertible; the helper holds at singular x too)
    if f.rank.get("x") == 2:
        return "g * _cofactor(x)"
    return "np.expand_dims(g, (-2, -1)) * _cofactor(x)"


declare(
    "det",
    ("x",),
    "np.linalg.det(x)",
    grads={"x": _det_x},
    calls=("numpy.linalg.det",),
)


def _cofactor_x(f: Facts) -> str:
    """z = C = det(x) A with A = inv(x)^T: dC = det(x) <A, dx> A - det(x) A dx^T A,
    so dL/dx = det(x) (<g, A> A - A g^T A) (x invertible: second derivatives
    of det at a singular x are not supported)."""
    if f.rank.get("x") == 2:
        a = "np.linalg.inv(x).T"
        return f"np.linalg.det(x) * (np.sum(g * {a}) * {a} - {a} @ g.T @ {a})"
    a = _T.format("np.linalg.inv(x)")
    inner = f"np.sum(g * {a}, axis=(-2, -1), keepdims=True)"
    det = "np.expand_dims(np.linalg.det(x), (-2, -1))"
    return f"{det} * ({inner} * {a} - {a} @ {_T.format('g')} @ {a})"


declare(
    "cofactor",
    ("x",),
    "_cofactor(x)",
    grads={"x": _cofactor_x},
    calls=("_cofactor",),
    helper="_cofactor",
)


def _cholesky_x(f: Facts) -> str:
    """z = L = cholesky(x), x = L L^T (symmetric positive definite). With
    phi(M) = the lower triangle of M, diagonal halved, and
    S = L^-T phi(L^T g) L^-1, a symmetric perturbation dx changes L by
    <S, dx>. NumPy reads only x's lower triangle (it mirrors it), so an
    entry below the diagonal counts twice and one above not at all:
    dL/dx = tril(S + S^T) - S * I."""
    eye = "np.eye(np.shape(x)[-1], dtype=np.result_type(g))"
    lt = _T.format("ans")
    inner = f"{lt} @ g"
    phi = f"(np.tril({inner}) - 0.5 * {inner} * {eye})"
    half = f"np.linalg.solve({lt}, {phi})"  # L^-T phi
    s = _T.format(f"np.linalg.solve({lt}, {_T.format(half)})")  # L^-T phi L^-1
    return f"np.tril({s} + {_T.format(s)}) - {s} * {eye}"


declare(
    "cholesky",
    ("x",),
    "np.linalg.cholesky(x)",
    grads={"x": _cholesky_x},
    calls=("numpy.linalg.cholesky",),
)


def _ord(text: str) -> object:
    """The value of an ord= keyword's source text: None, a number, inf, or
    'fro' / 'nuc'; "?" when it is not a literal."""
    t = text.replace(" ", "").strip("()")
    sign = -1 if t.startswith("-") else 1
    if t.lstrip("-+") in ("np.inf", "inf", "math.inf", "float('inf')"):
        return sign * math.inf
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return "?"
    return value if value is None or isinstance(value, (int, float, str)) else "?"


def _axes(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return "?"


_MATRIX_ORDS = (None, "fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf)


def _norm_x(f: Facts) -> str | None:
    """z = norm(x, ord, axis): with kept axes zk = z and gk = g (else with the
    reduced axes put back). Vectors: the p-norm, dz/dx = sign(x) (|x| / z)^(p-1)
    (x / z for p = 2); inf / -inf route g to the largest / smallest |x|
    (ties share it). Matrices: 'fro' as the 2-norm of the entries; 'nuc'
    (the sum of the singular values) U V^T; 2 / -2 (the largest / smallest
    singular value) u v^T of that value's singular vectors (distinct
    singular values assumed); 1 / -1 and inf / -inf (the largest / smallest
    column / row sum of |x|) sign(x) on that column or row. z = 0 gives 0
    (a kink, as for abs)."""
    ord_, axis = _ord(f.kw["ord"]), _axes(f.kw["axis"])
    rank = f.rank.get("x")
    if isinstance(axis, int) or (isinstance(axis, tuple) and len(axis) == 1):
        vector = True  # NumPy reads a one-axis tuple as that axis
    elif isinstance(axis, tuple) and len(axis) == 2:
        vector = False
    elif axis is None and rank in (1, 2):
        vector = rank == 1
    elif axis is None and ord_ in (None, "fro", "nuc"):
        vector = ord_ is None
    elif axis is None and isinstance(ord_, (int, float)) and ord_ not in _MATRIX_ORDS:
        vector = True  # NumPy takes this ord for vectors only
    elif axis is None and ord_ in (1, 2, math.inf, -math.inf):
        # a vector's 1-, 2- and inf-norms are the matrix norms of it as one
        # column (the column sum, the largest singular value, the largest
        # row sum of |x|; -inf the smallest): the matrix rule on x reshaped
        # to (len(x), -1) is right for both (a matrix is its own reshape)
        vector = False
    else:
        vector = None
    if vector and ord_ == 0:
        return None  # the count of nonzero entries: a step function
    supported = ord_ is None or (
        vector is not None
        and (
            (vector and isinstance(ord_, (int, float)) and ord_ != 0)
            or (not vector and ord_ in _MATRIX_ORDS)
        )
    )
    if not supported:
        shown = f.kw["ord"].removeprefix("(").removesuffix(")")  # (-1): as written
        raise CodegenError(
            f"np.linalg.norm with ord={shown} has no adjoint here"
            + (" (is x a vector or a matrix?)" if vector is None else ""),
            None,
            "supported: vector p-norms (ord a number, or inf), and for "
            "matrices ord=None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf; annotate "
            "x's rank or give axis when ord means both",
        )
    kept = axis is None or f.kw["keepdims"] in ("True", "1")
    z = "ans" if kept else "np.expand_dims(ans, axis)"
    grad = "g" if kept else "np.expand_dims(g, axis)"
    if ord_ is None or ord_ == "fro" or (vector and ord_ == 2):
        return f"{grad} * x / ({z} + ({z} == 0))"
    if vector and ord_ in (math.inf, -math.inf):
        hit = f"(np.abs(x) == {z})"
        count = f"np.sum({hit}, axis=axis, keepdims=True, dtype=np.result_type(x))"
        return f"{grad} * np.sign(x) * {hit} / {count}"  # a count in x's type
    if vector:
        return f"{grad} * np.sign(x) * (np.abs(x) / ({z} + ({z} == 0))) ** ({ord_} - 1)"
    # a matrix: on the last two axes (axis moved there), then moved back
    moved = isinstance(axis, tuple)
    column = axis is None and rank != 2  # rank unknown: see above
    xm = "np.moveaxis(x, axis, (-2, -1))" if moved else "x"
    xm = "np.reshape(x, (np.shape(x)[0], -1))" if column else xm
    if not moved:
        gm = "g"
    elif kept:
        gm = "np.moveaxis(g, axis, (-2, -1))"
    else:
        gm = "np.expand_dims(g, (-2, -1))"
    u = f"np.linalg.svd({xm}, full_matrices=False)[0]"
    vh = f"np.linalg.svd({xm}, full_matrices=False)[2]"
    if ord_ == "nuc":
        r = f"{gm} * ({u} @ {vh})"
    elif ord_ in (2, -2):
        k = 0 if ord_ == 2 else -1
        u1 = f"np.expand_dims(np.moveaxis({u}, -1, 0)[{k}], -1)"
        v1 = f"np.expand_dims(np.moveaxis({vh}, -2, 0)[{k}], -2)"
        r = f"{gm} * {u1} * {v1}"
    else:  # 1, -1: columns (axis -2 summed); inf, -inf: rows
        over = -2 if ord_ in (1, -1) else -1
        pick = "np.max" if ord_ in (1, math.inf) else "np.min"
        sums = f"np.sum(np.abs({xm}), axis={over})"
        hit = f"({sums} == {pick}({sums}, axis=-1, keepdims=True))"
        count = f"np.sum({hit}, axis=-1, keepdims=True, dtype=np.result_type(x))"
        share = f"np.expand_dims({hit} / {count}, {over})"
        r = f"{gm} * np.sign({xm}) * {share}"
    if column:
        return f"np.reshape({r}, np.shape(x))"
    return f"np.moveaxis({r}, (-2, -1), axis)" if moved else r


declare(
    "norm",
    ("x",),
    "np.linalg.norm(x)",
    grads={"x": _norm_x},
    keywords={"ord": "None", "axis": "None", "keepdims": "False"},
    calls=("numpy.linalg.norm",),
    shape="reduce",
    smooth=False,
)
