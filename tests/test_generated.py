"""generated/ is fresh: `codegen check --deep` over this repository's own
[tool.codegen] table regenerates every module in memory and changes no byte."""

from __future__ import annotations

import pytest

from codegen.project import workflow as wf
from codegen.project.config import load_config
from codegen.project.targets import plan
from conftest import ROOT

CONFIG = load_config(ROOT / "pyproject.toml")


def test_generated_modules_are_fresh():
    result = wf.check(CONFIG, deep=True)
    problems = [o for o in result.outcomes if o.status != wf.UP_TO_DATE]
    if problems:
        report = "\n".join(
            f"{o.path}: {o.status}\n{o.message}\n{o.diff}" for o in problems
        )
        pytest.fail(
            f"{report}\nrun: codegen build (codegen build --force after a change to codegen itself)"
        )


def test_every_generated_module_is_configured():
    """A module in generated/ that [tool.codegen] does not produce would go stale unnoticed."""
    configured = {t.output for t in plan(CONFIG)}
    found = {f"generated/{p.name}" for p in (ROOT / "generated").glob("*.py")}
    assert found <= configured, (
        f"not produced by [tool.codegen] in pyproject.toml: {sorted(found - configured)}; "
        "add their sources to 'sources' and run: codegen build"
    )


def test_there_are_generated_modules():
    assert len(plan(CONFIG)) >= 5
