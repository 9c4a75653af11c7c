"""codegen explain: the lectures' numbers, row by row, against independent references."""

from __future__ import annotations

import io
import json
import math
import re
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT, example_shapes

import codegen
from codegen.cli import main
from codegen.learn.explain import (
    explain_source,
    format_value,
    json_value,
    render_text,
    use_color,
)
from codegen.checks.verify import load_module

NEURON = str(ROOT / "examples" / "neuron.py") + ":neuron"
CIRCUIT = str(ROOT / "examples" / "circuit.py") + ":circuit"
TWO_LAYER = str(ROOT / "examples" / "two_layer_scalar.py") + ":two_layer"
SLIDES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def _sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def _central(f, point: dict[str, float], name: str, h: float = 1e-6) -> float:
    """Central difference of a plain Python `f` along parameter `name`."""
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    return (f(**up) - f(**down)) / (2 * h)


def _row(ex, code_start: str):
    rows = [r for r in ex.backward if r.code.startswith(code_start)]
    assert len(rows) == 1, [r.code for r in ex.backward]
    return rows[0]


def _value(ex, name: str):
    return next(r.value for r in ex.forward if r.name == name)


# ----- the slides' numbers -----


def test_neuron_reproduces_the_slides():
    ex = codegen.explain(NEURON, SLIDES)
    d = ex.digits
    assert format_value(_value(ex, "s3"), d) == "1.00"
    assert format_value(_value(ex, "L"), d) == "0.73"
    sig = _row(ex, "grad_s3 =")
    # [downstream] = [local] x [upstream] = (1 - 0.73) * 0.73 * 1.00 = 0.20
    assert (
        format_value(sig.upstream_value, d),
        format_value(sig.local, d),
        format_value(sig.downstream, d),
    ) == ("1.00", "0.20", "0.20")
    shown = {g: format_value(v, d) for _, g, v in ex.gradients}
    assert shown == {
        "grad_w0": "-0.20",
        "grad_x0": "0.39",
        "grad_w1": "-0.39",
        "grad_x1": "-0.59",
        "grad_w2": "0.20",
    }


def test_neuron_gradients_match_central_differences():
    def neuron(w0, x0, w1, x1, w2):
        return _sigmoid(w0 * x0 + w1 * x1 + w2)

    ex = codegen.explain(NEURON, SLIDES)
    for param, _, value in ex.gradients:
        assert value == pytest.approx(_central(neuron, SLIDES, param), rel=1e-6)


def test_circuit_reproduces_the_slides():
    ex = codegen.explain(CIRCUIT, {"x": -2, "y": 5, "z": -4})
    assert (_value(ex, "q"), _value(ex, "f")) == (3.0, -12.0)
    assert ex.grads["q"] == -4.0
    assert {p: v for p, _, v in ex.gradients} == {"x": -4.0, "y": -4.0, "z": 3.0}
    # add distributes: both inputs of q receive grad_q; mul swaps: grad_z = grad_f * q
    assert [(r.grad, r.local) for r in ex.backward] == [
        ("grad_z", 3.0),
        ("grad_q", -4.0),
        ("grad_x", 1.0),
        ("grad_y", 1.0),
    ]


def test_two_layer_net_matches_the_hand_derived_formulas():
    w1, w2, x, y = 0.7, -1.3, 0.4, 0.9
    ex = codegen.explain(TWO_LAYER, {"w1": w1, "w2": w2, "x": x, "y": y})
    h1 = _sigmoid(w1 * x)
    h2 = _sigmoid(w2 * h1)
    dL_dh2 = -(y - h2)
    dL_dh1 = dL_dh2 * h2 * (1 - h2) * w2
    assert _value(ex, "h1") == pytest.approx(h1)
    assert _value(ex, "h2") == pytest.approx(h2)
    assert ex.result == pytest.approx(0.5 * (y - h2) ** 2)
    assert ex.grads["h2"] == pytest.approx(dL_dh2)
    assert ex.grads["h1"] == pytest.approx(dL_dh1)
    grads = {p: v for p, _, v in ex.gradients}
    assert grads["w2"] == pytest.approx(dL_dh2 * h1 * h2 * (1 - h2))
    assert grads["w1"] == pytest.approx(dL_dh1 * x * h1 * (1 - h1))
    assert grads["x"] == pytest.approx(dL_dh1 * w1 * h1 * (1 - h1))
    assert grads["y"] == pytest.approx(y - h2)


