"""Property tests: random straight-line programs (tests/fuzz_programs.py) get
gradients that match central differences of the user's own forward, a backward
linear in the upstream gradient, a forward equal to the user's, and output that
re-parses and that black leaves unchanged.

CI runs a bounded number of programs; CODEGEN_FUZZ=long runs many more.
"""

from __future__ import annotations

import ast
import math

import numpy as np
from fuzz_programs import (
    Program,
    Reject,
    array_programs,
    fuzz_settings,
    scalar_programs,
)
from hypothesis import assume, given, note
from hypothesis import strategies as st

from codegen import generate
from codegen.back.format import format_code
from codegen.checks.verify import check_gradients, module_from_source

#: Programs run by this process, reported by the long profile.
COUNTS = {"programs": 0, "checked": 0}


def _check_module_text(code: str) -> None:
    """The output re-parses, black leaves it unchanged, it imports only math/NumPy."""
    tree = ast.parse(code)
    assert format_code(code) == code
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert all(a.name in ("math", "numpy") for a in node.names), ast.unparse(
                node
            )
        assert not isinstance(node, ast.ImportFrom), ast.unparse(node)


def _generate(prog: Program) -> tuple[str, str]:
    source = prog.source()
    note(source)
    code = generate(source, "prog.py", prog.name, prog.wrt)
    note(code)
    return source, code


def _point(data: st.DataObject, prog: Program) -> dict[str, object]:
    point = {
        p: data.draw(st.floats(-2, 2, allow_nan=False, allow_infinity=False), label=p)
        for p in prog.params
    }
    try:
        prog.evaluate({k: np.float64(v) for k, v in point.items()})
    except Reject:
        assume(False)
    return point


@fuzz_settings(ci=120, long=4000)
@given(prog=scalar_programs(), data=st.data())
def test_random_scalar_program_gradients(prog: Program, data: st.DataObject) -> None:
    source, code = _generate(prog)
    COUNTS["programs"] += 1
    _check_module_text(code)
    user = getattr(module_from_source(source, "user_forward"), prog.name)
    gen = module_from_source(code, "generated")
    fwd, bwd = (getattr(gen, f"{prog.name}_{s}") for s in ("forward", "backward"))
    point = _point(data, prog)
    args = [point[p] for p in prog.params]
    wrt = prog.wrt or list(prog.params)

    out, cache = fwd(*args)
    expected = prog.evaluate({k: np.float64(v) for k, v in point.items()})
    assert math.isclose(out, user(*args), rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(out, float(expected), rel_tol=1e-9, abs_tol=1e-9)

    report = check_gradients(user, (fwd, bwd), prog.params, point, wrt, prog.name)
    assert report.ok, report.summary()

    value, grads = getattr(gen, f"{prog.name}_value_and_grad")(*args)
    direct = bwd(1.0, cache)
    assert value == out
    np.testing.assert_array_equal(
        np.asarray(grads, dtype=float), np.asarray(direct, dtype=float)
    )
    COUNTS["checked"] += 1


@fuzz_settings(ci=20, long=300)
@given(prog=scalar_programs())
def test_generation_is_deterministic(prog: Program) -> None:
    """Same input, same bytes (within a process; across processes: test_render)."""
    source, code = _generate(prog)
    assert generate(source, "prog.py", prog.name, prog.wrt) == code


@fuzz_settings(ci=80, long=3000)
@given(prog=array_programs(), seed=st.integers(0, 2**32 - 1))
def test_random_array_program_gradients(prog: Program, seed: int) -> None:
    """Broadcasting, reductions with axis/keepdims, @, helpers, fan-out and
    re-binding over random broadcast-compatible shapes."""
    source, code = _generate(prog)
    COUNTS["programs"] += 1
    _check_module_text(code)
    user = getattr(module_from_source(source, "user_forward"), prog.name)
    gen = module_from_source(code, "generated")
    fwd, bwd = (getattr(gen, f"{prog.name}_{s}") for s in ("forward", "backward"))
    rng = np.random.default_rng(seed)
    point = {p: rng.uniform(-2, 2, prog.shapes[p]) for p in prog.params}
    note(repr(point))
    try:
        expected = prog.evaluate(point)
    except Reject:
        assume(False)
    args = [point[p] for p in prog.params]
    out, cache = fwd(*args)
    np.testing.assert_allclose(out, user(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-9)

    wrt = prog.wrt or list(prog.params)
    report = check_gradients(
        user, (fwd, bwd), prog.params, point, wrt, prog.name, seed % 1000
    )
    assert report.ok, report.summary()

    grads = bwd(np.ones(np.shape(out)), cache)
    grads = (grads,) if len(wrt) == 1 else grads
    for name, g in zip(wrt, grads, strict=True):
        assert np.shape(g) == np.shape(point[name]), name
    COUNTS["checked"] += 1
