"""The machinery of benchmarks/conformance/ on a synthetic autograd-style test
file: extraction, translation to codegen input, and classification. The real
run (it downloads autograd's sdist) is on demand:
``python -m benchmarks.conformance.autograd_suite``.
"""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.conformance import autograd_suite as suite
from benchmarks.conformance.extract import collect
from benchmarks.conformance.translate import NotApplicable, forward_source

FAKE_TESTS = '''
import pytest

import autograd.numpy as np
import autograd.numpy.random as npr
from autograd import grad
from autograd.test_util import check_grads, combo_check

npr.seed(0)
T = lambda A: np.swapaxes(A, -1, -2)


def wrap(fun):
    def check(*args):
        new_fun = lambda *args: fun(T(args[0]), *args[1:])
        check_grads(new_fun)(*args)
    return check


def test_lambda():
    fun = lambda x: 3.0 * np.sin(x)
    check_grads(fun)(npr.randn())


def test_closure_over_array():
    A = npr.randn(3, 2)

    def fun(x):
        """A docstring."""
        return np.sum(x * A)

    check_grads(fun)(npr.randn(3, 2))


def test_loop_rebinds_closure():
    for k in [2, 3]:
        def fun(x):
            return x ** k
        check_grads(fun)(1.5)


def test_combo():
    combo_check(np.sum, [0])([npr.randn(2, 3)], axis=[None, 0], keepdims=[True, False])


def test_spelling():
    check_grads(np.absolute)(npr.randn(3) + 3.0)
    check_grads(np.abs)(npr.randn(3) + 3.0)


def test_tuple_argument():
    combo_check(np.concatenate, [0])([(npr.randn(2), npr.randn(3))], axis=[0])


def test_control_flow():
    def fun(x):
        if x > 0:
            return x
        return -x

    check_grads(fun)(1.5)


def test_complex():
    check_grads(lambda x: np.sum(x))(npr.randn(3) + 1j * npr.randn(3))


def test_second_order():
    check_grads(grad(lambda x: np.sin(x)))(0.5)


def test_expects_error():
    with pytest.raises(TypeError):
        check_grads(lambda x: x)(1.0)


def test_helpers_and_star_args():
    wrap(lambda A: A * 2.0)(npr.randn(2, 3))


@pytest.mark.parametrize("axis", [0, 1])
def test_parametrized(axis):
    check_grads(lambda x: np.sum(x, axis=axis))(npr.randn(2, 3))


def test_tuple_output():
    def fun(x):
        a, b = x * 2.0, x
        return tuple((a, b))

    check_grads(fun)(1.5)


def test_fails_before_checking():
    x = np.no_such_function(3)
    check_grads(lambda y: y)(x)
'''


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    path = tmp_path_factory.mktemp("fake") / "test_fake.py"
    path.write_text(FAKE_TESTS)
    found = collect(path)
    return found


@pytest.fixture(scope="module")
def results(cases):
    """test name -> the results of its cases."""
    out = {}
    for c in cases.cases:
        out.setdefault(c.test, []).append(suite.run_case(c))
    return out


def by_test(found, name):
    return [c for c in found.cases if c.test == name]


def test_every_check_is_a_case(cases):
    counts = {}
    for c in cases.cases:
        counts[c.test] = counts.get(c.test, 0) + 1
    assert counts == {
        "test_lambda": 1,
        "test_closure_over_array": 1,
        "test_loop_rebinds_closure": 2,
        "test_combo": 4,
        "test_spelling": 2,
        "test_tuple_argument": 1,
        "test_control_flow": 1,
        "test_complex": 1,
        "test_second_order": 1,
        "test_expects_error": 1,
        "test_helpers_and_star_args": 1,
        "test_parametrized[0]": 1,
        "test_parametrized[1]": 1,
        "test_tuple_output": 1,
    }
    assert list(cases.unreached) == ["test_fails_before_checking"]
    assert cases.unreached["test_fails_before_checking"][0] == 1


def test_translation_keeps_the_tests_expressions(cases):
    (lam,) = by_test(cases, "test_lambda")
    fw = forward_source(lam)
    assert "def f(x):\n    return 3.0 * np.sin(x)" in fw.source
    assert fw.wrt == ["x"] and fw.params == ["x"]

    (clo,) = by_test(cases, "test_closure_over_array")
    fw = forward_source(clo)
    assert "def f(x, A):\n    return np.sum(x * A)" in fw.source  # no docstring
    assert fw.wrt == ["x"] and fw.values[1].shape == (3, 2)

    first, second = (
        forward_source(c) for c in by_test(cases, "test_loop_rebinds_closure")
    )
    assert "k = 2" in first.source and "k = 3" in second.source