@pytest.mark.parametrize("target", [NEURON, CIRCUIT, TWO_LAYER])
def test_downstream_is_local_times_upstream(target):
    ex = codegen.explain(target, seed=3)
    assert ex.backward
    for r in ex.backward:
        assert r.downstream == pytest.approx(
            r.local * r.upstream_value, rel=1e-12
        ), r.code


# ----- branches: the copy gate adds -----

FANOUT = textwrap.dedent("""
    def f(x, y):
        a = x * y
        b = a + 3 * x
        c = b + x
        return c
""")


def test_a_value_used_three_times_sums_its_gradients():
    ex = explain_source(FANOUT, at={"x": 5, "y": 2})
    rows = [r for r in ex.backward if r.grad == "grad_x"]
    assert [r.accumulate for r in rows] == [False, True, True]
    assert [r.downstream for r in rows] == [1.0, 3.0, 2.0]
    assert [r.total for r in rows] == [1.0, 4.0, 6.0]
    point = {"x": 5.0, "y": 2.0}
    f = lambda x, y: x * y + 3 * x + x  # noqa: E731
    assert ex.grads["x"] == pytest.approx(_central(f, point, "x"))
    text = str(ex)
    assert "grad_x += grad_a * y" in text
    assert "grad_x = 6.00" in text


# ----- arrays -----

ARRAYS = textwrap.dedent("""
    import numpy as np


    def f(x, w):
        y = x * w
        L = y * y + x
        return L
""")


def test_arrays_show_shape_and_summary():
    ex = explain_source(ARRAYS, at={"x": 0.5}, shapes={"x": (3,), "w": (2, 3)})
    assert np.all(ex.point["x"] == 0.5) and ex.point["w"].shape == (2, 3)
    assert ex.drawn == ("w",)
    text = str(ex)
    assert "array[2x3] norm" in text and "array[3] norm" in text
    assert "grad_x = grad_x + " in text  # arrays accumulate out of place
    # seeded with ones: dL/dx = sum over rows of (2 y w + 1), dL/dw = 2 y x
    x, w = ex.point["x"], ex.point["w"]
    y = x * w
    grads = {p: v for p, _, v in ex.gradients}
    np.testing.assert_allclose(grads["x"], np.sum(2 * y * w + 1, axis=0))
    np.testing.assert_allclose(grads["w"], 2 * y * x)


def test_numpy_calls_are_explained():
    src = textwrap.dedent("""
        import numpy as np


        def f(x, w):
            y = np.tanh(x * w)
            L = np.sum(y)
            return L
    """)
    x, w = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.25, -0.5])
    ex = explain_source(src, at={"x": x, "w": w})
    assert ex.result == pytest.approx(np.sum(np.tanh(x * w)))
    tanh = _row(ex, "grad_y_mul =")
    np.testing.assert_allclose(tanh.local, 1 - np.tanh(x * w) ** 2)  # elementwise local
    grads = {p: v for p, _, v in ex.gradients}
    np.testing.assert_allclose(grads["x"], (1 - np.tanh(x * w) ** 2) * w)
    np.testing.assert_allclose(grads["w"], (1 - np.tanh(x * w) ** 2) * x)
    assert "array[3] norm" in str(ex)


def test_format_value_summarises_arrays():
    a = np.array([[3.0, -4.0], [0.0, 0.0]])
    assert format_value(a) == "array[2x2] norm 5.00, min -4.00, max 3.00"
    assert format_value(a, short=True) == "[2x2] norm 5.00"
    assert json_value(a) == {"shape": [2, 2], "norm": 5.0, "min": -4.0, "max": 3.0}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.7310585786300049, "0.73"),
        (-0.0, "0.00"),
        (1e-5, "1.00e-05"),
        (-12.0, "-12.00"),
        (-12, "-12"),
        (True, "True"),
        (float("nan"), "nan"),
        (2.5e7, "2.50e+07"),
        (np.int64(5), "5"),
        ((5, 4), "(5, 4)"),
        (slice(None, 2), "slice(None, 2, None)"),
        ((slice(None), 1), "(slice(None, None, None), 1)"),
    ],
)
def test_format_value_scalars(value, text):
    assert format_value(value) == text


