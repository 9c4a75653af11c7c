"""Module-level array constants (``A = np.array([...])``, ``EYE = np.eye(3)``)
read in the forward: repeated at the top of the generated module, carrying no
gradient, never assumed to be numbers; checked against central differences
and autograd."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError
from conftest import build

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

SOURCE = """
import numpy as onp

A = onp.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.0]])
EYE = onp.eye(3)
W = onp.full((2,), 0.25)


def mix(v):
    return A @ v + W


def f(x, y):
    z = mix(x) * y + EYE[1] @ x
    return onp.sum(z * z) + onp.sum(A) * y
"""


def test_array_constants_against_central_differences_and_autograd():
    forward, generated, code = build(SOURCE, "f")
    assert "A = np.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.0]])" in code
    assert "EYE = np.eye(3)" in code
    rng = np.random.default_rng(5)
    point = {"x": rng.standard_normal(3), "y": 0.7}
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "y"],
        point,
        ["x", "y"],
    )
    assert report.ok, report.summary()
    A = np.array([[1.0, -2.0, 0.5], [3.0, 4.0, -1.0]])

    def ref(x, y):
        z = (anp.dot(A, x) + 0.25) * y + np.eye(3)[1] @ x
        return anp.sum(z * z) + anp.sum(A) * y

    value, grads = generated.f_value_and_grad(**point)
    assert np.isclose(value, ref(**point))
    for got, want in zip(
        grads, autograd.grad(ref, (0, 1))(*point.values()), strict=True
    ):
        assert np.allclose(got, want)


def test_a_local_of_the_constants_name_does_not_hide_it_in_a_helper():
    source = SOURCE.replace("    z = mix(x)", "    A = x * 2.0\n    z = mix(A)")
    forward, generated, _ = build(source, "f")
    point = {"x": np.array([0.3, -1.2, 2.0]), "y": 1.5}
    report = check_gradients(
        forward.f,
        (generated.f_forward, generated.f_backward),
        ["x", "y"],
        point,
        ["x", "y"],
    )
    assert report.ok, report.summary()
    assert np.isclose(generated.f_forward(**point)[0], forward.f(**point))


def test_an_in_place_update_of_a_module_array_is_refused():
    source = "import numpy as np\n\nA = np.zeros(3)\n\n\ndef f(x):\n    B = A\n    B += x\n    return np.sum(B * x)\n"
    with pytest.raises(
        CodegenError, match="in-place update of 'B'|the file may change"
    ):
        build(source, "f")


@pytest.mark.parametrize(
    "binding",
    [
        "A = np.random.randn(3)",
        "A = np.array([1.0, SCALE])",
        "A = np.ones(3)\nA = A * 2",
    ],
)
def test_an_array_codegen_cannot_read_statically_is_refused_located(binding):
    source = f"import numpy as np\n\nSCALE = 2.0\n{binding}\n\n\ndef f(x):\n    return np.sum(A * x)\n"
    with pytest.raises(CodegenError) as err:
        build(source, "f")
    assert "module-level name 'A'" in str(err.value) or "bound more than once" in str(
        err.value
    )


SEQUENCES = """
import numpy as np

IDX = (0, 0, 2)
SHAPE = (2, 2)
W = (0.5, -1.0)
POWERS = (1.0, 2.0, 3.0)
AXES = (0,)


def f(x, axes=AXES):
    z = np.zeros(4)
    z[np.array(IDX)] = x[:3]
    s = np.sum(x[np.array(IDX)] ** 2) + np.sum(np.inner(x.reshape(SHAPE), W) ** 2)
    s = s + np.sum(x[: len(W + W)] * (W + W))
    for k in POWERS:
        s = s + np.sum(np.sum(z * x, axis=axes) ** k)
    return s
"""


def test_module_tuples_of_numbers_read_as_written_out():
    # an index with repeats, a shape, a vector operand, loop items, a default
    forward, generated, code = build(SEQUENCES, "f", ["x"])
    rng = np.random.default_rng(3)
    for trial in range(2):
        point = {"x": rng.standard_normal(4)}
        assert np.isclose(generated.f_forward(**point)[0], forward.f(**point))
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(forward.f, pair, ["x"], point, ["x"], "f", seed=trial)
        assert report.ok, report.summary() + "\n" + code


@pytest.mark.parametrize(
    "binding",
    [
        "W = [0.5, -1.0, 2.0]",
        "W = np.array([0.5, -1.0, 2.0])\nW[0] = 7.0",
        "W = np.ones(3)\nW.fill(2.0)",
        "W = (1.0, 2.0, 3.0)\nW += (1.0,)",
        "W = np.ones(3)\nB = W\nB[0] = 7.0",
        "W = np.ones(3)\nnp.copyto(W, 2.0)",
        "W = np.ones(3)\n\n\ndef reset():\n    W[0] = 7.0",
        "W = np.ones(3)\n\n\nclass C:\n    B = W",
    ],
    ids=[
        "list",
        "item-assigned",
        "filled",
        "extended",
        "alias",
        "copyto",
        "written-by-a-function",
        "read-by-a-class-body",
    ],
)
def test_a_module_value_that_can_change_is_refused(binding):
    # a list any call may change (W[0] = 7.0), or one changed at import
    source = f"import numpy as np\n\n{binding}\n\n\ndef f(x):\n    return x * W[0]\n"
    with pytest.raises(CodegenError, match="module-level name 'W' is not a constant"):
        build(source, "f")


def test_a_helper_writing_into_a_module_array_is_refused():
    source = (
        "import numpy as np\n\nA = np.array([1.0, 2.0, 3.0])\n\n\n"
        "def g(x):\n    A[0] = 7.0\n    return x\n\n\n"
        "def f(x):\n    return g(x) * A\n"
    )
    with pytest.raises(
        CodegenError, match="in-place update of 'A'|the file may change"
    ):
        build(source, "f")
