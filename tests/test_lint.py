"""The numerics lint (codegen/lint.py) and the finite-value checks of
`generate(..., check_finite=True)` / `codegen grad --check-finite`."""

from __future__ import annotations

import contextlib
import io
import textwrap

import numpy as np
import pytest
from conftest import ROOT

from codegen import generate
from codegen.cli import main
from codegen.checks.lint import lint_source
from codegen.checks.verify import check_gradients, module_from_source

UNSTABLE_SOFTMAX = """\
import numpy as np


def loss(x, y):
    e = np.exp(x)
    p = e / np.sum(e, axis=1, keepdims=True)
    L = -np.mean(np.log(p[np.arange(3), y]))
    return L
"""

STABLE_SOFTMAX = """\
import numpy as np


def loss(x, y):
    s = x - np.max(x, axis=1, keepdims=True)
    e = np.exp(s)
    p = e / np.sum(e, axis=1, keepdims=True)
    L = -np.mean(np.log(np.clip(p[np.arange(3), y], 1e-12, 1.0)))
    return L
"""


def _messages(source: str, func: str | None = None) -> list[str]:
    return [str(w) for w in lint_source(textwrap.dedent(source), "m.py", func)]


def test_softmax_without_shift_and_log_without_clip_warn_located():
    first, second = _messages(UNSTABLE_SOFTMAX)
    assert first.startswith("m.py:5:9: warning: exp of scores without the max shift")
    assert "        ^~~~~~~~~" in first.splitlines()[2]
    assert "hint: subtract the max first" in first
    assert second.startswith("m.py:7:18: warning: log of a probability")
    assert "np.clip" in second


def test_stable_forms_do_not_warn():
    assert _messages(STABLE_SOFTMAX) == []
    lse = """\
    import numpy as np


    def lse(x):
        m = np.max(x, axis=1, keepdims=True)
        return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))
    """
    assert _messages(lse) == []


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples").glob("[!_]*.py")), ids=lambda p: p.stem
)
def test_examples_are_written_stably(path):
    from codegen.errors import CodegenError
    from codegen.front.parse import list_functions

    source = path.read_text()
    for func in list_functions(source, str(path)):
        try:
            messages = _messages(source, func)
        except CodegenError:  # a driver, not a forward function
            continue
        assert messages == []


def test_log_sum_exp_without_shift_warns():
    src = "import numpy as np\n\n\ndef f(x):\n    return np.log(np.sum(np.exp(x)))\n"
    (w,) = _messages(src)
    assert w.startswith("m.py:5:26: warning: exp of scores without the max shift")


def test_log_of_a_sigmoid_warns():
    src = """\
    import numpy as np


    def sigmoid(z):
        return 1 / (1 + np.exp(-z))


    def f(w, x):
        p = sigmoid(x @ w)
        inline = 1 / (1 + np.exp(-w))
        return -np.sum(np.log(p)) - np.sum(np.log(inline))
    """
    msgs = _messages(src, "f")
    assert [m.split(": warning: ")[0] for m in msgs] == ["m.py:11:20", "m.py:11:40"]
    assert all("log of a probability" in m for m in msgs)


def test_scalar_exp_is_not_a_softmax():
    assert _messages("import math\n\n\ndef f(x):\n    return math.exp(x) * x\n") == []


def _cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_grad_prints_warnings_and_still_succeeds(tmp_path):
    path = tmp_path / "soft.py"
    path.write_text(UNSTABLE_SOFTMAX)
    code, out, err = _cli(["grad", f"{path}:loss"])
    assert code == 0
    assert "def loss_backward" in out and ": warning:" not in out
    assert err.count(": warning: ") == 2 and f"{path}:5:9: warning:" in err


# ----- finite checks -----

LOG_LOSS = """\
import numpy as np


def f(w, x):
    s = x * w
    p = 1 / (1 + np.exp(-s))
    L = -np.sum(np.log(p))
    return L
"""


def test_finite_checks_name_the_forward_line():
    code = generate(LOG_LOSS, "ex/log_loss.py", "f", check_finite=True)
    assert "import codegen" not in code and "from codegen" not in code
    gen = module_from_source(code, "checked")
    w, x = np.array([0.5, -1.0]), np.array([1.0, 2.0])
    out, _ = gen.f_forward(w, x)
    assert np.isfinite(out)
    with np.errstate(all="ignore"):
        far = gen.f_forward(
            np.array([800.0, 1.0]), np.array([-1.0, 1.0])
        )  # p underflows to 0
        with pytest.raises(FloatingPointError) as info:
            gen.f_backward(1.0, far[1])
    assert str(info.value).startswith("gradient became NaN or Inf at ex/log_loss.py:")
    assert "ex/log_loss.py:7: L = -np.sum(np.log(p))" in str(info.value)


