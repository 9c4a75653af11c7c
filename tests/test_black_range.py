"""The supported black versions (pyproject.toml's range) write the same text.

The generated modules are formatted by the user's black, so codegen accepts a
range of black versions instead of pinning one; this test formats every
example, the golden cases and random 200-statement programs with the oldest
version of the range (installed into a temporary folder) and with the black
installed here (in CI the newest of the range), and compares the bytes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata

import pytest
from conftest import ROOT

from codegen.project import stamp

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

#: Generates every module and prints {name: text} as JSON, with black's version.
SCRIPT = r"""
import json, sys
from pathlib import Path

import black

from codegen import generate

sys.path.insert(0, ".")
from benchmarks.scaling import program

out = {"black": black.__version__}
paths = sorted(Path("examples").glob("*.py")) + sorted(Path("docs").glob("*.py"))
paths += sorted(Path("tests/cases").glob("*.py"))
for path in paths:
    text = path.read_text().split("\n# output\n")[0]
    try:
        out[str(path)] = generate(text, str(path))
    except Exception as exc:  # not a forward (a training script, a helper)
        out[str(path)] = f"not generated: {type(exc).__name__}"
for seed in range(4):
    out[f"program {seed}"] = generate(program(200, seed), f"program_{seed}.py")
print(json.dumps(out))
"""


def _black_range() -> tuple[str, str]:
    """(lower bound, upper bound) of black in pyproject's dependencies."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    spec = next(d for d in deps if re.match(r"black\b", d))
    low = re.search(r">=\s*([\d.]+)", spec)
    high = re.search(r"<\s*([\d.]+)", spec)
    assert low and high, f"black is not given as a range: {spec}"
    return low.group(1), high.group(1)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", v)[:3])


def _generate(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_black_is_a_range_and_the_installed_one_is_in_it():
    low, high = _black_range()
    installed = _version_tuple(metadata.version("black"))
    assert _version_tuple(low) <= installed < _version_tuple(high)
    # the build hash names the same range, so every black in it gives one hash
    assert stamp.BLACK_RANGE == (_version_tuple(low), _version_tuple(high))
    assert stamp.black_stamp() == f"black>={low},<{high}"


def test_a_black_outside_the_range_gets_its_own_stamp(monkeypatch):
    monkeypatch.setattr(stamp, "_version", lambda dist: "23.12.1")
    assert stamp.black_stamp() == "23.12.1"


@pytest.mark.slow
def test_oldest_and_installed_black_write_the_same_modules(tmp_path):
    low, _ = _black_range()
    target = tmp_path / "black"
    pip = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            f"black=={low}",
        ],
        capture_output=True,
        text=True,
    )
    assert pip.returncode == 0, pip.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    newest = _generate(env)
    oldest = _generate({**env, "PYTHONPATH": str(target)})
    assert oldest.pop("black") == low
    assert newest.pop("black") == metadata.version("black")
    assert sum(not t.startswith("not generated") for t in newest.values()) >= 25
    assert oldest.keys() == newest.keys()
    for name, text in newest.items():
        assert oldest[name] == text, f"{name}: black {low} writes it differently"
