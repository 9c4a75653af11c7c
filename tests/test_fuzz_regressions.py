"""Regressions found by the property and fuzz tests, one test per bug, each
checked against central differences of the user's own forward."""

from __future__ import annotations

import numpy as np

from codegen.verify import check_gradients
from conftest import build


def _check(source: str, point: dict, func: str = "f", wrt=None) -> None:
    forward, generated, _ = build(source, func, wrt)
    params = list(point)
    pair = (getattr(generated, f"{func}_forward"), getattr(generated, f"{func}_backward"))
    report = check_gradients(getattr(forward, func), pair, params, point, wrt or params, func)
    assert report.ok, report.summary()


def test_unicode_parameter_is_cached_for_the_backward():
    # The backward read `é` without caching it: the cache-reads scan only knew
    # ASCII identifiers (NameError at run time).
    _check("def f(x, é):\n    return é * x\n", {"x": 0.7, "é": -1.3})
    _check("def f(变量):\n    y = 变量 * 变量\n    return y\n", {"变量": 0.9})


def test_builtin_max_and_min_of_three_arguments():
    # `max(a, b, c)` was refused ("too many arguments for 'max'") once the
    # NumPy keyword check ran before the pairwise folding of builtin max/min.
    src = "def f(x, y, z):\n    return max(x, y, 2 * z) + min(x * y, z, 0.5)\n"
    _check(src, {"x": 0.3, "y": -1.1, "z": 0.9})
    _check(src, {"x": 1.7, "y": 0.2, "z": -0.4})


def test_constant_arithmetic_inside_a_helper_uses_the_callers_constant():
    # `z * 2` with z bound to the caller's literal was folded to the helper's
    # own text `(z * 2)`: a NameError in the generated module.
    src = "def h(z, w):\n    return z * 2 + w * -z\n\n\ndef f(x):\n    return h(3.0, x) * x\n"
    _check(src, {"x": 0.8})


def test_long_chain_of_unary_minus_on_a_constant_stays_flat():
    # `x * ---...1` (1,000 signs) was folded to 2,000 nested parentheses, more
    # than Python compiles (200), and black exploded it to megabytes.
    src = "def f(x):\n    return x * " + "-" * 1000 + "1.5\n"
    forward, generated, code = build(src)
    assert len(code) < 20_000
    _check(src, {"x": 0.8})