def test_json_value_keeps_full_precision_and_names_non_finite_numbers():
    assert json_value(0.7310585786300049) == 0.7310585786300049
    assert json_value(float("inf")) == "inf"


# ----- the command -----


def test_cli_prints_forward_and_backward_tables(capsys):
    argv = ["explain", NEURON, "--at", *(f"{k}={v}" for k, v in SLIDES.items())]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a terminal: no colour
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "14 s3 = s2 + w2 1.00" in lines
    assert "L = 1.0 / (1.0 + math.exp(-s3)) 0.73" in lines
    assert "grad_s3 = grad_L * (1 - L) * L grad_L = 1.00 0.20 0.20" in lines
    assert "grad_x1 = grad_s1 * w1 grad_s1 = 0.20 -3.00 -0.59" in lines
    assert "grad_w0 -0.20" in lines


def test_readme_shows_the_current_output(capsys):
    readme = (ROOT / "README.md").read_text()
    command = "$ codegen explain examples/neuron.py:neuron --at w0=2 x0=-1 w1=-3 x1=-2 w2=-3\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    at = [f"{k}={v}" for k, v in SLIDES.items()]
    argv = ["explain", "examples/neuron.py:neuron", "--at", *at]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        assert main(argv) == 0
    assert capsys.readouterr().out == shown


