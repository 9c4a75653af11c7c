"""Parameters with a default value are hyperparameters: no gradient by
default, `wrt` overrides, and the generated docstring says who was left out."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from codegen import CodegenError, generate
from codegen.cli import main
from codegen.core.params import default_wrt
from codegen.front.parse import parse
from codegen.checks.verify import module_from_source

DROPOUT_LAYER = textwrap.dedent("""
    import numpy as np


    def layer(x, w, y: int, reg=0.0, p=0.5, eps=1e-5):
        h = np.maximum(0, x @ w) * p
        L = np.sum(h * h) / (np.sum(h) + eps) + reg * np.sum(w * w)
        return L
""")


def _forward(x, w, reg=0.0, p=0.5, eps=1e-5):
    h = np.maximum(0, x @ w) * p
    return np.sum(h * h) / (np.sum(h) + eps) + reg * np.sum(w * w)


def _central(f, a, h=1e-6):
    g = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        up, down = a.copy(), a.copy()
        up[idx] += h
        down[idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


def test_default_wrt_leaves_out_integers_and_hyperparameters():
    fn = parse(DROPOUT_LAYER, "layer.py", "layer")
    assert default_wrt(fn) == ["x", "w"]


def test_generated_module_differentiates_only_the_inputs_and_says_why():
    code = generate(DROPOUT_LAYER, "layer.py", "layer")
    doc = code.split('"""')[1]
    assert "layer_backward(grad_L, cache) -> (grad_x, grad_w)" in doc
    assert doc.rstrip().endswith(
        "Not differentiated (name a parameter in wrt to differentiate it):\n"
        "    y: an integer (a label, size or stride)\n"
        "    reg: has a default value, so it is taken as a hyperparameter\n"
        "    p: has a default value, so it is taken as a hyperparameter\n"
        "    eps: has a default value, so it is taken as a hyperparameter"
    )
    mod = module_from_source(code, "layer")
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    out, (gx, gw) = mod.layer_value_and_grad(x, w, 0, 0.1, 0.5)  # eps at its default
    assert out == pytest.approx(_forward(x, w, 0.1, 0.5))
    np.testing.assert_allclose(
        gx, _central(lambda a: _forward(a, w, 0.1), x), rtol=1e-5, atol=1e-7
    )
    np.testing.assert_allclose(
        gw, _central(lambda a: _forward(x, a, 0.1), w), rtol=1e-5, atol=1e-7
    )


def test_wrt_overrides_the_default():
    code = generate(DROPOUT_LAYER, "layer.py", "layer", ["w", "reg"])
    assert "    x: not in wrt\n" in code and "    reg:" not in code
    mod = module_from_source(code, "layer")
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    _, (gw, greg) = mod.layer_value_and_grad(x, w, 0, 0.3)
    h = 1e-6
    numeric = (_forward(x, w, 0.3 + h) - _forward(x, w, 0.3 - h)) / (2 * h)
    assert greg == pytest.approx(numeric, rel=1e-6)
    np.testing.assert_allclose(
        gw, _central(lambda a: _forward(x, a, 0.3), w), rtol=1e-5, atol=1e-7
    )


def test_every_parameter_differentiated_adds_no_note():
    src = "def f(x, y):\n    z = x * y\n    return z\n"
    assert "Not differentiated" not in generate(src, "f.py")


def test_no_parameter_to_differentiate_is_a_clean_error(tmp_path, capsys):
    with pytest.raises(CodegenError, match="has no parameter to differentiate"):
        generate("def f(x=1.0):\n    y = x * x\n    return y\n", "f.py")
    path = tmp_path / "labels.py"
    path.write_text("def f(n: int):\n    y = n * 2\n    return y\n")
    assert main(["grad", f"{path}:f"]) == 2  # not an internal error
    err = capsys.readouterr().err
    assert (
        "'n' is an integer" in err
        and "hint: name the parameters to differentiate" in err
    )


def test_verify_runs_a_hyperparameter_at_its_default(tmp_path, capsys):
    path = tmp_path / "bn.py"
    path.write_text(textwrap.dedent("""
        import numpy as np


        def bn(x, gamma, beta, eps=1e-5):
            mu = np.mean(x, axis=0)
            xc = x - mu
            var = np.mean(xc * xc, axis=0)
            out = gamma * xc / np.sqrt(var + eps) + beta
            return out
    """))
    argv = ["verify", f"{path}:bn", "--shape", "x=4,3", "gamma=3", "beta=3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "x " in out and "gamma" in out and "beta" in out and "eps" not in out


def test_divmod_of_floats_differentiates_both_operands():
    """``//`` names a size only where its result is one (a shape, an index):
    divmod(t, period) of floats keeps both gradients, checked against
    central differences of the forward itself."""
    source = (
        "import math\n\n\ndef f(t, period):\n"
        "    q, r = divmod(t, period)\n    return r * math.exp(t) + q\n"
    )
    fn = parse(source, "m.py", "f")
    assert default_wrt(fn) == ["t", "period"]
    generated = module_from_source(generate(source, "m.py", "f"), "divmod_floats")
    forward = module_from_source(source, "divmod_user").f
    t, period, h = 2.3, 0.7, 1e-6
    _, (g_t, g_period) = generated.f_value_and_grad(t, period)
    num_t = (forward(t + h, period) - forward(t - h, period)) / (2 * h)
    num_p = (forward(t, period + h) - forward(t, period - h)) / (2 * h)
    assert g_t == pytest.approx(num_t, rel=1e-6)
    assert g_period == pytest.approx(num_p, rel=1e-6)
