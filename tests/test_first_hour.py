"""A newcomer's first hour: install lines, version, license, citation and
the README's examples of messages, against the real thing."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata

from conftest import ROOT

import codegen
from codegen.cli import main

README = (ROOT / "README.md").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_distribution_name_is_not_the_index_codegen():
    assert PYPROJECT["project"]["name"] == codegen.DISTRIBUTION == "codegen-grad"
    assert PYPROJECT["project"]["scripts"] == {"codegen": "codegen.cli:run"}
    assert metadata.version(codegen.DISTRIBUTION) == PYPROJECT["project"]["version"]


def test_no_hint_installs_the_other_codegen():
    texts = {
        p: p.read_text() for p in [ROOT / "README.md", *(ROOT / "codegen").glob("*.py")]
    }
    for path, text in texts.items():
        # `pip install codegen...` or 'codegen[extra]' name the index's project
        assert not re.search(
            r"pip install ['\"]?codegen\b(?!-grad)(?!` would)", text
        ), path
        assert "'codegen[" not in text, path


def test_version(capsys):
    assert codegen.__version__ == PYPROJECT["project"]["version"]
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith(
        f"codegen {codegen.__version__} (codegen-grad; Python "
    )
    assert f"black {metadata.version('black')}" in proc.stdout


def test_license_and_citation_agree_with_pyproject():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    assert PYPROJECT["project"]["license"] == {"text": "MIT"}
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(
        r'^version: "?' + re.escape(codegen.__version__) + '"?$', cff, re.M
    )
    assert re.search(r"^license: MIT$", cff, re.M) and "cff-version: 1.2.0" in cff
    assert "[LICENSE](LICENSE)" in README and "[CITATION.cff](CITATION.cff)" in README


def test_readme_states_the_python_versions_ci_tests():
    assert PYPROJECT["project"]["requires-python"] == ">=3.11"
    assert "Python 3.11 or newer" in README
    assert sys.version_info >= (3, 11)


def test_readme_config_error_is_the_real_output(tmp_path, monkeypatch, capsys):
    shown = README.split("bad value is an error that names it (exit 2):\n\n```\n", 1)[1]
    shown = shown.split("```", 1)[0]
    line = int(shown.split(":")[1])
    lines = [
        "[project]",
        'name = "demo"',
        "",
        "[tool.codegen]",
        "sources = [",
        '    "src/model.py:loss",',
        "]",
        "",
    ]
    assert len(lines) == line - 1
    (tmp_path / "pyproject.toml").write_text("\n".join([*lines, 'outptu = "gen"', ""]))
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 2
    assert capsys.readouterr().err == shown
