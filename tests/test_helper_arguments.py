"""Helper calls bind arguments as Python does: by position, by keyword, and
a parameter's default (module constants as the helper's module sees them),
checked against central differences; what Python would refuse is refused,
located."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError
from conftest import build

SOURCE = """
import numpy as np

SCALE = 2.0


def affine(x, w, b, scale=SCALE, axis=1, shift=-0.5):
    return np.sum(x @ w + b, axis=axis) * scale + shift


def f(x, w, b):
    SCALE = x[0, 0] * 3.0  # a local: the helper's default still reads the module's
    y = affine(x, w=w, b=b)
    z = affine(x, w, b=b, axis=0)
    u = affine(b=b, w=w, x=x, scale=SCALE)
    return np.sum(y * y) + np.sum(z) + np.sum(u)
"""


def test_keywords_and_defaults_bind_as_in_python():
    forward, generated, code = build(SOURCE, "f")
    rng = np.random.default_rng(3)
    point = {
        "x": rng.standard_normal((3, 4)),
        "w": rng.standard_normal((4, 5)),
        "b": rng.standard_normal(5),
    }
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "w", "b"],
        point,
        ["x", "w", "b"],
    )
    assert report.ok, report.summary()
    value, _ = generated.f_forward(**point)
    assert np.allclose(value, forward.f(**point))


@pytest.mark.parametrize(
    "call, message",
    [
        ("g(x, k=x)", "'g' has no parameter 'k'"),
        ("g(x, x=x)", "'g' got two values for its parameter 'x'"),
        ("g()", "gives no value for its parameter 'x'"),
        ("g(x, x, x, x)", "'g' takes 3 positional argument(s), got 4"),
        ("g(*[x])", "star-arguments are not supported in helper calls"),
    ],
)
def test_what_python_refuses_is_refused_located(call, message):
    source = (
        "def g(x, a=1.0, b=2.0):\n    return x * a + b\n\n\n"
        f"def f(x):\n    y = {call}\n    return y\n"
    )
    with pytest.raises(CodegenError) as err:
        build(source, "f")
    assert message in str(err.value)
    assert ":6:" in str(err.value)  # the line of the call


@pytest.mark.parametrize(
    "forward",
    [
        # a parameter of the function has the constant's name
        "def f(x, K):\n    return g(x) * K\n",
        # a local of the function has the constant's name
        "def f(x):\n    K = x * 4.0\n    return g(x) + K\n",
    ],
)
def test_a_module_constant_read_in_a_helper_is_not_hidden_by_a_local(forward):
    source = f"K = 3.0\n\n\ndef g(x):\n    return x * K\n\n\n{forward}"
    module, generated, code = build(source, "f")
    params = ["x", "K"] if "x, K" in forward else ["x"]
    point = dict(zip(params, [1.25, -0.5], strict=False))
    report = check_gradients(
        module.f, (generated.f_forward, generated.f_backward), params, point, params
    )
    assert report.ok, report.summary()
    assert np.isclose(generated.f_forward(*point.values())[0], module.f(**point))


HELPERS_RETURNING_TUPLES = {
    "unpacked": (
        "def stats(x):\n    mu = np.mean(x, axis=0)\n    var = np.var(x, axis=0)\n"
        "    return mu, var\n\n\ndef f(x):\n    m, v = stats(x)\n"
        "    return (x - m) / np.sqrt(v + 1e-5)\n"
    ),
    "indexed": (
        "def two(x):\n    return x * 2, x**2\n\n\ndef f(x):\n    t = two(x)\n"
        "    return np.sum(t[0] * t[1])\n"
    ),
    "bound_to_a_name": (
        "def two(x):\n    t = (x * 2, np.sin(x))\n    return t\n\n\n"
        "def f(x):\n    a, b = two(x)\n    return np.sum(a * b)\n"
    ),
    "nested_and_called_twice": (
        "def two(x):\n    return x * 2, x**2\n\n\ndef four(x):\n    a, b = two(x)\n"
        "    c, d = two(b + 1.0)\n    return a, d\n\n\ndef f(x):\n    p, q = four(x)\n"
        "    return np.sum(p * q)\n"
    ),
}


@pytest.mark.parametrize("case", sorted(HELPERS_RETURNING_TUPLES))
def test_a_helper_returning_a_tuple_is_unpacked_by_its_caller(case):
    source = "import numpy as np\n\n\n" + HELPERS_RETURNING_TUPLES[case]
    forward, generated, code = build(source, "f", ["x"])
    point = {"x": np.random.default_rng(2).standard_normal((4, 3))}
    assert np.allclose(generated.f_forward(**point)[0], forward.f(**point)), code
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, ["x"], point, ["x"], "f")
    assert report.ok, report.summary() + "\n" + code
