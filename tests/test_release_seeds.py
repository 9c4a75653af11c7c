"""`codegen.back.release` (issue 17): an upstream gradient summed out of place
(``grad_c = grad_c + ...``) holds the backward's own array from then on and is
released after its last read, like any other temporary; a seed never summed
into stays (it is the caller's, and ``del`` would free nothing).

Gradients are checked against HIPS autograd and central differences, the
text for where the ``del`` lands, and the peak memory for what it frees."""

from __future__ import annotations

import textwrap
import tracemalloc

import numpy as np
import pytest
from conftest import build

from codegen.checks.verify import check_gradients

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

# two outputs; c's upstream gradient gets h's contribution, then is read once
TWO = """
import numpy as np


def f(x, w):
    c = np.tanh(x @ w)
    h = np.sin(c) * 2.0
    return h, c
"""


def _backward(code: str) -> list[str]:
    body = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    return [line.strip() for line in body.splitlines()]


def test_a_summed_seed_is_released_after_its_last_read():
    forward, mod, code = build(TWO, "f", ["x", "w"])
    lines = _backward(code)
    summed = next(i for i, s in enumerate(lines) if s.startswith("grad_c = grad_c +"))
    assert "del grad_c  # not read again" in lines[summed:]
    dels = [
        s.split("#")[0][4:].replace(",", " ").split()
        for s in lines
        if s.startswith("del ")
    ]
    assert not any("grad_h" in names for names in dels)  # never summed into
    rng = np.random.default_rng(0)
    point = {"x": rng.standard_normal((5, 4)), "w": rng.standard_normal((4, 3))}
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), ["x", "w"], point, ["x", "w"]
    )
    assert report.ok, report.summary()
    gh, gc = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    _, cache = mod.f_forward(*point.values())
    grads = mod.f_backward(gh, gc, cache)
    ns: dict = {"np": anp}
    exec(
        compile(textwrap.dedent(TWO).replace("import numpy as np", ""), "<ag>", "exec"),
        ns,
    )

    def scalar(x, w):
        h, c = ns["f"](x, w)
        return anp.sum(h * gh) + anp.sum(c * gc)

    for k, g in enumerate(grads):
        assert np.allclose(g, autograd.grad(scalar, k)(*point.values()), rtol=1e-7)
    # the caller's upstream gradients are left as they were
    c0 = gc.copy()
    mod.f_backward(gh, gc, cache)
    assert np.array_equal(gc, c0)


def test_the_lstm_backward_frees_the_summed_cell_gradient():
    from pathlib import Path

    from codegen.checks.verify import module_from_source
    from codegen.pipeline import generate

    root = Path(__file__).resolve().parent.parent
    source = (root / "examples" / "lstm_step.py").read_text()
    code = generate(source, "examples/lstm_step.py", "lstm_step")
    assert "    del grad_next_c  # not read again" in code
    mod = module_from_source(code, "lstm_release_under_test")
    rng = np.random.default_rng(1)
    N, D, H = 16, 8, 64
    args = [
        rng.standard_normal((N, D)),
        rng.standard_normal((N, H)),
        rng.standard_normal((N, H)),
        rng.standard_normal((D, 4 * H)),
        rng.standard_normal((H, 4 * H)),
        rng.standard_normal(4 * H),
    ]
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    without = code.replace("    del grad_next_c  # not read again\n", "")
    assert "del grad_next_c  #" not in without
    kept = module_from_source(without, "lstm_kept")

    def peak(m) -> int:
        _, cache = m.lstm_step_forward(*args)
        tracemalloc.start()
        m.lstm_step_backward(dh, dc, cache)
        out = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out

    peak(mod), peak(kept)  # warm up
    # the summed cell gradient, (N, H) floats, is gone before the peak
    assert peak(mod) <= peak(kept) - 8 * N * H + 1024
    grads = mod.lstm_step_backward(dh, dc, mod.lstm_step_forward(*args)[1])
    same = kept.lstm_step_backward(dh, dc, kept.lstm_step_forward(*args)[1])
    for g, e in zip(grads, same, strict=True):
        assert np.array_equal(g, e)
