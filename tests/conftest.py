"""Shared helpers: generate a backward from source text and load it."""

from __future__ import annotations

import textwrap
import types
from pathlib import Path

import pytest

from codegen import generate
from codegen.checks.verify import module_from_source

ROOT = Path(__file__).resolve().parent.parent


def example_shapes(name: str) -> dict[str, tuple[int, ...]]:
    """The shapes pyproject.toml gives examples/<name>.py:<name> for
    verification ([tool.codegen.options]), where annotations say too little."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["codegen"]
    opts = config.get("options", {}).get(f"examples/{name}.py:{name}", {})
    return {k: tuple(v) for k, v in opts.get("shapes", {}).items()}


def build(
    source: str, func: str | None = None, wrt=None
) -> tuple[types.ModuleType, types.ModuleType, str]:
    """(forward module, generated module, generated code) for `source`."""
    source = textwrap.dedent(source)
    code = generate(source, "<test>", func, wrt)
    forward = module_from_source(source, "forward_under_test")
    return forward, module_from_source(code, "generated_under_test"), code


@pytest.fixture
def root() -> Path:
    return ROOT
