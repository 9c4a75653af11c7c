"""Second order through a product with a vector: `_matmul_vjp_x` and
`_matmul_vjp_y` return the vector operand's own shape (summed over the other
operand's stack), so their adjoints, which put the upstream gradient in the
vector's place, see a vector and not a stack of them. Found by
`python -m tests.programs.second --seed 73` (a wrong Hessian-vector product
for x @ y with y of rank 3); the Hessian-vector product is checked against
central differences of the first-order generated code."""

from __future__ import annotations

import numpy as np
import pytest
from programs.second import hvp_source

from codegen.checks.verify import module_from_source
from codegen.pipeline import generate

SRC = "import numpy as np\n\n\ndef f(x, y):\n    return np.sum(np.sin(x @ y))\n"


@pytest.mark.parametrize(
    ("xs", "ys"),
    [
        ((3,), (2, 3, 4)),
        ((5, 2, 3), (3,)),
        ((3,), (2, 2, 3, 1)),
        ((2, 3), (4, 3, 2)),
        ((3,), (3,)),
    ],
)
def test_hvp_of_a_product_with_a_vector(xs, ys):
    first = generate(SRC, "p.py", "f")
    hvp_src = hvp_source(first, "f", ["x", "y"], ["x", "y"])
    hv = module_from_source(hvp_src, "mm_hvp")
    second = module_from_source(
        generate(hvp_src, "h.py", "hvp", ["x", "y"]), "mm_hvp_grad"
    )
    rng = np.random.default_rng(2)
    point = {"x": rng.standard_normal(xs), "y": rng.standard_normal(ys)}
    point.update(
        {f"v_{k}": rng.standard_normal(np.shape(a)) for k, a in list(point.items())}
    )
    _, grads = second.hvp_value_and_grad(**point)
    for name, got in zip(("x", "y"), grads, strict=True):
        assert np.shape(got) == np.shape(point[name])
        fd = np.zeros_like(point[name])
        for k in np.ndindex(fd.shape):
            up, dn = dict(point), dict(point)
            up[name], dn[name] = point[name].copy(), point[name].copy()
            up[name][k] += 1e-6
            dn[name][k] -= 1e-6
            fd[k] = (hv.hvp(**up) - hv.hvp(**dn)) / 2e-6
        assert np.allclose(got, fd, rtol=1e-5, atol=1e-7), name
