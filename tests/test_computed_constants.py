"""Module-level constants computed at import from numbers and earlier
constants (``H = 4 * D``, ``SCALE = 1 / math.sqrt(D)``, ``N = SHAPE[0]``):
codegen evaluates them as Python does (the file is never run), so the
generated module computes the forward's values; its gradients against
central differences. What Python could not compute at import, or what may
change, stays no constant (a located refusal)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

from codegen.errors import CodegenError

CASES = {
    "product": ("D = 4\nH = 2 * D\n", "return np.sum(x[:H - 5] * H)"),
    "rebinding": ("N = 3\nM = N\n", "return x * M"),
    "fraction": ("SCALE = 1 / 3\n", "return x * SCALE"),
    "power": ("LR = 10 ** -2\n", "return x * LR"),
    "math_of_a_constant": ("D = 4\nS = 1 / math.sqrt(D)\n", "return x * S"),
    "numpy_of_a_constant": ("D = 7\nS = np.sqrt(D) / np.pi\n", "return x * S"),
    "item_of_a_tuple": ("SHAPE = (2, 3)\nN = SHAPE[1]\n", "return x[:N] ** 2"),
    "tuple_of_computed": (
        "N = 2\nSHAPE = (N, 2 * N)\n",
        "return np.sum(x.reshape(SHAPE))",
    ),
    "floor_and_modulo": ("N = 7 // 2 + 7 % 3\n", "return x * N"),
    "cast": ("T = int(3.7)\nU = float(T) + 0.5\n", "return x * T * U"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_computed_constant_is_the_value_python_computes(case):
    pre, body = CASES[case]
    source = f"import math\n\nimport numpy as np\n\n{pre}\n\ndef f(x):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x"])
    x = np.random.default_rng(8).standard_normal(8)
    value, grad = generated.f_value_and_grad(x)
    assert np.array_equal(value, forward.f(x)), code  # the same operations
    ref = central(lambda x: np.sum(forward.f(x)), {"x": x}, "x")
    assert np.allclose(grad, ref, atol=1e-6), code


@pytest.mark.parametrize(
    "pre",
    [
        "M = N + 1\nN = 3\n",  # N is bound after M: Python raises at import
        "N = 3\nM = N * 2\nM = M + 1\n",  # bound twice
        "M = W * 2\nW = 3.0\n",
        "M = 10 ** 10 ** 9\n",  # no number Python computes in time
        "M = math.log(0.0)\n",  # raises at import
        "M = len('abc')\n",
        "FLAG = True\nM = FLAG * 2\n",
    ],
)
def test_what_python_would_not_compute_is_no_constant(pre):
    source = (
        f"import math\n\nimport numpy as np\n\n{pre}\n\ndef f(x):\n    return x * M\n"
    )
    with pytest.raises(CodegenError, match="'M' is not a constant codegen can read"):
        build(source, "f", ["x"])


@pytest.mark.parametrize(
    "body",
    [
        "assert x.ndim == 1, 'x must be 1-D'\n    return x * 2.0",
        "a = b = x * 2.0\n    b = b + 1.0\n    return a * b",
        "n = 7\n    n //= 2\n    n %= 2\n    return x * (n + 0.5)",
    ],
)
def test_statements_python_runs_as_written(body):
    """An assert (it computes nothing: skipped, as ``python -O`` does),
    chained assignment to names (one object, bound left to right), and
    ``//=`` and ``%=`` on numbers."""
    source = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x"])
    x = np.random.default_rng(9).standard_normal(3)
    value, grad = generated.f_value_and_grad(x)
    assert np.allclose(value, forward.f(x)), code
    ref = central(lambda x: np.sum(forward.f(x)), {"x": x}, "x")
    assert np.allclose(grad, ref, atol=1e-6), code
