"""codegen.core.late_grads: a parameter's gradient that needs only the
upstream gradient and the cache is computed last in `<f>_backward`.

The moved line is checked in the text (last, under its forward line; the
value-and-grad keeps the order), the gradients against HIPS autograd and
central differences, and the cases where it must stay where it is.
"""

from __future__ import annotations

import inspect
import textwrap

import autograd
import numpy as np
import pytest
from references import central as _central

from codegen.checks.verify import module_from_source
from codegen.pipeline import generate

HEAD = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

"""

ATTENTION = """
def f(q: Float[np.ndarray, "T d"], k: Float[np.ndarray, "T d"], v: Float[np.ndarray, "T d"], u: Float[np.ndarray, "T d"]):
    s = q @ k.T
    e = np.exp(s - np.max(s, axis=1, keepdims=True))
    A = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(np.tanh(A @ v) * u)
"""

#: name -> (forward, shapes, wrt, the line moved last or None)
CASES = {
    "attention: the gradient of V": (
        """
def f(q: Float[np.ndarray, "T d"], k: Float[np.ndarray, "T d"], v: Float[np.ndarray, "T d"]):
    s = q @ k.T
    e = np.exp(s - np.max(s, axis=1, keepdims=True))
    A = e / np.sum(e, axis=1, keepdims=True)
    return A @ v
""",
        {"q": (4, 3), "k": (4, 3), "v": (4, 3)},
        ["q", "k", "v"],
        "grad_v = A.T @ grad_out",
    ),
    "the upstream reaches v through another gradient": (
        ATTENTION,
        {"q": (4, 3), "k": (4, 3), "v": (4, 3), "u": (4, 3)},
        ["q", "k", "v"],
        None,
    ),
    "v read twice": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D M"]):
    h = x @ w
    return h @ w.T
""",
        {"x": (3, 4), "w": (4, 5)},
        ["x", "w"],
        None,
    ),
    "a bias: a reduction, not a product": (
        """
def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D M"], b: Float[np.ndarray, "M"]):
    return np.tanh(x) @ w + b
""",
        {"x": (3, 4), "w": (4, 5), "b": (5,)},
        ["x", "w", "b"],
        None,
    ),
}


def _split(code: str, name: str) -> list[str]:
    body = code.split(f"def f_{name}")[1].split("\ndef ")[0]
    return [ln.strip() for ln in body.splitlines() if ln.strip() and "del " not in ln]


@pytest.mark.parametrize("name", CASES)
def test_the_moved_gradient_is_last_and_right(name):
    body, shapes, wrt, line = CASES[name]
    source = HEAD + textwrap.dedent(body)
    code = generate(source, "<test>", "f", wrt)
    forward = module_from_source(source, "late_forward")
    mod = module_from_source(code, "late_generated")
    backward, flat = _split(code, "backward"), _split(code, "value_and_grad")
    if line is None:
        assert backward.count("# " + _last(source)) <= 1
    else:
        assert backward[-3:-1] == ["# " + _last(source), line]
        assert backward.index(line) > backward.index("grad_A *= A")
        assert flat.index(line) < flat.index("grad_A *= A")  # the flat order
    rng = np.random.default_rng(0)
    point = {n: rng.standard_normal(s) for n, s in shapes.items()}
    out, cache = mod.f_forward(**point)
    upstream = rng.standard_normal(np.shape(out))
    grads = mod.f_backward(upstream, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    ns: dict = {}
    exec(compile(source.replace("import numpy as np", "import autograd.numpy as np"), "<ag>", "exec"), ns)  # fmt: skip
    names = list(inspect.signature(ns["f"]).parameters)

    def scalar(**a):
        return np.sum(forward.f(**a) * upstream)

    for p, g in zip(wrt, grads, strict=True):
        ref = autograd.grad(
            lambda *a: autograd.numpy.sum(ns["f"](*a) * upstream), names.index(p)
        )(*[point[n] for n in names])
        assert np.allclose(g, ref, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(scalar, point, p), rtol=1e-5, atol=1e-7), p


def _last(source: str) -> str:
    return source.strip().splitlines()[-1].strip()
