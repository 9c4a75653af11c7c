"""Dicts of settings (cs231n's ``conv_param["stride"]``): a parameter read by
constant string keys is not differentiated, each entry is a value without
gradient of whatever type and shape the caller passes; gradients checked
against central differences."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.checks.verify import check_gradients, verify_file
from codegen.options import parse_values
from codegen.errors import CodegenError
from conftest import build

CONV = """
import numpy as np


def conv_forward(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    y = xp[:, :, ::stride, ::stride] * w + b * conv_param["scale"]
    return np.sum(y * y)
"""


@pytest.mark.parametrize("stride, pad", [(1, 0), (2, 1), (3, 2)])
def test_entries_steer_the_forward_and_carry_no_gradient(tmp_path, stride, pad):
    path = tmp_path / "conv.py"
    path.write_text(CONV)
    settings = {"stride": stride, "pad": pad, "scale": 0.5}
    report = verify_file(
        path,
        "conv_forward",
        at={"conv_param": settings},
        shapes={"x": (2, 3, 5, 5), "w": (1,), "b": (1,)},
    )
    assert report.ok, report.summary()
    assert [p.name for p in report.params] == ["x", "w", "b"]


def test_the_generated_docstring_says_why_it_has_no_gradient():
    _, generated, code = build(CONV, "conv_forward")
    assert "conv_param: a dict of settings (read by constant keys)" in code
    assert 'stride = conv_param["stride"]' in code


def test_an_entry_may_be_an_array_of_any_shape():
    source = "import numpy as np\n\ndef f(x, opts):\n    return np.sum(x * opts['mask'] + opts['shift'])\n"
    forward, generated, _ = build(source, "f")
    rng = np.random.default_rng(2)
    opts = {"mask": rng.random((3, 1)) > 0.5, "shift": rng.standard_normal(4)}
    point = {"x": rng.standard_normal((3, 4)), "opts": opts}
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "opts"],
        point,
        ["x"],
    )
    assert report.ok, report.summary()


@pytest.mark.parametrize(
    "body, message",
    [
        ("    return x * p", "'p' is a dict of settings"),
        ("    k = 'a'\n    return x * p[k]", "'p' is a dict of settings"),
        ("    return x * p['a'] + p[0]", "index it with one string literal"),
    ],
)
def test_other_uses_of_the_dict_are_refused_located(body, message):
    source = f"def f(x, p):\n    y = x * p['a']\n{body}\n"
    with pytest.raises(CodegenError) as err:
        build(source, "f")
    line = 2 + body.count("\n") + 1  # the last line of the body
    assert message in str(err.value) and f":{line}:" in str(err.value)


def test_asking_for_its_gradient_is_refused():
    with pytest.raises(CodegenError, match="'p' is a dict of settings"):
        build("def f(x, p):\n    return x * p['a']\n", "f", wrt=["x", "p"])


def test_verify_asks_for_the_entries_it_cannot_guess(tmp_path):
    path = tmp_path / "conv.py"
    path.write_text(CONV)
    with pytest.raises(CodegenError, match="'scale' is not given") as err:
        verify_file(
            path,
            "conv_forward",
            at={"conv_param": {"stride": 1, "pad": 0}},
            shapes={"x": (1, 1, 3, 3), "w": (1,), "b": (1,)},
        )
    assert "conv_param.stride=..." in str(err.value)


def test_at_takes_entries_with_a_dot():
    assert parse_values(["p.stride=2", "p.scale=0.5", "x=1.5"]) == {
        "p": {"stride": 2, "scale": 0.5},
        "x": 1.5,
    }
