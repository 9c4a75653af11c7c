"""Float32 parameters get float32 gradients: a mask or a padding of another
dtype in an adjoint (np.fmax's float mask, np.diff's int padding, np.log(2)
as a float64 scalar) promoted them to float64. Each gradient also equals the float64 one to float32
precision (the float64 gradient checked against central differences)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build

from codegen.checks.verify import check_gradients

CASES = {
    "fmax": ("np.fmax(x, y) + np.fmin(x, 0.3)", {"x": (3, 4), "y": (4,)}),
    "fmin_scalar_first": ("np.fmin(0.2, x) * y", {"x": (3, 4), "y": (4,)}),
    "diff": ("np.diff(x, axis=0) * y", {"x": (3, 4), "y": (4,)}),
    "diff_twice": ("np.diff(x, n=2) + y[0]", {"x": (3, 4), "y": (4,)}),
    "det": ("np.linalg.det(x[:, :3]) * y", {"x": (3, 4), "y": (4,)}),
    "where_max": ("np.where(x > 0, x, 0.1 * x) * np.max(y)", {"x": (3, 4), "y": (4,)}),
    "mean_var": ("np.var(x, axis=0) * np.mean(y)", {"x": (3, 4), "y": (4,)}),
    # np.log(2) is a float64 scalar: the log of a constant is a Python float
    "power_of_constant_base": ("2.0 ** x * y", {"x": (3, 4), "y": (4,)}),
    "log2_log10_exp2": (
        "np.log2(x) + np.log10(x) * np.exp2(y)",
        {"x": (3, 4), "y": (4,)},
    ),
    # np.eye in an adjoint takes g's dtype
    "trace": ("np.trace(x[:, :3]) * y", {"x": (3, 4), "y": (4,)}),
    "eigh": (
        "np.linalg.eigh(x[:, :3] + x[:, :3].T)[0] * y[:3]",
        {"x": (3, 4), "y": (4,)},
    ),
    "eigh_vectors": (
        "np.linalg.eigh(x[:, :3] + x[:, :3].T)[1] * y[:3]",
        {"x": (3, 4), "y": (4,)},
    ),
    "svd_u": (
        "np.linalg.svd(x, full_matrices=False)[0] * y[:3]",
        {"x": (3, 4), "y": (4,)},
    ),
    "cholesky": (
        "np.linalg.cholesky(x[:, :3] @ x[:, :3].T + 3 * np.eye(3, dtype=np.float32))",
        {"x": (3, 4), "y": (4,)},
    ),
    # the tie counts of norm's ord=inf and ord=1, in x's type
    "norm_inf": (
        "np.linalg.norm(x, ord=np.inf, axis=1) * y[:3]",
        {"x": (3, 4), "y": (4,)},
    ),
    "norm_matrix_one": (
        "np.linalg.norm(x, ord=1, axis=(0, 1)) * y",
        {"x": (3, 4), "y": (4,)},
    ),
    # the interpolation weights of np.linspace in g's type
    "linspace": ("np.linspace(x[0], y, 5) * x[1, 0]", {"x": (3, 4), "y": (4,)}),
    # polyval's integer powers in x's type; convolve, outer products
    "polyval": ("np.polyval(y, x) * 2.0", {"x": (3, 4), "y": (4,)}),
    "convolve_outer": (
        "np.convolve(x[0], y, 'same') + np.divide.outer(y, x[1] + 3.0)[0]",
        {"x": (3, 4), "y": (4,)},
    ),
    "median_cumprod": (
        "np.median(x, axis=0) * np.cumprod(y)",
        {"x": (3, 4), "y": (4,)},
    ),
    "nanmean_average": (
        "np.nanmean(x, axis=1) + np.average(x, axis=1, weights=y)",
        {"x": (3, 4), "y": (4,)},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_float32_in_float32_out(case):
    body, shapes = CASES[case]
    source = (
        "import numpy as np\n\n\ndef f(x, y):\n    out = " + body + "\n    return out\n"
    )
    forward, generated, code = build(source, "f")
    rng = np.random.default_rng(3)
    point = {p: rng.uniform(0.2, 1.5, s) for p, s in shapes.items()}
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, list(shapes), point, list(shapes))
    assert report.ok, report.summary() + "\n" + code
    _, grads64 = generated.f_value_and_grad(*point.values())
    low = [v.astype(np.float32) for v in point.values()]
    out32, grads32 = generated.f_value_and_grad(*low)
    assert np.asarray(out32).dtype == np.float32
    for g32, g64 in zip(grads32, grads64, strict=True):
        assert g32.dtype == np.float32, code
        np.testing.assert_allclose(g32, g64, rtol=2e-4, atol=1e-5)
