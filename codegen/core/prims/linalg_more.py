"""Linear algebra beyond products (issue 14): inv, solve, det, cholesky, norm.

Each adjoint is the standard one; what it assumes is said beside it. The
matrix axes are the last two (``np.swapaxes(a, -1, -2)`` is the transpose of
each matrix of a batch).
"""

from __future__ import annotations

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
    dL/da = -(dL/db) z^T (an outer product for a vector b)."""

    def adjoint(f: Facts) -> str:
        ra, rb = f.rank.get("a"), f.rank.get("b")
        grad_b = (
            "np.linalg.solve(a.T, g)"
            if ra == 2
            else (f"np.linalg.solve({_T.format('a')}, g)")
        )
        if part == "b":
            return grad_b
        if ra == 2 and rb == 1:
            return f"-np.outer({grad_b}, ans)"
        if ra == 2 and rb == 2:
            return f"-{grad_b} @ ans.T"
        return f"-_unbroadcast(_matmul_vjp_x({grad_b}, a, ans), np.shape(a))"

    return adjoint


declare(
    "solve",
    ("a", "b"),
    "np.linalg.solve(a, b)",
    grads={"a": _solve("a"), "b": _solve("b")},
    calls=("numpy.linalg.solve",),
)


def _det_x(f: Facts) -> str:
    # z = det(x):  dz/dx = z inv(x)^T (Jacobi's formula; x invertible)
    if f.rank.get("x") == 2:
        return "g * ans * np.linalg.inv(x).T"
    return f"np.expand_dims(g * ans, (-2, -1)) * {_T.format('np.linalg.inv(x)')}"


declare(
    "det",
    ("x",),
    "np.linalg.det(x)",
    grads={"x": _det_x},
    calls=("numpy.linalg.det",),
)


def _cholesky_x(f: Facts) -> str:
    """z = L = cholesky(x), x = L L^T (symmetric positive definite). With
    phi(M) = the lower triangle of M, diagonal halved, and
    S = L^-T phi(L^T g) L^-1, a symmetric perturbation dx changes L by
    <S, dx>. NumPy reads only x's lower triangle (it mirrors it), so an
    entry below the diagonal counts twice and one above not at all:
    dL/dx = tril(S + S^T) - S * I."""
    eye = "np.eye(np.shape(x)[-1])"
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


def _norm_x(f: Facts) -> str:
    """z = norm(x): the 2-norm of a vector, the Frobenius norm of a matrix
    (the square root of the sum of squares over the reduced axes):
    dz/dx = x / z, and 0 where z = 0 (x is 0 there; a kink, as for abs)."""
    ord_, axis = f.kw["ord"], f.kw["axis"]
    vector = f.rank.get("x") == 1 or axis.lstrip("-").isdigit()
    if not (
        ord_ == "None"
        or (ord_ in ("2", "2.0") and vector)
        or (ord_ in ("'fro'", '"fro"') and not vector)
    ):
        raise CodegenError(
            f"np.linalg.norm with ord={ord_} has no adjoint here",
            None,
            "supported: the 2-norm of vectors and the Frobenius norm of matrices "
            "(ord=None, 2 for a vector, 'fro'), with axis and keepdims",
        )
    kept = axis == "None" or f.kw["keepdims"] in ("True", "1")
    z = "ans" if kept else "np.expand_dims(ans, axis)"
    grad = "g" if kept else "np.expand_dims(g, axis)"
    return f"{grad} * x / ({z} + ({z} == 0))"


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
