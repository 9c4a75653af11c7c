"""Codegen's own speed work changes no result: the shortcuts agree with the
libcst walks they replace (speed figures are in benchmarks/scaling.py)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from codegen.front.signature import bound_ids, bound_names
from codegen.front.source import _load_module

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

ODD = """
import numpy as np
S = 2.0


def f(x, y=1.0, *rest, k=3, **kw):
    a, (b, *c) = x, (y, y, y)
    [d] = [x]
    e = g = x * S
    h: float = e
    h += 1.0
    S = (lambda q, r=2: q)(h)
    for i in range(2):
        j = i
    return S
"""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_bound_ids_agree_with_the_libcst_visitor_on_examples(path: Path) -> None:
    mod = _load_module(path.read_text(), str(path))
    for fdef in mod.defs.values():
        assert bound_ids(mod, fdef) == {n.value for n in bound_names(fdef)}


def test_bound_ids_agree_on_every_kind_of_binding() -> None:
    mod = _load_module(ODD, "odd.py")
    fdef = mod.defs["f"]
    want = {n.value for n in bound_names(fdef)}
    assert bound_ids(mod, fdef) == want
    assert {"x", "y", "rest", "k", "kw", "a", "b", "c", "d", "e", "g"} <= want
    assert {"h", "S", "q", "r"} <= want and "j" in want


def test_positions_resolved_without_an_empty_walk(monkeypatch) -> None:
    """Resolving positions walks the tree once (to print it), not twice."""
    walks = []
    real = cst.Module.visit

    def counted(self, visitor):  # type: ignore[no-untyped-def]
        walks.append(type(visitor).__name__)
        return real(self, visitor)

    monkeypatch.setattr(cst.Module, "visit", counted)
    mod = _load_module(ODD, "odd.py")
    assert walks == []  # no visitor ran over the module
    fdef = mod.defs["f"]
    loc = mod.loc(fdef.name)
    assert (loc.line, loc.col) == (6, 4)
