"""Writes into an array keep its dtype, as NumPy's do: ``z = np.arange(4);
z[0] = w`` truncates w, which then gets no gradient there; a float32 array
stays float32. Checked against the forward's value and dtype and against
central differences (codegen/core/flow.py decides what is provably
floating; elsewhere the backward asks at run time)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

HEADER = "import numpy as np\n\n\n"

# name: (params, body, point); `w` (and `x` where given) are differentiated
CASES: dict[str, tuple[str, str, dict]] = {
    "arange_item": (
        "w",
        "z = np.arange(4)\n    z[0] = w\n    return np.sum(z * w)",
        {"w": 1.7},
    ),
    "arange_add_item": (
        "w",
        "z = np.arange(4)\n    z[1] += w\n    return np.sum(z * w)",
        {"w": 1.7},
    ),
    "full_of_an_int": (
        "w",
        "z = np.full(3, 2)\n    z[1] = w\n    return z * w",
        {"w": 0.6},
    ),
    "int_list_array": (
        "w",
        "z = np.array([1, 2, 3])\n    z[1:] = w * 3.0\n    return np.sum(z[1:] * w)",
        {"w": np.array([0.9, -1.4])},
    ),
    "like_int_labels": (
        "w, y",
        "z = np.ones_like(y)\n    m = y > 0\n    z[m] = w[m] * 4.0\n    return z * w",
        {"w": np.array([0.3, -0.8, 1.9, 0.45]), "y": np.array([0, 2, 1, 0])},
    ),
    "copy_of_int_data": (
        "w, y",
        "z = y.copy()\n    z[0] = w\n    return z * w",
        {"w": 2.6, "y": np.array([3, 1, 2])},
    ),
    "copy_of_float_data": (
        "w, y",
        "z = y.copy()\n    z[0] = w\n    return z * w",
        {"w": 2.6, "y": np.array([3.0, 1.0, 2.0])},
    ),
    "eye_of_ints": (
        "w",
        "z = np.eye(3, dtype=int)[0]\n    z[0] = w[0]\n    z[1] += w[1]\n"
        "    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])},
    ),
    "where_of_int_literals": (
        "w",
        "z = np.where(w, 1, 0)\n    z[0] = w[0]\n    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])},
    ),
    # a parameter differentiated by default may still be given integers
    "int_data_in_a_differentiated_parameter": (
        "w, x",
        "z = x.copy()\n    z[0] = w[0]\n    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4]), "x": np.array([1, 2, 3])},
    ),
    "zeros_of_ints": (
        "w",
        "z = np.zeros(3, dtype=int)\n    z[0] = w[0]\n    z[1:] = w[1:] * 2.0\n"
        "    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])},
    ),
    "zeros_of_ints_positional": (
        "w",
        "z = np.zeros((3,), int)\n    z[0] = w[0]\n    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])},
    ),
    "ones_like_of_ints": (
        "w",
        "z = np.ones_like(w, dtype=int)\n    z[0] = w[0]\n    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])},
    ),
    "full_like_of_int_data": (
        "w, y",
        "z = np.full_like(y, w[1])\n    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4]), "y": np.array([1, 2, 3])},
    ),
    "empty_filled": (
        "w",
        "z = np.empty(3)\n    z[:] = w * 2.0\n    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])},
    ),
    "add_at_into_ints": (
        "w",
        "z = np.zeros(3, dtype=int)\n    np.add.at(z, [0, 0, 1], w * 1.0)\n"
        "    return np.sum(z * w)",
        {"w": np.array([1.7, 2.2, -0.4])[:1]},
    ),
    "zeros_float": (
        "w",
        "z = np.zeros(4)\n    z[1:3] = w\n    return np.sum(z * z)",
        {"w": np.array([0.5, -1.5])},
    ),
    "float32_destination": (
        "w, y",
        "z = y.copy()\n    z[1:] = w\n    return z * 2.0",
        {"w": np.array([0.1, 0.7]), "y": np.ones(3, np.float32)},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_write_keeps_the_destination_dtype(case):
    params, body, point = CASES[case]
    source = f"{HEADER}def f({params}):\n    {body}\n"
    wrt = ["w", "x"] if case.startswith("int_data") else ["w"]
    forward, generated, code = build(source, "f", wrt)
    expected = forward.f(**point)
    out, grad = generated.f_value_and_grad(**point)
    grad = grad[0] if len(wrt) > 1 else grad
    assert np.asarray(out).dtype == np.asarray(expected).dtype, code
    assert np.array_equal(out, expected), code

    def loss(**kw):
        return np.sum(forward.f(**kw))

    if np.asarray(expected).dtype == np.float32:
        return  # float32 central differences are too coarse; the value is exact
    numeric = central(loss, point, "w")
    assert np.allclose(grad, numeric, rtol=1e-6, atol=1e-8), code


def test_a_provably_floating_destination_asks_nothing_at_run_time():
    source = f"{HEADER}def f(w, x):\n    z = np.zeros(4)\n    z[1:3] = w\n    k = x * 1.0\n    k[0] = w[0]\n    return z * k\n"
    _, _, code = build(source, "f", ["w", "x"])
    assert "0.5)" not in code, code


def test_a_destination_of_unknown_dtype_asks():
    source = f"{HEADER}def f(w, y):\n    z = y.copy()\n    z[0] = w\n    return z * w\n"
    _, _, code = build(source, "f", ["w"])
    assert "np.result_type(z) == np.result_type(z, 0.5)" in code, code