def test_finite_checks_do_not_change_the_gradients():
    plain = module_from_source(generate(LOG_LOSS, "l.py", "f"), "plain")
    checked = module_from_source(
        generate(LOG_LOSS, "l.py", "f", check_finite=True), "checked2"
    )
    user = module_from_source(LOG_LOSS, "user").f
    point = {"w": np.array([0.3, -0.7]), "x": np.array([1.1, 0.4])}
    report = check_gradients(
        user, (checked.f_forward, checked.f_backward), ["w", "x"], point, ["w", "x"]
    )
    assert report.ok, report.summary()
    _, cache = plain.f_forward(point["w"], point["x"])
    for a, b in zip(
        plain.f_backward(1.0, cache), checked.f_backward(1.0, cache), strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_scalar_finite_checks_use_math_only():
    src = "import math\n\n\ndef f(x):\n    y = math.exp(x)\n    return y * 3.0\n"
    code = generate(src, "s.py", "f", check_finite=True)
    assert "numpy" not in code
    gen = module_from_source(code, "scalar_checked")
    _, cache = gen.f_forward(0.5)
    assert gen.f_backward(1.0, cache) == pytest.approx(3.0 * np.exp(0.5))
    _, cache = gen.f_forward(709.5)  # 3 * exp(709.5) overflows to inf
    with pytest.raises(FloatingPointError, match=r"at s\.py:5: y = math\.exp\(x\)$"):
        gen.f_backward(1.0, cache)


def test_cli_check_finite_flag(tmp_path):
    path = tmp_path / "log_loss.py"
    path.write_text(LOG_LOSS)
    code, out, _ = _cli(["grad", f"{path}:f", "--check-finite"])
    assert (
        code == 0
        and "_check_finite(" in out
        and "--check-finite" in out.splitlines()[1]
    )


# ----- the message fits the pattern -----

CROSS_ENTROPY = """\
import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def bce(w, X, y):
    p = sigmoid(X @ w)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss
"""


def test_every_unclipped_log_of_a_cross_entropy_warns_with_the_sigmoid_form():
    msgs = _messages(CROSS_ENTROPY, "bce")
    assert [m.split(": warning: ")[0] for m in msgs] == ["m.py:10:25", "m.py:10:47"]
    assert "log of a probability" in msgs[0]
    assert "log of one minus a probability" in msgs[1]
    assert "np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))" in msgs[0]
    assert "np.minimum(-z, 0) - np.log1p(np.exp(-np.abs(z)))" in msgs[1]
    assert not any("np.sum(np.exp(shifted)" in m for m in msgs)  # not the softmax form


def test_the_hinted_log_sigmoid_forms_are_right_and_stable():
    z = np.linspace(-30, 30, 61)
    log_p = np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))
    log_1mp = np.minimum(-z, 0) - np.log1p(np.exp(-np.abs(z)))
    # log sigmoid(z) = -log(1 + e^-z) and log(1 - sigmoid(z)) = -log(1 + e^z)
    np.testing.assert_allclose(log_p, -np.log1p(np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(log_1mp, -np.log1p(np.exp(z)), rtol=1e-12)
    big = np.array([-800.0, 800.0])  # where the naive forms give -inf
    assert np.all(np.isfinite(np.minimum(big, 0) - np.log1p(np.exp(-np.abs(big)))))


def test_the_hinted_form_is_supported_and_quiet():
    src = """\
    import numpy as np


    def bce(w, X, y):
        z = X @ w
        log_p = np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))
        log_1mp = np.minimum(-z, 0) - np.log1p(np.exp(-np.abs(z)))
        loss = -np.mean(y * log_p + (1 - y) * log_1mp)
        return loss
    """
    assert _messages(src, "bce") == []
    mod = module_from_source(generate(textwrap.dedent(src), "m.py", "bce", ["w"]), "m")
    rng = np.random.default_rng(0)
    X, w = rng.standard_normal((5, 3)), rng.standard_normal(3)
    y = (rng.random(5) > 0.5).astype(float)

    def forward(w, X, y):
        p = 1 / (1 + np.exp(-(X @ w)))
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    pair = (mod.bce_forward, mod.bce_backward)
    report = check_gradients(
        forward, pair, ["w", "X", "y"], {"w": w, "X": X, "y": y}, ["w"]
    )
    assert report.ok, report.summary()


def test_a_shift_by_the_max_of_a_reshape_does_not_warn():
    src = """\
    import numpy as np


    def f(x, y):
        N = x.shape[0]
        x_flat = x.reshape(N, -1)
        e = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
        p = e / np.sum(e, axis=1, keepdims=True)
        L = -np.sum(np.log(np.clip(p[np.arange(N), y], 1e-12, 1.0))) / N
        return L
    """
    assert _messages(src, "f") == []
