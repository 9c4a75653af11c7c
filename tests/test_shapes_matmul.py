"""codegen.core.shapes: a stack of matrices times one matrix (and one matrix
times a stack) has NumPy's matmul shape, and the passes that read shapes then
write the temporal affine backward without `_unbroadcast` or copies; its
gradients against autograd and central differences."""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest

from codegen.checks.verify import module_from_source
from codegen.core.shapes import shapes
from codegen.front.parse import parse
from codegen.pipeline import generate

HEAD = (
    "from __future__ import annotations\n\nimport numpy as np\n\n\n"
    'def f(x: Float[np.ndarray, {x}], w: Float[np.ndarray, {w}], b: Float[np.ndarray, "M"]):\n'
    "    return x @ w + b\n"
)


@pytest.mark.parametrize(
    ("x", "w", "out"),
    [
        ('"N T D"', '"D M"', ("N", "T", "M")),
        ('"B N T D"', '"D M"', ("B", "N", "T", "M")),
        ('"N D"', '"D M"', ("N", "M")),
        ('"T D"', '"N D M"', ("N", "T", "M")),
        ('"N T D"', '"K M"', None),  # the inner sizes are not proven equal
    ],
)
def test_matmul_shapes(x, w, out):
    fn = parse(HEAD.format(x=x, w=w), "t.py", "f")
    step = next(s for s in fn.body if s.op == "matmul")
    assert shapes(fn)[step.target] == out


def test_temporal_affine_backward_against_autograd_and_differences():
    src = HEAD.format(x='"N T D"', w='"D M"')
    code = generate(src, "t.py", "f")
    back = code[code.index("def f_backward") : code.index("def f_value_and_grad")]
    assert "_unbroadcast" not in back and "np.copy" not in back
    assert "grad_b = np.sum(grad_out, axis=(0, 1))" in back
    mod = module_from_source(code, "ta_grad")
    rng = np.random.default_rng(0)
    x, w, b = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((4, 5)),
        rng.standard_normal(5),
    )
    g = rng.standard_normal((2, 3, 5))
    out, cache = mod.f_forward(x, w, b)
    grads = mod.f_backward(g, cache)
    assert not np.shares_memory(grads[2], g)

    def loss(x, w, b):
        return anp.sum((x @ w + b) * g)

    for i, got in enumerate(grads):
        assert np.allclose(got, autograd.grad(loss, i)(x, w, b), rtol=1e-12, atol=1e-12)
    h = 1e-6
    args = [x, w, b]
    for i, got in enumerate(grads):
        fd = np.zeros_like(args[i])
        for k in np.ndindex(args[i].shape):
            up = [a.copy() for a in args]
            dn = [a.copy() for a in args]
            up[i][k] += h
            dn[i][k] -= h
            fd[k] = (loss(*up) - loss(*dn)) / (2 * h)
        assert np.allclose(got, fd, rtol=1e-6, atol=1e-8)