def test_cli_json(capsys):
    assert (
        main(["explain", CIRCUIT, "--at", "x=-2", "y=5", "z=-4", "--format", "json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["result"] == {"name": "f", "value": -12.0}
    assert {p: g["value"] for p, g in data["gradients"].items()} == {
        "x": -4.0,
        "y": -4.0,
        "z": 3.0,
    }
    codes = [r["code"] for r in data["backward"]]
    assert codes[:2] == ["grad_z = grad_f * q", "grad_q = grad_f * z"]
    assert data["drawn"] == []


def test_random_values_are_drawn_and_reported(capsys):
    assert (
        main(["explain", CIRCUIT, "--at", "x=1", "--seed", "5", "--format", "json"])
        == 0
    )
    first = json.loads(capsys.readouterr().out)
    assert first["drawn"] == ["y", "z"] and first["point"]["x"] == 1.0
    assert all(-2 < first["point"][p] < 2 for p in ("y", "z"))
    assert (
        main(["explain", CIRCUIT, "--at", "x=1", "--seed", "5", "--format", "json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["point"] == first["point"]


def test_colours_values_green_and_gradients_red():
    ex = codegen.explain(NEURON, SLIDES)
    text = render_text(ex, color=True)
    assert re.search(r"\x1b\[32m *0\.73\x1b\[0m", text)  # the value of L, green
    assert re.search(r"\x1b\[31m *-0\.59\x1b\[0m", text)  # grad_x1, red


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(_Tty()) and not use_color(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Tty())


# ----- bad input: located errors, no traceback -----


def test_a_failing_point_is_a_located_error(tmp_path, capsys):
    src = tmp_path / "logf.py"
    src.write_text("import math\n\n\ndef f(x):\n    y = math.log(x)\n    return y\n")
    assert main(["explain", f"{src}:f", "--at", "x=-1"]) == 2
    err = capsys.readouterr().err
    assert (
        f"{src}:5:9: error: at this point, 'y = math.log(x)' fails: ValueError" in err
    )
    assert "^~~~~~~~~~~" in err and "hint: choose another point with --at" in err
    assert "Traceback" not in err


def test_digits(capsys):
    assert (
        main(["explain", CIRCUIT, "--at", "x=-2", "y=5.125", "z=-4", "--digits", "4"])
        == 0
    )
    assert "5     q = x + y       3.1250\n" in capsys.readouterr().out
    assert main(["explain", CIRCUIT, "--digits", "-1"]) == 2
    assert "cannot show -1 digits" in capsys.readouterr().err


def test_unknown_parameter_in_at(capsys):
    assert main(["explain", CIRCUIT, "--at", "q=1"]) == 2
    err = capsys.readouterr().err
    assert "--at names 'q', which is not a parameter of 'circuit'" in err
    assert "hint: parameters: x, y, z" in err


EXAMPLES = [
    "affine",
    "attention",
    "circuit",
    "forward_ab",
    "layer_norm",
    "logistic_regression",
    "neuron",
    "paraboloid",
    "relu",
    "softmax_loss",
    "svm_loss",
    "two_layer_net",
    "two_layer_scalar",
]


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_matches_central_differences_of_its_own_forward(name):
    path = ROOT / "examples" / f"{name}.py"
    ex = codegen.explain(str(path), shapes=example_shapes(name), seed=2)
    forward = getattr(load_module(path), ex.fn.name)
    args = dict(ex.point)

    def phi(**kw):  # the explanation seeds the backward with ones
        return float(np.sum(forward(**kw)))

    for param, _, grad in ex.gradients:
        x = np.asarray(args[param], dtype=float)
        numeric = np.zeros(x.shape)
        for idx in np.ndindex(*x.shape):
            h = 1e-6 * max(1.0, abs(float(x[idx])))
            up, down = x.copy(), x.copy()
            up[idx] += h
            down[idx] -= h
            as_arg = (lambda v: v) if x.shape else float
            numeric[idx] = (
                phi(**{**args, param: as_arg(up)})
                - phi(**{**args, param: as_arg(down)})
            ) / (2 * h)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6, err_msg=param)


# ----- the Python API -----


def test_explain_takes_a_function_or_source_text(tmp_path):
    path = tmp_path / "circuit_copy.py"
    path.write_text((ROOT / "examples" / "circuit.py").read_text())
    function = load_module(path).circuit
    point = {"x": -2, "y": 5, "z": -4}
    by_function = codegen.explain(function, point)
    by_text = codegen.explain(path.read_text(), point)
    assert by_function.fn.name == by_text.fn.name == "circuit"
    assert (
        by_function.gradients
        == by_text.gradients
        == [("x", "grad_x", -4.0), ("y", "grad_y", -4.0), ("z", "grad_z", 3.0)]
    )


def test_explain_html_for_jupyter():
    html = codegen.explain(CIRCUIT, {"x": -2, "y": 5, "z": -4})._repr_html_()
    assert "<table>" in html and "#cf222e" in html and "#1a7f37" in html
    assert "<code>-12.00</code>" in html and "grad_q = grad_f * z" in html


# ----- the core install: no rich -----


def test_plain_tables_and_colour_need_no_extra_package(monkeypatch, capsys):
    for name in ("rich", "rich.console", "rich.table", "rich.text"):
        monkeypatch.setitem(sys.modules, name, None)  # `import rich` fails
    argv = ["explain", NEURON, "--at", *(f"{k}={v}" for k, v in SLIDES.items())]
    assert main(argv) == 0
    lines = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "grad_x1 = grad_s1 * w1 grad_s1 = 0.20 -3.00 -0.59" in lines
    coloured = render_text(codegen.explain(NEURON, SLIDES), color=True)
    assert re.search(r"\x1b\[31m *-0\.59\x1b\[0m", coloured)


# ----- arrays in an 80-column terminal -----

WIDE = textwrap.dedent("""
    import numpy as np


    def f(x, w):
        y = x * w
        L = y * y + x
        return L
""")

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("color", [False, True])
def test_arrays_in_80_columns_show_every_value(color):
    ex = explain_source(WIDE, shapes={"x": (3,), "w": (2, 3)}, seed=1)
    text = _ANSI.sub("", render_text(ex, color=color, width=80))
    assert "…" not in text
    for line in text.splitlines():
        assert len(line) <= 80, line
    d = ex.digits
    shown = [format_value(r.value, d) for r in ex.forward]
    for r in ex.backward:
        shown += [format_value(r.upstream_value, d), format_value(r.downstream, d)]
        if r.local is not None:
            shown.append(format_value(r.local, d))
        if r.accumulate:
            shown.append(format_value(r.total, d))
    shown += [format_value(v, d) for _, _, v in ex.gradients]
    shown += [format_value(v, d) for v in ex.point.values()]
    flat = " ".join(text.split())
    for value in shown:
        assert value in flat, value
    # a row too wide for the terminal goes on labelled lines under its code
    assert re.search(r"^ +downstream +array\[3\] norm", text, re.M)


def test_wide_enough_terminals_and_pipes_keep_the_columns():
    ex = explain_source(WIDE, shapes={"x": (3,), "w": (2, 3)}, seed=1)
    assert render_text(ex, width=1000) == render_text(ex)
    assert not re.search(r"^ +downstream ", render_text(ex), re.M)


def test_the_command_fits_the_terminal(monkeypatch, capsys, tmp_path):
    src = tmp_path / "wide.py"
    src.write_text(WIDE)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    assert main(["explain", f"{src}:f", "--shape", "x=3", "w=2,3"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out and max(len(line) for line in out.splitlines()) <= 80


# ----- parameters with a default value are hyperparameters -----

BATCHNORM = textwrap.dedent("""
    import numpy as np


    def bn(x, gamma, beta, eps=1e-5):
        mu = np.mean(x, axis=0)
        xc = x - mu
        var = np.mean(xc * xc, axis=0)
        out = gamma * xc / np.sqrt(var + eps) + beta
        return out
""")


def _bn(x, gamma, beta, eps):
    xc = x - x.mean(axis=0)
    return gamma * xc / np.sqrt((xc * xc).mean(axis=0) + eps) + beta


def test_a_hyperparameter_keeps_its_default_and_gets_no_gradient():
    ex = explain_source(BATCHNORM, shapes={"x": (4, 3), "gamma": (3,), "beta": (3,)})
    assert [p for p, _, _ in ex.gradients] == ["x", "gamma", "beta"]
    assert ex.point["eps"] == 1e-5 and "eps" not in ex.drawn
    x, gamma, beta = ex.point["x"], ex.point["gamma"], ex.point["beta"]
    np.testing.assert_allclose(ex.result, _bn(x, gamma, beta, 1e-5), rtol=1e-12)
    # gamma's gradient against central differences of the reference forward
    grads = {p: v for p, _, v in ex.gradients}
    numeric = np.zeros(3)
    for j in range(3):
        up, down = gamma.copy(), gamma.copy()
        up[j] += 1e-6
        down[j] -= 1e-6
        numeric[j] = (
            _bn(x, up, beta, 1e-5).sum() - _bn(x, down, beta, 1e-5).sum()
        ) / 2e-6
    np.testing.assert_allclose(grads["gamma"], numeric, rtol=1e-5, atol=1e-6)


SMOOTH_ABS = textwrap.dedent("""
    import numpy as np


    def f(x, eps=1e-3):
        y = np.sqrt(x * x + eps)
        L = np.sum(y)
        return L
""")


def test_wrt_differentiates_a_hyperparameter():
    assert [
        p for p, _, _ in explain_source(SMOOTH_ABS, shapes={"x": (3,)}).gradients
    ] == ["x"]
    ex = explain_source(
        SMOOTH_ABS, wrt=["x", "eps"], at={"eps": 0.5}, shapes={"x": (3,)}
    )
    grads = {p: v for p, _, v in ex.gradients}
    x, h = ex.point["x"], 1e-6

    def f(eps):
        return np.sum(np.sqrt(x * x + eps))

    assert grads["eps"] == pytest.approx((f(0.5 + h) - f(0.5 - h)) / (2 * h), rel=1e-6)
    np.testing.assert_allclose(grads["x"], x / np.sqrt(x * x + 0.5), rtol=1e-12)


def test_a_forward_with_no_step_explains_with_empty_tables(tmp_path, capsys):
    path = tmp_path / "ident.py"
    path.write_text("def f(x):\n    return x\n")
    assert main(["explain", f"{path}:f", "--at", "x=2.0"]) == 0
    out = capsys.readouterr().out
    assert "f(x=2.00) = 2.00" in out and re.search(r"grad_x +1\.00", out)


@pytest.mark.parametrize("command", ["explain", "verify"])
def test_wrt_naming_an_integer_label_is_bad_input(command, capsys):
    target = str(ROOT / "examples" / "softmax_loss.py") + ":softmax_loss"
    assert main([command, target, "--wrt", "y"]) == 2
    err = capsys.readouterr().err
    assert "--wrt names y, which softmax_loss uses as an integer" in err
    assert "internal error" not in err


def test_a_forward_with_several_outputs_shows_them_all(capsys):
    target = str(ROOT / "examples" / "lstm_step.py") + ":lstm_step"
    shapes = ["x=3,2", "prev_h=3,2", "prev_c=3,2", "Wx=2,8", "Wh=2,8", "b=8"]
    assert main(["explain", target, "--shape", *shapes, "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["name"] == "next_h, next_c" and len(result["value"]) == 2
