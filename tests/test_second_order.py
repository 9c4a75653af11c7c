"""A generated backward is valid input: differentiating it again gives
Hessian-vector products (the rules emit only supported operations)."""

from __future__ import annotations

import re
import numpy as np
import pytest

from codegen import generate
from codegen.checks.verify import check_gradients, module_from_source

FORWARDS = {
    # f(x) = sum(tanh(x) * x): H = diag(2 sech^2 x - 2 x tanh x sech^2 x)
    "annotated": 'def f(x: Float[np.ndarray, "N"]):\n    out = np.sum(np.tanh(x) * x)\n    return out\n',
    # same function without annotations: the backward broadcasts through _unbroadcast
    "plain": "def f(x):\n    out = np.sum(np.tanh(x) * x)\n    return out\n",
}
PRELUDE = "from __future__ import annotations\n\nimport numpy as np\n\n\n"


def _hvp_source(generated: str) -> str:
    """The generated value-and-grad body, turned into hvp(x, v) = <grad f(x), v>."""
    body = generated.split("def f_value_and_grad(x):")[1]
    body = re.sub(r'^    """.*?"""\n', "", body, count=1, flags=re.S)
    lines = [ln for ln in body.splitlines() if not ln.strip().startswith("return ")]
    helpers = generated.split("def f_forward")[0].split('"""\n\nimport numpy as np\n')[
        1
    ]
    return (
        PRELUDE
        + helpers.strip()
        + "\n\n\ndef hvp(x, v):\n"
        + "\n".join(lines).rstrip()
        + "\n    hv = np.sum(grad_x * v)\n    return hv\n"
    )


@pytest.mark.parametrize("kind", sorted(FORWARDS))
def test_backward_of_the_backward_gives_hessian_vector_products(kind):
    first = generate(PRELUDE + FORWARDS[kind], "f.py", "f")
    assert ("_unbroadcast(" in first) == (kind == "plain")
    hvp_src = _hvp_source(first)
    second = generate(hvp_src, "hvp.py", "hvp", ["x"])
    mod = module_from_source(second, "hvp_grad")
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal(5), rng.standard_normal(5)
    _, hv = mod.hvp_value_and_grad(x, v)
    sech2 = 1 / np.cosh(x) ** 2
    hessian_diag = 2 * sech2 - 2 * x * np.tanh(x) * sech2
    assert np.allclose(hv, hessian_diag * v, rtol=1e-12, atol=1e-12)
    forward = module_from_source(hvp_src, "hvp_forward")
    report = check_gradients(
        forward.hvp,
        (mod.hvp_forward, mod.hvp_backward),
        ["x", "v"],
        {"x": x, "v": v},
        ["x"],
        "hvp",
    )
    assert report.ok, report.summary()
