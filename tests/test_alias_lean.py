"""`codegen.core.alias_lean.alias_in_place` and the gather half of
`codegen.core.gather_lean.scatter_in_place` (issue 17): the SVM's
``grad_scores = grad_margins_sub`` then ``grad_scores[rows, y] += c``.

Every case is checked against HIPS autograd and central differences; the
generated text is checked for the in-place forms where they are proven and
for the out-of-place ones where they are not (a copy still read later, a
copy held by a view, indices that may repeat, an index shaped unlike the
arange)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _agrees_with_autograd

from codegen.checks.verify import check_gradients, module_from_source
from codegen.pipeline import generate

ROOT = Path(__file__).resolve().parent.parent

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

# the SVM's shape: a copy of a product, read once by a fresh reduction, then
# the gather's distinct positions added in place
ROWS = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def f(s: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"]):
    N = s.shape[0]
    picked = s[np.arange(N), y]
    m = np.sin(s - picked[:, None] + 1)
    return np.sum(m * m)
"""

# grad_s and grad_c are both copies of grad_t; grad_c is read after grad_s's
# first accumulation, so an in-place += there would change what it reads
LATER = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def f(x: Float[np.ndarray, "N C"]):
    s = np.sin(x)
    c = s * np.exp(s)
    t = s + c
    return np.sum(t * t)
"""

# a copy read through a view (grad_c.T) before the accumulation: the view
# may hold the array, so the copy is not proven dead
VIEW = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def f(x: Float[np.ndarray, "N N"]):
    s = np.sin(x)
    c = np.exp(s.T).T
    t = s + c
    return np.sum(t * t)
"""

# indices that may repeat: np.add.at stays
REPEATS = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def f(s: Float[np.ndarray, "N C"], y: Int[np.ndarray, "N"], z: Int[np.ndarray, "N"]):
    picked = s[z, y]
    m = np.sin(s - 1.0)
    return np.sum(m * m) + np.sum(picked**3)
"""

# the arange and the other index have different lengths (broadcast): no proof
UNEQUAL = """
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float, Int


def f(s: Float[np.ndarray, "N C"], y: Int[np.ndarray, "K"]):
    picked = s[np.arange(1), y]
    m = np.sin(s - 1.0)
    return np.sum(m * m) + np.sum(picked**3)
"""


def _body(code: str) -> str:
    return code[code.index("def f_backward") :]


def _both(source: str, wrt: list[str], point: dict) -> None:
    _agrees_with_autograd(textwrap.dedent(source), wrt, point, "case")
    forward, mod, _ = build(source, "f", wrt)
    report = check_gradients(
        forward.f, (mod.f_forward, mod.f_backward), list(point), point, wrt
    )
    assert report.ok, report.summary()


def test_rows_are_added_in_place_into_the_copy():
    _, mod, code = build(ROWS, "f", ["s"])
    body = _body(code)
    assert "grad_s[np.arange(N), y] += grad_picked" in body
    assert "_scatter_add" not in code and "np.add.at" not in code
    rng = np.random.default_rng(0)
    point = {"s": rng.standard_normal((6, 4)), "y": rng.integers(0, 4, 6)}
    _both(ROWS, ["s"], point)
    # the same y everywhere: every position of a column, still each once
    point["y"] = np.full(6, 2)
    _both(ROWS, ["s"], point)
    x32 = point["s"].astype(np.float32)
    _, g32 = mod.f_value_and_grad(x32, point["y"])
    assert g32.dtype == np.float32


def test_a_copy_read_later_stays_out_of_place():
    _, _, code = build(LATER, "f", ["x"])
    body = _body(code)
    assert "grad_s = grad_t" in body and "grad_c = grad_t" in body
    assert "grad_s = grad_s + grad_c * c_exp" in body  # grad_c is read after
    point = {"x": np.random.default_rng(1).standard_normal((3, 4))}
    _both(LATER, ["x"], point)


def test_a_copy_held_by_a_view_stays_out_of_place():
    _, _, code = build(VIEW, "f", ["x"])
    body = _body(code)
    assert "grad_c = grad_t" in body and "np.transpose(grad_c)" in body
    assert "grad_s = grad_s + " in body
    point = {"x": np.random.default_rng(5).standard_normal((4, 4))}
    _both(VIEW, ["x"], point)


def test_indices_that_may_repeat_keep_add_at():
    _, _, code = build(REPEATS, "f", ["s"])
    assert "_scatter_add(" in _body(code)
    rng = np.random.default_rng(2)
    point = {
        "s": rng.standard_normal((5, 3)),
        "y": np.array([0, 1, 1, 2, 1]),
        "z": np.array([4, 0, 0, 1, 0]),  # (0, 1) three times
    }
    _both(REPEATS, ["s"], point)


def test_an_index_shaped_unlike_the_arange_keeps_add_at():
    _, _, code = build(UNEQUAL, "f", ["s"])
    assert "_scatter_add(" in _body(code)
    rng = np.random.default_rng(3)
    point = {"s": rng.standard_normal((4, 3)), "y": np.array([2, 2, 0])}  # repeats
    _both(UNEQUAL, ["s"], point)


def test_svm_example_against_autograd_and_differences():
    source = (ROOT / "examples" / "svm_loss.py").read_text()
    code = generate(source, "examples/svm_loss.py", "svm_loss", ["W", "X"])
    assert "grad_scores[np.arange(N), y] += grad_correct" in code
    assert "del grad_margins_add" in code and "del grad_margins_sub" in code
    mod = module_from_source(code, "svm_grad_under_test")
    user = module_from_source(source, "svm_under_test")
    rng = np.random.default_rng(4)
    N, D, C = 7, 5, 4
    point = {
        "W": rng.standard_normal((D, C)),
        "X": rng.standard_normal((N, D)),
        "y": rng.integers(0, C, N),
        "reg": 0.1,
    }
    report = check_gradients(
        user.svm_loss,
        (mod.svm_loss_forward, mod.svm_loss_backward),
        list(point),
        point,
        ["W", "X"],
        "svm_loss",
    )
    assert report.ok, report.summary()
    ns: dict = {"np": anp}
    exec(compile(source.replace("import numpy as np", ""), "<ag>", "exec"), ns)
    args = list(point.values())
    _, (gW, gX) = mod.svm_loss_value_and_grad(*args)

    def loss(W, X):
        N = X.shape[0]
        scores = anp.dot(X, W)
        correct = scores[anp.arange(N), point["y"]]
        margins = anp.maximum(0, scores - correct[:, None] + 1)
        # margins[np.arange(N), y] = 0 functionally: drop the correct class
        keep = np.ones((N, C))
        keep[np.arange(N), point["y"]] = 0
        return anp.sum(margins * keep) / N + 0.1 * anp.sum(W * W)

    assert np.allclose(gW, autograd.grad(loss, 0)(*args[:2]), rtol=1e-7, atol=1e-9)
    assert np.allclose(gX, autograd.grad(loss, 1)(*args[:2]), rtol=1e-7, atol=1e-9)
