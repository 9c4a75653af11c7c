"""NumPy scalars, 0-d arrays and Python floats where scalar code expects
numbers: what the forward accepts, the generated module accepts, with the
forward's values; gradients against central differences, or, at a jump's
edge, against the quotient the forward's own remainder implies."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import build
from references import central

SCALARS = [np.float64(-1.3), np.float32(-1.3), np.array(-1.3), -1.3, np.int64(-2)]


@pytest.mark.parametrize(
    "source",
    [
        "import math\n\n\ndef f(x, y):\n    return abs(x) * y\n",
        "import math\n\n\ndef f(x, y):\n    return math.fabs(x) * y\n",
        "import math\n\n\ndef f(x, y):\n    return math.fmod(x, y) * x\n",
        "import numpy as np\n\n\ndef f(x: float, y: float):\n    return np.abs(x) * y\n",
        "import numpy as np\n\n\ndef f(x: float, y: float):\n    return abs(x) * y\n",
        "import numpy as np\n\n\ndef f(x: float, y: float):\n    return np.fmod(x, y) * x\n",
    ],
)
@pytest.mark.parametrize("x", SCALARS, ids=lambda v: type(v).__name__)
def test_scalar_code_takes_numpy_scalars(source, x):
    forward, generated, code = build(source, "f", ["x", "y"])
    value, grads = generated.f_value_and_grad(x, 2.1)
    assert np.isclose(value, forward.f(x, 2.1), rtol=1e-6), code
    point = {"x": float(x), "y": 2.1}
    for name, grad in zip(["x", "y"], grads):
        want = central(lambda **kw: forward.f(**kw), point, name)
        assert np.isclose(grad, want, rtol=1e-5), (name, code)


@pytest.mark.parametrize(
    "call,want",
    [
        ("np.mod(x, y) * x", np.nan),
        ("np.remainder(x, y) + x", np.nan),
        ("np.fmod(x, y) + x", np.nan),
        ("np.floor_divide(x, y) + x", np.inf),
        ("np.divmod(x, y)[0] + x", np.inf),
    ],
)
def test_python_floats_at_a_zero_divisor_give_numpys_inf_or_nan(call, want):
    source = f"import numpy as np\n\n\ndef f(x, y):\n    return {call}\n"
    forward, generated, code = build(source, "f", ["x", "y"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value, _ = generated.f_value_and_grad(1.5, 0.0)
        assert np.array_equal(forward.f(1.5, 0.0), want, equal_nan=True)
    assert np.array_equal(value, want, equal_nan=True), code


@pytest.mark.parametrize("fn", ["np.mod", "np.fmod"])
@pytest.mark.parametrize("x,y", [(1.0, 0.1), (-1.0, 0.1), (0.7, 0.1), (5.0, -0.3)])
def test_a_remainders_gradient_is_the_quotient_it_used(fn, x, y):
    """d(x - n y)/dy = -n for the n the remainder took: at 1 % 0.1, n is 9
    (0.1 is a little above a tenth), where np.floor(1 / 0.1) is 10."""
    source = f"import numpy as np\n\n\ndef f(x, y):\n    return {fn}(x, y)\n"
    forward, generated, code = build(source, "f", ["x", "y"])
    value, (gx, gy) = generated.f_value_and_grad(x, y)
    n = round((x - forward.f(x, y)) / y)
    assert value == forward.f(x, y) and gx == 1.0 and gy == -n, code
