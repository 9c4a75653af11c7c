"""The lectures' numbers, from the generated backward modules in generated/."""

from __future__ import annotations

import math

import pytest

from codegen.checks.verify import load_module, verify_file
from conftest import ROOT

EXAMPLES = [
    ("neuron.py", "neuron"),
    ("circuit.py", "circuit"),
    ("forward_ab.py", "forward"),
    ("paraboloid.py", "paraboloid"),
    ("two_layer_scalar.py", "two_layer"),
]


def generated(name: str):
    return load_module(ROOT / "generated" / f"{name}_grad.py")


def test_circuit_lecture_values():
    # f = (x + y) z at (-2, 5, -4): df/dx = -4, df/dy = -4, df/dz = 3
    f, grads = generated("circuit").circuit_value_and_grad(-2.0, 5.0, -4.0)
    assert f == -12.0
    assert grads == (-4.0, -4.0, 3.0)


def test_forward_ab_lecture_values():
    # f = (a + b)(b + 1) at (2, 1) is 6 with gradient (2, 5)
    f, grads = generated("forward_ab").forward_value_and_grad(2.0, 1.0)
    assert f == 6.0
    assert grads == (2.0, 5.0)


def test_paraboloid_lecture_values():
    # grad z(5, 3) = (2x, 2y) = (10, 6)
    z, grads = generated("paraboloid").paraboloid_value_and_grad(5.0, 3.0)
    assert z == 34.0
    assert grads == (10.0, 6.0)


def test_neuron_lecture_values():
    # the slides: w = (2, -3, -3), x = (-1, -2): L = 0.73 and the gradients below
    L, grads = generated("neuron").neuron_value_and_grad(2.0, -1.0, -3.0, -2.0, -3.0)
    assert round(L, 2) == 0.73
    assert [round(g, 2) for g in grads] == [-0.20, 0.39, -0.39, -0.59, 0.20]


def test_two_layer_scalar_matches_the_slides_formulas():
    w1, w2, x, y = 0.7, -1.3, 0.4, 0.9
    L, (g_w1, g_w2, g_x, g_y) = generated("two_layer_scalar").two_layer_value_and_grad(
        w1, w2, x, y
    )
    sig = lambda a: 1 / (1 + math.exp(-a))  # noqa: E731
    h1 = sig(w1 * x)
    h2 = sig(w2 * h1)
    dL_dh2 = -(y - h2)
    dL_dh1 = dL_dh2 * w2 * h2 * (1 - h2)
    assert L == pytest.approx(0.5 * (y - h2) ** 2, rel=1e-12)
    assert g_w2 == pytest.approx(dL_dh2 * h1 * h2 * (1 - h2), rel=1e-12)
    assert g_w1 == pytest.approx(dL_dh1 * x * h1 * (1 - h1), rel=1e-12)
    assert g_y == pytest.approx(y - h2, rel=1e-12)
    assert g_x == pytest.approx(dL_dh1 * w1 * h1 * (1 - h1), rel=1e-12)


@pytest.mark.parametrize("filename,func", EXAMPLES)
def test_example_gradients_match_central_differences(filename, func):
    for seed in range(3):
        report = verify_file(ROOT / "examples" / filename, func, seed=seed)
        assert report.ok, report.summary()
