"""generated/ is fresh: regenerating every module in memory changes no byte."""

from __future__ import annotations

import difflib
import re
import shlex

import pytest

from codegen import generate
from codegen.cli import split_target
from conftest import ROOT

MODULES = sorted((ROOT / "generated").glob("*_grad.py"))


def _command(text: str) -> list[str]:
    match = re.search(r"^# Regenerate with: (.*)$", text, re.M)
    assert match, "generated module has no regenerate command"
    return shlex.split(match.group(1))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_generated_module_is_fresh(path):
    text = path.read_text()
    argv = _command(text)
    assert argv[:2] == ["codegen", "grad"], argv
    target = argv[2]
    wrt = argv[argv.index("--wrt") + 1].split(",") if "--wrt" in argv else None
    src_path, func = split_target(target)
    source = (ROOT / src_path).read_text()
    fresh = generate(source, src_path, func, wrt, command=" ".join(argv))
    if fresh != text:
        diff = "".join(difflib.unified_diff(
            text.splitlines(True), fresh.splitlines(True), str(path), "regenerated"))
        pytest.fail(f"{path.name} is stale; run: {' '.join(argv)}\n{diff}")


def test_there_are_generated_modules():
    assert len(MODULES) >= 5
