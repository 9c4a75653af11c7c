"""Keyword-only parameters (``def f(x, *, eps=1e-5)``): the generated
functions declare them as the source does, helpers bind them by name only,
and `codegen verify` passes them by name; checked against central
differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

from codegen.checks.verify import verify_file
from codegen.errors import CodegenError

SOURCE = """import numpy as np


def norm(x, *, eps=1e-5):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.var(x, axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def layer(x, gamma, *, eps=1e-3, scale):
    return gamma * norm(x, eps=eps) * scale
"""


def test_the_generated_functions_declare_them_after_a_star():
    forward, generated, code = build(SOURCE, "layer")
    assert "def layer_forward(x, gamma, *, eps=1e-3, scale):" in code
    assert "def layer_value_and_grad(x, gamma, *, eps=1e-3, scale):" in code
    with pytest.raises(TypeError):
        generated.layer_forward(np.ones((2, 3)), np.ones(3), 1e-3, 2.0)


def test_their_gradients_match_central_differences():
    forward, generated, code = build(SOURCE, "layer")
    rng = np.random.default_rng(0)
    point = {"x": rng.standard_normal((2, 3)), "gamma": rng.standard_normal(3)}
    point["scale"] = 1.7
    out, grads = generated.layer_value_and_grad(**point)
    assert np.allclose(out, forward.layer(**point)), code

    def loss(**kw):
        return np.sum(forward.layer(**kw))

    for name, grad in zip(("x", "gamma", "scale"), grads, strict=True):
        assert np.allclose(grad, central(loss, point, name), atol=1e-6), name
    out2, _ = generated.layer_value_and_grad(**point, eps=0.5)
    assert np.allclose(out2, forward.layer(**point, eps=0.5)), code


def test_verify_passes_them_by_name(tmp_path):
    path = tmp_path / "layer.py"
    path.write_text(SOURCE)
    report = verify_file(path, "layer", shapes={"x": (2, 3), "gamma": (3,)})
    assert report.ok, report.summary()


@pytest.mark.parametrize(
    "call,message",
    [
        ("norm(x, 1e-3)", "takes 1 positional argument"),
        ("norm(x, eps=1e-3, tol=2)", "has no parameter 'tol'"),
    ],
)
def test_a_helper_binds_them_by_name_only(call, message):
    source = SOURCE + f"\n\ndef g(x):\n    return {call}\n"
    with pytest.raises(CodegenError, match=message):
        build(source, "g")


def test_positional_only_parameters_are_a_located_refusal():
    source = "import numpy as np\n\n\ndef f(x, /, y):\n    return x * y\n"
    with pytest.raises(CodegenError, match=r"<test>:4:7: error: positional-only"):
        build(source, "f")
