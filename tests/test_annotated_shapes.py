"""Annotated shapes are checked where the generated kernel is called
(templates/runtime/_shapes.j2): the backward was derived from them, so an
argument that breaks them is refused, not given a gradient of the wrong shape
or value. Annotation words that admit many shapes prove nothing."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import autograd_grads, central

from codegen.core.shapes import annotation_dims

H = "import numpy as np\n\n\n"
SAME = H + (
    'def f(x: Float[np.ndarray, "N D"], b: Float[np.ndarray, "N D"]):\n'
    "    return np.sum(np.tanh(x * b))\n"
)
ROW = H + (
    'def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D"]):\n'
    "    return np.sum(np.tanh(x * w))\n"
)


@pytest.mark.parametrize(
    "src, point, message",
    [
        # b broadcasts in the forward; its gradient came out (3, 2), not (1, 2)
        (
            SAME,
            {"x": (3, 2), "b": (1, 2)},
            r"b has shape \(1, 2\).*'N D' \(with N=3, D=2\)",
        ),
        # w of shape (3, 1) broadcasts; its gradient came out (2,), summed wrongly
        (
            ROW,
            {"x": (3, 2), "w": (3, 1)},
            r"w has shape \(3, 1\), but its annotation says 'D'",
        ),
        (ROW, {"x": (4, 3, 2), "w": (2,)}, r"x has shape \(4, 3, 2\).*'N D'"),
    ],
)
def test_arguments_that_break_their_annotations_are_refused(src, point, message):
    _, generated, _ = build(src, "f")
    rng = np.random.default_rng(0)
    args = {k: rng.standard_normal(s) for k, s in point.items()}
    with pytest.raises(ValueError, match=message):
        generated.f_value_and_grad(**args)
    with pytest.raises(ValueError, match=message):
        generated.f_forward(**args)


@pytest.mark.parametrize("src", [SAME, ROW])
def test_arguments_of_the_annotated_shapes_get_their_gradients(src):
    forward, generated, _ = build(src, "f")
    rng = np.random.default_rng(1)
    point = {"x": rng.standard_normal((3, 2))}
    point["b" if "b:" in src else "w"] = rng.standard_normal(
        (3, 2) if "b:" in src else 2
    )
    _, grads = generated.f_value_and_grad(**point)
    refs = autograd_grads(src, point, list(point))
    for name, g, ref in zip(point, grads, refs, strict=True):
        np.testing.assert_allclose(g, ref, rtol=1e-12)
        np.testing.assert_allclose(g, central(forward.f, point, name), rtol=1e-6)


@pytest.mark.parametrize(
    "words", ["N ...", "*batch D", "#N D", "_ D", "N+1 D", "N D _"]
)
def test_words_that_admit_many_shapes_prove_nothing(words):
    assert annotation_dims(f'Float[np.ndarray, "{words}"]') is None


def test_a_variadic_annotation_broadcasts_as_numpy_does():
    """``"..."`` says any shape: nothing is checked or proven, and a (1, 2)
    operand gets its (1, 2) gradient."""
    src = H + (
        'def f(x: Float[np.ndarray, "..."], b: Float[np.ndarray, "..."]):\n'
        "    return np.sum(np.tanh(x * b))\n"
    )
    forward, generated, code = build(src, "f")
    assert "_shapes(" not in code
    rng = np.random.default_rng(2)
    point = {"x": rng.standard_normal((3, 2)), "b": rng.standard_normal((1, 2))}
    _, (gx, gb) = generated.f_value_and_grad(**point)
    assert gb.shape == (1, 2)
    np.testing.assert_allclose(gb, central(forward.f, point, "b"), rtol=1e-6)
