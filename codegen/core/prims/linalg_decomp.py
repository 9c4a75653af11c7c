"""Linear algebra with several outputs (issue 14): svd, eigh, slogdet; and
pinv, eigvalsh.

NumPy returns a tuple (``u, s, vh = np.linalg.svd(x)``); parse lowers the
call to one step per output (`SEVERAL`), each its own primitive, so that a
gradient reaching only ``s`` costs only the ``s`` rule, and the rules of the
outputs used add up to the adjoint of the whole decomposition (it is linear
in the outputs' gradients). Each adjoint is the standard one, written in
declared primitives (the decompositions themselves among them), so a
backward is differentiated again. What each assumes:

* svd: distinct, nonzero singular values (the reduced SVD,
  ``full_matrices=False``; the full one for ``u`` or ``vh`` is refused,
  since its extra columns are not determined by x);
* eigh: a symmetric x with distinct eigenvalues; NumPy reads one triangle
  (``UPLO="L"``, the default, or ``"U"``), so the gradient is zero on the
  other, and an entry off the diagonal counts for both of its places;
* slogdet: an invertible x (the sign has no gradient);
* pinv: the rank of x does not change near it (full rank, in particular).

The matrix axes are the last two; leading axes are a batch.
"""

from __future__ import annotations

import ast
from dataclasses import replace

from codegen.core.primitive import Facts, declare
from codegen.errors import CodegenError


def _T(a: str) -> str:
    return f"np.swapaxes({a}, -1, -2)"


def _ex(a: str, axis: int | str) -> str:
    return f"np.expand_dims({a}, {axis})"


#: The outputs of the reduced SVD of x, as code.
U = "np.linalg.svd(x, full_matrices=False)[0]"
S = "np.linalg.svd(x, compute_uv=False)"
VH = "np.linalg.svd(x, full_matrices=False)[2]"


def _gap(s: str, k: str) -> str:
    """F[i, j] = 1 / (s_j - s_i) off the diagonal, 0 on it (s: the last
    axis, k: its length)."""
    eye = f"np.eye({k}, dtype=np.result_type(g))"  # float32 stays float32
    return f"(1 - {eye}) / ({_ex(s, -2)} - {_ex(s, -1)} + {eye})"


def _reduced(f: Facts) -> None:
    if f.const.get("fm", "False") != "False":
        raise CodegenError(
            "the gradient of u or vh of np.linalg.svd with full_matrices=True "
            "is not supported: the extra columns are not determined by x",
            None,
            "pass full_matrices=False (the reduced SVD; the same for square "
            "matrices), or use only s",
        )


def _svd_u(f: Facts) -> str:
    """z = U (m x k): dL/dx = (U (J S) + G S^-1 - U U^T G S^-1) V^T, with
    J = F o (U^T G - G^T U), F[i, j] = 1 / (s_j^2 - s_i^2)."""
    _reduced(f)
    s = _ex(S, -2)
    j = f"{_gap(f'{S} ** 2', 'np.shape(g)[-1]')} * ({_T('ans')} @ g - {_T('g')} @ ans)"
    gs = f"g / {s}"
    return f"(ans @ (({j}) * {s}) + {gs} - ans @ ({_T('ans')} @ ({gs}))) @ {VH}"


def _svd_vh(f: Facts) -> str:
    """z = V^T (k x n): dL/dx = U (S K V^T + S^-1 G - S^-1 G V V^T), with
    K = F o (V^T G^T - G V), F as for u."""
    _reduced(f)
    s = _ex(S, -1)
    k = f"{_gap(f'{S} ** 2', 'np.shape(g)[-2]')} * (ans @ {_T('g')} - g @ {_T('ans')})"
    gs = f"g / {s}"
    return f"{U} @ ({s} * ({k}) @ ans + {gs} - ({gs}) @ {_T('ans')} @ ans)"


