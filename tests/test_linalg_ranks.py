"""np.linalg.solve and np.vdot with the operands' ranks annotated (the rules
take their rank-specific forms) and not (the rank-generic ones), on the
shapes NumPy accepts: a stack of matrices beside a vector or a matrix b,
either operand broadcast, vdot of equal sizes in different shapes; against
central differences of the forward with a random upstream gradient (autograd
gets a's gradient for a broadcast a wrong: shaped like the result)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from test_rules_numpy import _source

from codegen.checks.verify import check_gradients

CASES = {
    "solve_stack_vector": ("out = np.linalg.solve(a, b)", {"a": (3, 3, 3), "b": (3,)}),
    "solve_matrix_vector": ("out = np.linalg.solve(a, b)", {"a": (3, 3), "b": (3,)}),
    "solve_b_broadcast": (
        "out = np.linalg.solve(a, b)",
        {"a": (2, 2, 3, 3), "b": (3, 2)},
    ),
    "solve_a_broadcast": ("out = np.linalg.solve(a, b)", {"a": (3, 3), "b": (2, 3, 2)}),
    "solve_both_broadcast": (
        "out = np.linalg.solve(a, b)",
        {"a": (1, 3, 3), "b": (2, 3, 2)},
    ),
    "vdot_reshaped": ("out = np.vdot(a, b) * a", {"a": (2, 3), "b": (6,)}),
    "vdot_vectors": ("out = np.vdot(a, b) * a", {"a": (3,), "b": (3,)}),
}


@pytest.mark.parametrize("annotate", [True, False], ids=["annotated", "plain"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_central_differences(case, annotate):
    body, params = CASES[case]
    rng = np.random.default_rng(5)
    point = {p: rng.standard_normal(s) for p, s in params.items()}
    if "a" in point and "solve" in body:
        point["a"] = point["a"] + 3 * np.eye(3)
    forward, generated, code = build(_source(body, params, annotate), "f")
    grads = generated.f_value_and_grad(*point.values())[1]
    assert [np.shape(g) for g in grads] == [np.shape(v) for v in point.values()]
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(forward.f, pair, list(params), point, list(params))
    assert report.ok, report.summary() + "\n" + code
