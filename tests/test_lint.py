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
