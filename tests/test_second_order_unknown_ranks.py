"""Second derivatives through the helpers that adjoints of operands of
unknown rank call (`_matmul_vjp_*`, `_tensordot_vjp_*`, `_unbroadcast`,
`_scatter_add`, `_pool_route`, `_unwindow`), each against central differences
of the first gradient."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from codegen.checks.verify import check_gradients, module_from_source
from conftest import ROOT, build

sys.path.insert(0, str(ROOT / "tests"))
from programs.second import hvp_source  # noqa: E402

PRELUDE = "import numpy as np\n\n"

CASES = {
    "matmul 2-d": ("np.sum(np.tanh(x @ w))", {"x": (3, 4), "w": (4, 2)}),
    "matmul batched": ("np.sum(np.sin(x @ w))", {"x": (2, 3, 4), "w": (4, 2)}),
    "matmul vector": ("np.sum(np.tanh(x @ w) ** 2)", {"x": (4,), "w": (4, 3)}),
    "tensordot": (
        "np.sum(np.tanh(np.tensordot(x, w, axes=([1], [0]))))",
        {"x": (3, 4), "w": (4, 2)},
    ),
    "broadcast": ("np.sum(np.sin(x * w))", {"x": (3, 4), "w": (4,)}),
    # einsum broadcasts y's size-1 axis, so _unbroadcast spreads the first
    # gradient back out: its own adjoint must sum (tests/programs seed 9199)
    "unbroadcast spreading": (
        "np.sum(np.sin(np.einsum('ij,jk->ik', y, y)))",
        {"y": (1, 2)},
    ),
    "gather": (
        "np.sum(np.sin(x[np.arange(3), np.arange(3) // 2]) * x[0, 0])",
        {"x": (3, 4)},
    ),
    "pool": (
        "np.sum(np.sin(x.reshape(2, 2, 2, 2).max(axis=(1, 3))) * x[0, 0])",
        {"x": (4, 4)},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hessian_vector_products(case):
    body, shapes = CASES[case]
    params = list(shapes)
    src = PRELUDE + f"def f({', '.join(params)}):\n    return {body}\n"
    try:
        _, _, first = build(src, "f")
    except Exception as exc:  # pragma: no cover - a refused forward is no case
        pytest.fail(f"first order refused: {exc}")
    hvp_src = hvp_source(first, "f", params, params)
    second = module_from_source(build(hvp_src, "hvp", params)[2], "hvp_grad")
    forward = module_from_source(hvp_src, "hvp_forward")
    rng = np.random.default_rng(0)
    point = {p: rng.standard_normal(s) for p, s in shapes.items()}
    point |= {f"v_{p}": rng.standard_normal(s) for p, s in shapes.items()}
    report = check_gradients(
        forward.hvp,
        (second.hvp_forward, second.hvp_backward),
        params + [f"v_{p}" for p in params],
        point,
        params,
    )
    assert report.ok, report.summary()
