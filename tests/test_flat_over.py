"""codegen.core.flat_over, and the readers `codegen.core.in_place` now
counts as making new arrays (reductions, integer-array gathers) with the
labels' gather moved next to the array it reads (`gather_lean._early`).

Where the passes fire the text shows ``out=_reuse(...)``; the gradients of
the value-and-grad and of the backward are checked against HIPS autograd
and central differences, the inputs are unchanged after a call, a second
call gives the same numbers, float32 stays float32; where a condition fails
the plain expression stays.
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
    from jaxtyping import Float, Int

"""

CE = """
def f(x: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs[np.arange(N), y]) / N
"""

SOFTMAX = """
def f(s: Float[np.ndarray, "T T"], v: Float[np.ndarray, "T d"]):
    m = s - np.max(s, axis=1, keepdims=True)
    e = np.exp(m)
    A = e / np.sum(e, axis=1, keepdims=True)
    return np.sum(np.sin(A @ v))
"""

#: name -> (forward, point maker, wrt, lines written, lines that must stay)
CASES = {
    "cross-entropy": (
        CE,
        lambda r: {"x": 3 * r.standard_normal((5, 4)), "y": r.integers(0, 4, 5)},
        ["x"],
        [
            "log_probs_exp = np.exp(shifted, out=_reuse(shifted))",
            "out=_reuse(log_probs_exp, grad_log_probs_exp)",
        ],
        [],
    ),
    "softmax read by a sum": (
        SOFTMAX,
        lambda r: {"s": r.standard_normal((4, 4)), "v": r.standard_normal((4, 3))},
        ["s", "v"],
        ["A = np.divide(e, A_sum, out=_reuse(e, A_sum))"],
        [],
    ),
    "a view of the array is alive": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"]):
    t = np.exp(x)
    c = t[:, 0]
    u = t * w
    return np.sum(np.sin(u)) + np.sum(c * c)
""",
        lambda r: {"x": r.standard_normal((3, 4)), "w": r.standard_normal((3, 4))},
        ["x", "w"],
        [],
        ["grad_x = grad_t * t\n"],
    ),
    "the array is returned": (
        """
def f(x: Float[np.ndarray, "N C"], w: Float[np.ndarray, "N C"]):
    t = np.exp(x)
    return np.sum(t * w), t
""",
        lambda r: {"x": r.standard_normal((3, 4)), "w": r.standard_normal((3, 4))},
        ["x", "w"],
        [],
        ["grad_x = grad_t * t\n"],
    ),
}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("name", CASES)
def test_written_over_and_still_right(name):
    body, make, wrt, written, kept = CASES[name]
    source = HEAD + textwrap.dedent(body)
    code = generate(source, "<test>", "f", wrt)
    for line in written:
        assert line in code, line
    flat = code.split("def f_value_and_grad")[1]
    for line in kept:
        assert line in flat, line
    forward = module_from_source(source, "over_forward")
    mod = module_from_source(code, "over_generated")
    ns: dict = {}
    text = source.replace("import numpy as np", "import autograd.numpy as np")
    exec(compile(text, "<autograd>", "exec"), ns)
    names = list(inspect.signature(forward.f).parameters)
    for seed in (0, 1):
        point = make(np.random.default_rng(seed))
        before = {k: np.copy(v) for k, v in point.items()}
        _, grads = mod.f_value_and_grad(**point)
        _, again = mod.f_value_and_grad(**point)
        for k in point:
            assert np.array_equal(point[k], before[k]), k  # inputs untouched
        grads = grads if isinstance(grads, tuple) else (grads,)
        again = again if isinstance(again, tuple) else (again,)
        out, cache = mod.f_forward(**point)
        seed_ = tuple(np.ones_like(o) for o in out) if isinstance(out, tuple) else 1.0
        back = mod.f_backward(*seed_, cache) if isinstance(out, tuple) else None
        back = back if back is None or isinstance(back, tuple) else (back,)

        def scalar(**a):
            r = forward.f(**a)
            return sum(np.sum(o) for o in r) if isinstance(r, tuple) else r

        def ag(*a):
            r = ns["f"](*a)
            return sum(autograd.numpy.sum(o) for o in r) if isinstance(r, tuple) else r

        for k, p in enumerate(wrt):
            ref = autograd.grad(ag, names.index(p))(*[point[n] for n in names])
            assert np.allclose(grads[k], ref, rtol=1e-9, atol=1e-11), p
            assert np.array_equal(grads[k], again[k]), p
            if back is not None:
                assert np.allclose(back[k], ref, rtol=1e-9, atol=1e-11), p
            expected = _central(scalar, point, p)
            assert np.allclose(grads[k], expected, rtol=1e-5, atol=1e-7), p


def test_float32_is_kept_and_matches_float64():
    source = HEAD + textwrap.dedent(CE)
    mod = module_from_source(generate(source, "<test>", "f", ["x"]), "over32")
    rng = np.random.default_rng(2)
    x, y = 3 * rng.standard_normal((6, 5)), rng.integers(0, 5, 6)
    _, g64 = mod.f_value_and_grad(x, y)
    _, g32 = mod.f_value_and_grad(x.astype(np.float32), y)
    assert g32.dtype == np.float32
    assert np.allclose(g32, g64, rtol=1e-4, atol=1e-5)
