"""A generated NumPy module refuses complex inputs (TypeError) instead of
running on them: it is derived for real values, and NumPy would carry complex
numbers through it with values and gradients that are not the forward's
(np.vdot, which the L2 pass writes for np.sum(x * x), conjugates)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build

SOURCE = (
    "import numpy as np\n\n\ndef f(z, w):\n    return np.sum(z * z) + np.sum(w * z)\n"
)


@pytest.mark.parametrize(
    "z",
    [
        np.array([1 + 2j, 0.5 - 1j]),
        np.complex64(1 + 1j),
        1 + 2j,
        [1j, 2.0],
    ],
    ids=["array", "numpy-scalar", "python-complex", "list"],
)
def test_complex_inputs_are_refused(z):
    _, generated, _ = build(SOURCE, "f", ["z", "w"])
    w = np.array([0.3, -1.0])
    for call in (generated.f_forward, generated.f_value_and_grad):
        with pytest.raises(TypeError, match="complex input"):
            call(z, w)
        with pytest.raises(TypeError, match="complex input"):
            call(w, z)


def test_real_inputs_of_every_kind_pass():
    forward, generated, _ = build(SOURCE, "f", ["z", "w"])
    for z, w in [
        (np.array([1.0, 2.0]), np.array([0.5, -1.0])),
        (np.float32(1.5), np.int64(2)),
        (1.5, 2),
        (np.array([1, 2]), np.array([True, False])),
    ]:
        out, (gz, gw) = generated.f_value_and_grad(z, w)
        assert np.allclose(out, forward.f(z, w))
        assert np.allclose(gz, 2 * np.asarray(z) + np.asarray(w))
        assert np.allclose(gw, np.asarray(z) * np.ones(np.shape(w)))


def test_the_check_reads_again_as_nothing():
    """A generated module is valid input again (second order): the check
    parses as no step."""
    from programs.second import hvp_source

    _, _, code = build(SOURCE, "f", ["z", "w"])
    assert "_real(z, w)" in code
    hvp = hvp_source(code, "f", ["z", "w"], ["z", "w"])  # the value-and-grad's body
    assert "_real(z, w)" in hvp
    _, again, code2 = build(hvp, "hvp", ["z", "w"])
    assert "_real(z, w)" not in code2  # no step of its own
    assert code2.count("_real(z, w, v_z, v_w)") == 2  # hvp's forward and value-and-grad


@pytest.mark.parametrize(
    "z",
    [[1.0, 2.0], (1.0, 2.0), np.matrix([[1.0, 2.0]]), np.ma.masked_array([1.0, 2.0])],
    ids=["list", "tuple", "matrix", "masked"],
)
def test_inputs_whose_operators_are_not_an_arrays_are_refused(z):
    # a list's * repeats it, a tuple's >= compares lexicographically, a
    # matrix's * is a matrix product: the backward's rules would not hold
    _, generated, _ = build(SOURCE, "f", ["z", "w"])
    w = np.array([0.3, -1.0])
    for call in (generated.f_forward, generated.f_value_and_grad):
        with pytest.raises(TypeError, match="pass np.asarray"):
            call(z, w)


@pytest.mark.parametrize(
    "params,body,static,shape",
    [
        ("x, axes=(0, 2)", "np.sum(np.sum(x, axis=axes) ** 2)", (1, 2), (2, 3, 4)),
        ("x, shape", "x.reshape(shape + (1,)) * 2.0", (3, 2), (2, 3)),
        ("x, reps", "np.tile(x, reps) ** 2", (2, 1), (2, 3)),
        ("x, ij", "x[ij] * x", (1, 2), (2, 3)),
        ("x, idx", "x[idx] ** 2", [0, 0, 2], (4,)),
        ("x, w=(1.0, 2.0)", "w[0] * x + w[1]", (0.5, -1.0), (3,)),
    ],
    ids=["axes", "shape", "reps", "tuple-index", "list-index", "tuple-default"],
)
def test_tuples_and_lists_read_as_shapes_axes_or_indices_pass(
    params, body, static, shape
):
    # only data is checked: a tuple of axes or a list index is what NumPy takes
    source = f"import numpy as np\n\n\ndef f({params}):\n    return {body}\n"
    forward, generated, code = build(source, "f", ["x"])
    name = params.split(", ")[1].split("=")[0]
    x = np.random.default_rng(0).standard_normal(shape)
    out, grad = generated.f_value_and_grad(x, **{name: static})
    assert np.allclose(out, forward.f(x, **{name: static})), code
    h, numeric = 1e-6, np.zeros_like(x)
    for k in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[k] += h
        down[k] -= h
        diff = forward.f(up, **{name: static}) - forward.f(down, **{name: static})
        numeric[k] = np.sum(diff) / (2 * h)
    assert np.allclose(grad, numeric, atol=1e-6), code
    assert "_real(x)" in code, code