def test_numpy_functions_are_called_with_literal_keywords(cases):
    sources = [forward_source(c).source for c in by_test(cases, "test_combo")]
    assert "return np.sum(x0, axis=None, keepdims=True)" in sources[0]
    assert "return np.sum(x0, axis=0, keepdims=False)" in sources[3]
    spelled = [forward_source(c).source for c in by_test(cases, "test_spelling")]
    assert "np.absolute(x0)" in spelled[0] and "np.abs(x0)" in spelled[1]
    (tup,) = by_test(cases, "test_tuple_argument")
    fw = forward_source(tup)
    assert "np.concatenate((x0_0, x0_1), axis=0)" in fw.source
    assert fw.wrt == ["x0_0", "x0_1"]


def test_helpers_become_module_functions(cases):
    (case,) = by_test(cases, "test_helpers_and_star_args")
    fw = forward_source(case)
    assert "def T(A):\n    return np.swapaxes(A, -1, -2)" in fw.source
    assert "def fun(A):\n    return A * 2.0" in fw.source
    assert "def f(a0):\n    return fun(T(a0))" in fw.source


@pytest.mark.parametrize(
    "test, reason",
    [
        ("test_complex", "complex"),
        ("test_second_order", "higher-order"),
        ("test_expects_error", "pytest.raises"),
    ],
)
def test_out_of_scope_cases_say_why(cases, test, reason):
    (case,) = by_test(cases, test)
    with pytest.raises(NotApplicable, match=reason):
        forward_source(case)
    assert suite.run_case(case).outcome == "n/a"


def test_classification(results):
    for test in (
        "test_lambda",
        "test_closure_over_array",
        "test_combo",
        "test_parametrized[1]",
    ):
        assert [r.outcome for r in results[test]] == ["pass"] * len(results[test])
    (refused,) = results["test_control_flow"]
    assert refused.outcome == "refused" and refused.reason
    (tup,) = results["test_tuple_output"]
    assert "return (a, b)" in tup.source  # autograd's tuple((a, b))


def test_a_wrong_gradient_is_caught(cases):
    """A backward that doubles the true gradient of 3 sin(x) is `wrong`."""
    (case,) = by_test(cases, "test_lambda")
    fw = forward_source(case)
    bad = textwrap.dedent("""
        import numpy as np
        def f_forward(x):
            return 3.0 * np.sin(x), x
        def f_backward(grad_out, cache):
            return 6.0 * grad_out * np.cos(cache)
        """)
    f = lambda x: 3.0 * np.sin(x)  # noqa: E731
    res = suite.Result(case.file, case.test, case.line, "n/a")
    res = suite._check(res, fw, f, f(*fw.values), bad, 0)
    assert res.outcome == "wrong" and "gradient of x" in res.reason
    wrong_value = bad.replace("return 3.0 * np.sin(x), x", "return 3.0 * np.cos(x), x")
    res = suite._check(res, fw, f, f(*fw.values), wrong_value, 0)
    assert res.outcome == "wrong" and res.reason.startswith("value")


def test_central_differences_step_past_a_near_tie():
    """min over two entries 1e-5 apart: the coarse step crosses the tie, the
    fine step does not; the reference gradient is exact either way at 1e-8."""
    x = np.array([0.0, 1e-5, 3.0])
    seeds = [np.ones(())]
    entries = [(0,), (1,), (2,)]
    fine = suite.numeric_grad(np.min, [x], 0, seeds, entries, suite.FINE_STEP)
    assert np.allclose(fine, [1.0, 0.0, 0.0], atol=1e-6)


def test_report_lists_counts_and_rate(cases, results):
    flat = [r for rs in results.values() for r in rs]
    text = suite.report(flat, {"test_fake.py": cases.unreached})
    header, row = text.splitlines()[:2]
    assert header.split()[:6] == ["file", "pass", "refused", "wrong", "crash", "n/a"]
    assert row.startswith("test_fake.py") and row.endswith("%")
    assert "test_fails_before_checking" in text


def test_refusals_rank_every_construct_of_a_case():
    rs = [
        suite.Result(
            "a.py", "test_x", 1, "refused", "no rule for 'p'; no rule for 'q'"
        ),
        suite.Result("a.py", "test_y", 2, "refused", "no rule for 'p'"),
    ]
    assert suite.ranked(rs, "refused") == [
        ("no rule for 'p'", 2, 2),
        ("no rule for 'q'", 1, 1),
    ]