declare(
    "svd_u",
    ("x", "fm"),
    "np.linalg.svd(x, full_matrices=fm)[0]",
    grads={"x": _svd_u},
)
# z = s: dL/dx = U diag(g) V^T
declare(
    "svd_s",
    ("x",),
    "np.linalg.svd(x, compute_uv=False)",
    grads={"x": f"({U} * {_ex('g', -2)}) @ {VH}"},
    calls=("numpy.linalg.svd",),
)
declare(
    "svd_vh",
    ("x", "fm"),
    "np.linalg.svd(x, full_matrices=fm)[2]",
    grads={"x": _svd_vh},
)


def _uplo(f: Facts) -> str:
    text = f.const.get("uplo", "'L'")
    try:
        side = str(ast.literal_eval(text)).upper()
    except (ValueError, SyntaxError):
        side = ""
    if side not in ("L", "U"):
        raise CodegenError(
            f"np.linalg.eigh with UPLO={text}: give 'L' or 'U' as a literal",
            None,
            "np.linalg.eigh(x) reads the lower triangle, np.linalg.eigh(x, 'U') "
            "the upper",
        )
    return "np.tril" if side == "L" else "np.triu"


def _eigh_w(f: Facts) -> str:
    """z = w: M = V diag(g) V^T (symmetric); NumPy reads one triangle, so an
    entry off the diagonal gets M_ij + M_ji = 2 M_ij."""
    v = "np.linalg.eigh(x, uplo)[1]"
    m = f"({v} * {_ex('g', -2)}) @ {_T(v)}"
    return f"{_uplo(f)}({m}) * (2 - np.eye(np.shape(g)[-1], dtype=np.result_type(g)))"


def _eigh_v(f: Facts) -> str:
    """z = V: M = V (F o (V^T g)) V^T, F[i, j] = 1 / (w_j - w_i); folded onto
    the triangle NumPy reads: M_ij + M_ji off the diagonal, M_ii on it."""
    w = "np.linalg.eigh(x, uplo)[0]"
    eye = "np.eye(np.shape(g)[-1], dtype=np.result_type(g))"
    m = f"ans @ ({_gap(w, 'np.shape(g)[-1]')} * ({_T('ans')} @ g)) @ {_T('ans')}"
    return f"{_uplo(f)}({m} + {_T(m)}) * (1 - 0.5 * {eye})"


declare(
    "eigh_w",
    ("x", "uplo"),
    "np.linalg.eigh(x, uplo)[0]",
    grads={"x": _eigh_w},
    calls=("numpy.linalg.eigh",),
)
declare(
    "eigh_v",
    ("x", "uplo"),
    "np.linalg.eigh(x, uplo)[1]",
    grads={"x": _eigh_v},
)


def _eigvalsh_x(f: Facts) -> str:
    """z = eigvalsh(x), eigh's w alone: eigh's rule, with eigh's vectors."""
    code = _eigh_w(replace(f, const={**f.const, "uplo": f.kw["UPLO"]}))
    return code.replace("np.linalg.eigh(x, uplo)", "np.linalg.eigh(x, UPLO)")


declare(
    "eigvalsh",
    ("x",),
    "np.linalg.eigvalsh(x)",
    grads={"x": _eigvalsh_x},
    keywords={"UPLO": "'L'"},
    calls=("numpy.linalg.eigvalsh",),
)


def _logdet_x(f: Facts) -> str:
    # z = log|det x|:  dz/dx = inv(x)^T, whatever the sign
    if f.rank.get("x") == 2:
        return "g * np.linalg.inv(x).T"
    return f"{_ex('g', '(-2, -1)')} * {_T('np.linalg.inv(x)')}"


declare("slogdet_sign", ("x",), "np.linalg.slogdet(x)[0]")
declare(
    "slogdet_logdet",
    ("x",),
    "np.linalg.slogdet(x)[1]",
    grads={"x": _logdet_x},
    calls=("numpy.linalg.slogdet",),
)


