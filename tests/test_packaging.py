"""Every package under codegen/ is listed in pyproject.toml, so a plain
`pip install .` (not editable) installs all of it."""

from __future__ import annotations

import sys

from conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_every_subpackage_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "codegen").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
