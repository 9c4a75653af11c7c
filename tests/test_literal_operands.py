"""Lists and tuples written out as operands (``x ** [1, 2, 3]``,
``np.inner(x, [1.0, 2.0, 3.0])``, ``c = [1, 2, 3]; x ** c``) are arrays to
NumPy, and so to the adjoints (their rank and their arithmetic); and masks
that are 0-d (``x[x > 0]`` of a 0-d x, ``z[np.sum(x) > 0] += 1.0``) select
all or nothing. Checked against the forward's value and central
differences."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

HEADER = "import numpy as np\n\n\n"

X = (4, 3)
CASES: dict[str, tuple[str, object]] = {
    "pow_list": ("np.sum(x ** [1, 2, 3])", X),
    "pow_tuple": ("np.sum(np.abs(x) ** (0.5, 1.5, 2.5))", X),
    "power_list": ("np.sum(np.power(x, [1, 2, 3]))", X),
    "list_base": ("np.sum([1.5, 2.0, 0.5] ** x)", X),
    "bound_list": ("np.sum(x ** c)", X),
    "inner_list": ("np.sum(np.inner(x, [1.0, 2.0, 3.0]))", X),
    "inner_list_first": ("np.sum(np.inner([1.0, 2.0, 3.0], x))", X),
    "inner_nested": ("np.sum(np.inner(x, [[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]]) ** 2)", X),
    "inner_vector_tuple": ("np.tanh(np.inner(x[1], (0.5, -1.0, 2.0)))", X),
    "matmul_list": ("(x[0] @ [1.0, 2.0, 3.0]) ** 2", X),
    "matmul_list_first": ("np.tanh([1.0, 2.0, 3.0] @ x[0])", X),
    "vdot_tuple": ("np.tanh(np.vdot(x[0], (1.0, 2.0, 3.0)))", X),
    "multi_dot_list": (
        "np.tanh(np.linalg.multi_dot([x[0], x.T, [1.0, 2.0, 3.0, 4.0]]))",
        X,
    ),
    "polyval_list": ("np.sum(np.polyval([1.0, 2.0, 3.0], x))", X),
    "polyval_tuple": ("np.sum(np.polyval((2.0, 0.0, 1.0), x))", X),
    "maximum_list": ("np.sum(np.maximum(x, [0.1, -0.2, 0.3]))", X),
    # 0-d masks
    "mask_of_a_0d_array": ("np.sum(x[x > 0] ** 2)", np.array(0.5)),
    "mask_of_a_0d_array_empty": ("np.sum(x[x > 0] ** 2) + x", np.array(-0.5)),
    "mask_of_a_scalar_condition": ("np.sum(x[x[0, 0] > -10] ** 2)", X),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_literal_operand_reads_as_an_array(case):
    expr, x = CASES[case]
    body = f"c = [1, 2, 3]\n    return {expr}"
    source = f"{HEADER}def f(x):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x"])
    rng = np.random.default_rng(0)
    point = {"x": x if isinstance(x, np.ndarray) else rng.standard_normal(x)}
    out, grad = generated.f_value_and_grad(**point)
    assert np.allclose(out, forward.f(**point), rtol=1e-12, atol=1e-12), code

    def loss(**kw):
        return np.sum(forward.f(**kw))

    numeric = central(loss, point, "x")
    assert np.allclose(grad, numeric, rtol=1e-5, atol=1e-6), code


@pytest.mark.parametrize(
    "update",
    [
        "z[np.sum(x) > -100] += 1.0",
        "z[np.sum(x) > -100] *= 0.7",
        "np.add.at(z, np.sum(x) > -100, 1.0)",
    ],
)
def test_an_update_at_a_0d_mask(update):
    source = f"{HEADER}def f(x):\n    z = x * 1.0\n    {update}\n    return z ** 2\n"
    forward, generated, code = build(source, "f", ["x"])
    point = {"x": np.array([0.3, -1.2, 0.8])}
    out, grad = generated.f_value_and_grad(**point)
    assert np.allclose(out, forward.f(**point)), code

    def loss(**kw):
        return np.sum(forward.f(**kw))

    assert np.allclose(grad, central(loss, point, "x"), atol=1e-6), code
