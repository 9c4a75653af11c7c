"""np.convolve and np.correlate in every mode, for every pair of lengths up
to 7 (NumPy swaps and centres its operands by their lengths): each is
bilinear, so the reference gradient is exact, the transposed Jacobian NumPy
itself gives column by column (convolving unit vectors). (HIPS autograd has
no rule for either.)"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import build

MODES = ["full", "valid", "same"]
LENGTHS = range(1, 8)


def _jacobian_t(fn, a, v, wrt: str) -> np.ndarray:
    """d fn(a, v) / d wrt, transposed: one row per entry of `wrt`."""
    x = a if wrt == "a" else v
    rows = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = 1.0
        rows.append(fn(e, v) if wrt == "a" else fn(a, e))
    return np.array(rows)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", ["convolve", "correlate"])
def test_every_mode_and_length_pair_against_the_exact_jacobian(op, mode):
    src = (
        "import numpy as np\n\n\n"
        f"def f(a, v):\n    return np.{op}(a, v, mode='{mode}') * 1.5\n"
    )
    _, gen, _ = build(src, "f", ["a", "v"])
    ref = getattr(np, op)
    rng = np.random.default_rng(0)
    for n in LENGTHS:
        for m in LENGTHS:
            a, v = rng.standard_normal(n), rng.standard_normal(m)
            out, cache = gen.f_forward(a, v)
            np.testing.assert_array_equal(out, ref(a, v, mode) * 1.5)
            g = rng.standard_normal(out.shape)
            grad_a, grad_v = gen.f_backward(g, cache)
            ja = _jacobian_t(lambda x, y: ref(x, y, mode), a, v, "a")
            jv = _jacobian_t(lambda x, y: ref(x, y, mode), a, v, "v")
            np.testing.assert_allclose(grad_a, 1.5 * ja @ g, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(grad_v, 1.5 * jv @ g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", ["convolve", "correlate"])
def test_second_derivatives_match_central_differences(op, mode):
    # the backward (np.pad, np.correlate, min of sizes) is parsed again
    from programs.second import hvp_source

    from codegen.checks.verify import check_gradients

    src = (
        "import numpy as np\n\n\n"
        f"def f(a, v):\n    return np.sum(np.{op}(a, v, mode='{mode}') ** 2)\n"
    )
    _, gen, code = build(src, "f", ["a", "v"])
    hvp = hvp_source(code, "f", ["a", "v"], ["a", "v"])
    forward, second, code2 = build(hvp, "hvp", ["a", "v"])
    rng = np.random.default_rng(2)
    for n, m in ((6, 4), (3, 5)):
        point = {"a": rng.standard_normal(n), "v": rng.standard_normal(m)}
        point |= {"v_a": rng.standard_normal(n), "v_v": rng.standard_normal(m)}
        report = check_gradients(
            forward.hvp,
            (second.hvp_forward, second.hvp_backward),
            list(point),
            point,
            ["a", "v"],
            op,
        )
        assert report.ok, report.summary() + "\n" + code2


def test_a_mode_that_is_not_a_literal_is_a_located_refusal():
    from codegen import generate
    from codegen.errors import CodegenError

    src = (
        "import numpy as np\n\n\ndef f(a, v, how):\n    return np.convolve(a, v, how)\n"
    )
    with pytest.raises(CodegenError, match="give 'full', 'valid' or 'same'") as info:
        generate(src, "<test>", "f", ["a", "v"])
    assert str(info.value).startswith("<test>:5:")