def _pinv_x(f: Facts) -> str:
    """z = X = pinv(A), where A's rank is constant (Golub and Pereyra):
    dL/dA = -X^T g X^T + (I - A X) g^T X X^T + X^T X g^T (I - X A)."""
    xt, gt = _T("ans"), _T("g")
    return (
        f"-{xt} @ g @ {xt} + ({gt} - x @ (ans @ {gt})) @ (ans @ {xt})"
        f" + ({xt} @ ans) @ ({gt} - ({gt} @ ans) @ x)"
    )


declare(
    "pinv",
    ("x",),
    "np.linalg.pinv(x)",
    grads={"x": _pinv_x},
    calls=("numpy.linalg.pinv",),
)

# ----- lstsq: x = pinv(a) b, cut where lstsq cuts (of constant rank) -----

# rcond (an input: a threshold, piecewise constant in its effect) has no gradient
declare(
    "lstsq",
    ("a", "b", "rcond"),
    "np.linalg.lstsq(a, b, rcond=rcond)[0]",
    grads={
        "a": "_lstsq_vjp_a(g, a=a, b=b, rcond=rcond)",
        "b": "_lstsq_vjp_b(g, a=a, rcond=rcond)",
    },
)
# Their helpers, linear in v, each the other's transpose; a and b are
# keywords, so there is no second derivative through them.
_LSTSQ_AB = {"a": "None", "b": "None", "rcond": "None"}
_LSTSQ_A = {"a": "None", "rcond": "None"}
for _one, _other, _kw in (
    ("_lstsq_vjp_a", "_lstsq_jvp_a", _LSTSQ_AB),
    ("_lstsq_jvp_a", "_lstsq_vjp_a", _LSTSQ_AB),
    ("_lstsq_vjp_b", "_lstsq_jvp_b", _LSTSQ_A),
    ("_lstsq_jvp_b", "_lstsq_vjp_b", _LSTSQ_A),
):
    _keys = ", ".join(f"{k}={k}" for k in _kw)
    declare(
        _one[1:],
        ("v",),
        f"{_one}(v)",
        grads={"v": f"{_other}(g, {_keys})"},
        keywords=_kw,
        calls=(_one,),
        helper=_one,
    )


def _lstsq_no_grad(f: Facts) -> str:
    raise CodegenError(
        "the residuals of np.linalg.lstsq have no adjoint here",
        None,
        "compute them from the solution: r = b - a @ x; np.sum(r * r, axis=0)",
    )


# The other outputs: the residuals (refused where a gradient reaches them),
# the rank (an integer) and the singular values of a (svd's rule).
declare(
    "lstsq_residuals",
    ("a", "b", "rcond"),
    "np.linalg.lstsq(a, b, rcond=rcond)[1]",
    grads={"a": _lstsq_no_grad, "b": _lstsq_no_grad},
)
declare("lstsq_rank", ("a", "b", "rcond"), "np.linalg.lstsq(a, b, rcond=rcond)[2]")
declare(
    "lstsq_s",
    ("x", "b", "rcond"),
    "np.linalg.lstsq(x, b, rcond=rcond)[3]",
    grads={"x": f"({U} * {_ex('g', -2)}) @ {VH}"},
)


#: Calls with several outputs -> (the op of each output, the call's
#: parameters after x with their defaults). parse lowers them.
SEVERAL: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    "numpy.linalg.svd": (
        ("svd_u", "svd_s", "svd_vh"),
        (("full_matrices", "True"), ("compute_uv", "True"), ("hermitian", "False")),
    ),
    "numpy.linalg.eigh": (("eigh_w", "eigh_v"), (("UPLO", "'L'"),)),
    "numpy.linalg.slogdet": (("slogdet_sign", "slogdet_logdet"), ()),
}
#: The names NumPy 2 gives those outputs (``np.linalg.svd(x).S``), in order.
FIELDS: dict[str, tuple[str, ...]] = {
    "numpy.linalg.svd": ("U", "S", "Vh"),
    "numpy.linalg.eigh": ("eigenvalues", "eigenvectors"),
    "numpy.linalg.slogdet": ("sign", "logabsdet"),
}
