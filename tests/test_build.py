"""`codegen build` / `check`: configuration, freshness, hand edits, atomic
writes, the pre-commit hook, the Python API and the cs231n layer pair."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

import codegen
from codegen.project import stamp
from codegen.project import targets
from codegen.project import workflow as wf
from codegen.cli import main
from codegen.errors import CodegenError
from codegen.checks.verify import module_from_source
from conftest import ROOT

CIRCUIT = """\
def circuit(x, y, z):
    q = x + y
    f = q * z
    return f
"""

NEURON = """\
import math


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def neuron(w0, x0, w1, x1, w2):
    s = w0 * x0 + w1 * x1 + w2
    L = sigmoid(s)
    return L
"""


def make_project(
    root: Path, sources: list[str], extra: str = "", files: dict[str, str] | None = None
) -> Path:
    """Write pyproject.toml with [tool.codegen] and the given source files."""
    files = (
        {"src/circuit.py": CIRCUIT, "src/neuron.py": NEURON} if files is None else files
    )
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    listed = ", ".join(f'"{s}"' for s in sources)
    (root / "pyproject.toml").write_text(
        f'[project]\nname = "demo"\n\n[tool.codegen]\nsources = [{listed}]\n{textwrap.dedent(extra)}'
    )
    return root


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return make_project(tmp_path, ["src/circuit.py:circuit", "src/neuron.py"])


def run(capsys, *argv: str) -> tuple[int, str, str]:
    """(exit code, everything printed: the report on stderr, then any diff
    on stdout, and stderr alone)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, err + out, err


def numeric_grad(f, args, i, h=1e-6):
    """Central difference of the scalar `f` in argument `i`."""
    up, down = list(args), list(args)
    up[i] += h
    down[i] -= h
    return (f(*up) - f(*down)) / (2 * h)


# ----- configuration errors name the key -----


BAD_CONFIGS = [
    ('outptu = "gen"\n', "[tool.codegen] unknown key 'outptu'", "outptu"),
    ("output = 3\n", "'output' must be a directory path string", "output = 3"),
    (
        '[tool.codegen.options."src/circuit.py:circuit"]\nwrtt = ["x"]\n',
        "unknown key 'wrtt'",
        "wrtt",
    ),
    (
        '[tool.codegen.options."src/circuit.py:circuit"]\nwrt = "x"\n',
        "'wrt' must be a non-empty list",
        "wrt",
    ),
    (
        '[tool.codegen.options."src/circuit.py:circuit"]\nshapes = { x = [3, -1] }\n',
        "'shapes.x'",
        "x = [3, -1]",
    ),
    (
        '[tool.codegen.options."src/circuit.py:circuit"]\nat = { x = "one" }\n',
        "'at.x' must be a number",
        'x = "one"',
    ),
    (
        '[tool.codegen.options."src/circuit.py:circuit"]\nseed = -1\n',
        "'seed' must be a non-negative",
        "seed",
    ),
    (
        '[tool.codegen.options."src/circuit.py:nope"]\nwrt = ["x"]\n',
        "options for 'src/circuit.py:nope' match no",
        "src/circuit.py:nope",
    ),
    ("sources2 = 1\n", "unknown key 'sources2'", "sources2"),
    ("oops = \n", "invalid TOML", "oops"),
]


@pytest.mark.parametrize(
    "extra, message, line", BAD_CONFIGS, ids=[m for _, m, _ in BAD_CONFIGS]
)
def test_config_errors_name_the_key_at_its_line(
    tmp_path, monkeypatch, capsys, extra, message, line
):
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, ["src/circuit.py:circuit"], extra)
    code, out, err = run(capsys, "check")
    assert code == 2, err
    first = err.splitlines()[0]
    assert (
        first.startswith("pyproject.toml:") and message in first
    ), err  # relative, as black
    assert "Traceback" not in err
    lineno = int(first.split(":")[1])
    assert line in (tmp_path / "pyproject.toml").read_text().splitlines()[lineno - 1]
    assert "^" in err  # the caret under the key


def test_missing_table_and_sources_say_how_to_start(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    code, _, err = run(capsys, "build")
    assert code == 2 and "no [tool.codegen] table" in err and "sources = [" in err
    (tmp_path / "pyproject.toml").write_text('[tool.codegen]\noutput = "gen"\n')
    code, _, err = run(capsys, "build")
    assert code == 2 and "missing key 'sources'" in err


def test_two_sources_writing_one_module_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_project(
        tmp_path,
        ["a/circuit.py:circuit", "b/circuit.py:circuit"],
        files={"a/circuit.py": CIRCUIT, "b/circuit.py": CIRCUIT},
    )
    code, _, err = run(capsys, "build")
    assert code == 2
    assert (
        "'a/circuit.py:circuit' and 'b/circuit.py:circuit' would both write generated/circuit_grad.py"
        in err
    )
    assert 'set output = "..."' in err


# ----- build -----


def test_build_is_incremental(project, capsys):
    code, out, _ = run(capsys, "build")
    assert code == 0
    assert out.splitlines() == [
        "generated/circuit_grad.py: created",
        "generated/neuron_grad.py: created",
        "2 modules created",
    ]
    stamp = [os.stat(p).st_mtime_ns for p in sorted((project / "generated").iterdir())]
    code, out, _ = run(capsys, "build")
    assert code == 0
    assert out.splitlines() == [
        "generated/circuit_grad.py: up to date",
        "generated/neuron_grad.py: up to date",
        "2 modules up to date",
    ]
    assert [
        os.stat(p).st_mtime_ns for p in sorted((project / "generated").iterdir())
    ] == stamp
    assert run(capsys, "build", "--quiet")[1] == ""
    (project / "generated/neuron_grad.py").unlink()
    assert run(capsys, "build", "--quiet")[1] == ""  # created: not a problem


def test_built_module_header_and_gradients(project, capsys):
    run(capsys, "build")
    text = (project / "generated" / "circuit_grad.py").read_text()
    header = text.splitlines()[:4]
    assert (
        header[0] == "# Generated by codegen from src/circuit.py:circuit; do not edit."
    )
    assert header[1] == "# Regenerate with: codegen build"
    assert header[2].startswith("# codegen-hash: sha256:") and header[3].startswith(
        "# codegen-output: sha256:"
    )
    mod = module_from_source(text, "circuit_grad")
    point = [1.5, -2.0, 3.0]
    out, cache = mod.circuit_forward(*point)
    grads = mod.circuit_backward(1.0, cache)
    forward = module_from_source(CIRCUIT, "circuit_fwd").circuit
    for i, g in enumerate(grads):
        assert g == pytest.approx(numeric_grad(forward, point, i), rel=1e-6)


def test_whole_file_entries_skip_helpers_and_name_modules_per_function(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    two = CIRCUIT + "\n\ndef square(a):\n    b = a * a\n    return b\n"
    make_project(
        tmp_path,
        ["src/neuron.py", "src/two.py"],
        files={"src/neuron.py": NEURON, "src/two.py": two},
    )
    code, out, _ = run(capsys, "build")
    assert code == 0, out
    assert sorted(p.name for p in (tmp_path / "generated").iterdir()) == [
        "neuron_grad.py",
        "two_circuit_grad.py",
        "two_square_grad.py",
    ]


def test_wrt_and_output_options(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    make_project(
        tmp_path,
        ["src/circuit.py:circuit"],
        """
        output = "out/grads"
        [tool.codegen.options."src/circuit.py:circuit"]
        wrt = ["z", "x"]
        output = "cz.py"
    """,
    )
    assert run(capsys, "build")[0] == 0
    mod = module_from_source((tmp_path / "out/grads/cz.py").read_text(), "cz")
    _, cache = mod.circuit_forward(1.0, 2.0, 4.0)
    assert mod.circuit_backward(1.0, cache) == pytest.approx(
        (3.0, 4.0)
    )  # (df/dz, df/dx) = (x + y, z)
    # Changing an option that shapes the output makes the module stale.
    text = (tmp_path / "pyproject.toml").read_text().replace('["z", "x"]', '["x"]')
    (tmp_path / "pyproject.toml").write_text(text)
    assert run(capsys, "check")[0] == 1


# ----- the new-user scenario: add, build, edit, check fails until rebuilt -----


def test_add_build_edit_check_rebuild(project, capsys):
    assert run(capsys, "build")[0] == 0
    # add a function to pyproject: check says it is missing until built
    (project / "src/paraboloid.py").write_text(
        "def paraboloid(x, y):\n    z = x**2 + y**2\n    return z\n"
    )
    text = (
        (project / "pyproject.toml")
        .read_text()
        .replace('"src/neuron.py"]', '"src/neuron.py", "src/paraboloid.py"]')
    )
    (project / "pyproject.toml").write_text(text)
    code, out, _ = run(capsys, "check")
    assert (
        code == 1
        and "generated/paraboloid_grad.py: missing" in out
        and "run: codegen build" in out
    )
    assert (
        run(capsys, "build")[1].splitlines()[2]
        == "generated/paraboloid_grad.py: created"
    )
    assert run(capsys, "check")[0] == 0
    # edit the source: check fails with a diff and the fix, until rebuilt
    (project / "src/circuit.py").write_text(
        CIRCUIT.replace("f = q * z", "f = q * z * z")
    )
    code, out, err = run(capsys, "check")  # no diff without --diff, as black
    assert code == 1 and "generated/circuit_grad.py: stale" in err
    assert "--- generated" not in out and "check --diff shows the changes" in err
    for _ in range(2):
        code, out, err = run(capsys, "check", "--diff")
        assert code == 1
        assert "generated/circuit_grad.py: stale" in err
        assert "--- generated/circuit_grad.py (on disk)" in out
        assert "-    f = q * z\n" in out and "+    f = f_mul * z\n" in out
        assert "--- generated" not in err  # the diff alone on stdout
        assert err.rstrip().endswith("run: codegen build")
    code, out, _ = run(capsys, "build")
    assert code == 0 and "generated/circuit_grad.py: regenerated" in out
    code, out, _ = run(capsys, "check")
    assert code == 0 and out.splitlines()[-1] == "3 modules up to date"


def test_check_as_a_subprocess_exits_1_then_0(project):
    cmd = [sys.executable, "-m", "codegen", "check"]
    first = subprocess.run(cmd, capture_output=True, text=True, cwd=project)
    assert (
        first.returncode == 1 and "generated/circuit_grad.py: missing" in first.stderr
    )
    assert first.stdout == ""  # results go to stderr, as black's
    assert (
        subprocess.run(
            [sys.executable, "-m", "codegen", "build", "-q"], cwd=project
        ).returncode
        == 0
    )
    fresh = subprocess.run(cmd, capture_output=True, text=True, cwd=project)
    assert fresh.returncode == 0 and "\033[" not in fresh.stderr  # no colour off a TTY


def test_fresh_check_imports_no_generator(project):
    """The hash fast path is what makes a pre-commit check cheap: proven
    by what it imports, not by timing (benchmarks/bench_check.py times it)."""
    probe = (
        "import sys; from codegen.cli import main; code = main(['check', '-q'{}]); "
        "print(code, sorted(m for m in ('black', 'libcst', 'jinja2') if m in sys.modules))"
    )

    def imported(*extra: str) -> str:
        args = "".join(f", {e!r}" for e in extra)
        out = subprocess.run(
            [sys.executable, "-c", probe.format(args)],
            capture_output=True,
            text=True,
            cwd=project,
        )
        return out.stdout.splitlines()[-1]

    main(["build", "-q"])
    assert imported() == "0 []"  # with a whole-file entry, "src/neuron.py"
    (project / "src/circuit.py").write_text(CIRCUIT.replace("q * z", "q * q"))
    assert imported() == "1 []"  # stale, told by the hashes alone
    assert (
        imported("--diff") == "1 ['black', 'jinja2', 'libcst']"
    )  # regenerated for the diff


def test_deep_check_regenerates_when_hashes_match(project, capsys):
    """A module whose hashes are consistent but whose body is not what codegen
    writes now (codegen changed without a version bump) passes the fast check
    and fails the deep one, which says to rebuild with --force."""
    run(capsys, "build")
    path = project / "generated/circuit_grad.py"
    text = path.read_text().replace("grad_x = grad_q", "grad_x = grad_q * 1")
    path.write_text(stamp.stamped(text))
    assert run(capsys, "check")[0] == 0
    code, out, _ = run(capsys, "check", "--deep", "--diff")
    assert (
        code == 1 and "codegen build --force" in out and "+    grad_x = grad_q\n" in out
    )
    assert "up to date" in run(capsys, "build")[1]
    assert "regenerated" in run(capsys, "build", "--force")[1]
    assert run(capsys, "check", "--deep")[0] == 0


# ----- hand edits -----


def test_hand_edit_fails_check_and_build_refuses_without_force(project, capsys):
    run(capsys, "build")
    path = project / "generated/neuron_grad.py"
    edited = path.read_text().replace("grad_L * (1 - L) * L", "grad_L * L")
    path.write_text(edited)
    code, out, _ = run(capsys, "check", "--diff")
    assert code == 1 and "generated/neuron_grad.py: edited by hand" in out
    assert (
        "-    grad_s = grad_L * L\n" in out
        and "+    grad_s = grad_L * (1 - L) * L\n" in out
    )
    assert "codegen build --force" in out
    code, out, _ = run(capsys, "build")
    assert code == 1 and "not overwritten" in out
    assert path.read_text() == edited
    code, out, _ = run(capsys, "build", "--force")
    assert code == 0 and "generated/neuron_grad.py: regenerated" in out
    assert run(capsys, "check")[0] == 0


def test_file_codegen_did_not_write_is_never_overwritten(project, capsys):
    (project / "generated").mkdir()
    (project / "generated/circuit_grad.py").write_text("# my own file\n")
    for force in ((), ("--force",)):
        code, out, _ = run(capsys, "build", *force)
        assert code == 2 and "codegen did not write this file" in out
        assert (project / "generated/circuit_grad.py").read_text() == "# my own file\n"


# ----- failures leave the old module -----


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_unsupported_source_is_located_and_keeps_the_old_module(project, capsys):
    run(capsys, "build")
    old = (project / "generated/circuit_grad.py").read_text()
    (project / "src/circuit.py").write_text(
        CIRCUIT.replace("f = q * z", "f = q if z else z")
    )
    code, out, err = run(capsys, "build")
    assert code == 2
    assert (
        "src/circuit.py:3:14: error:" in out
        and "^" in out
        and "Traceback" not in out + err
    )
    assert (project / "generated/circuit_grad.py").read_text() == old
    assert _no_temp_files(project / "generated")


def test_interrupted_write_keeps_the_old_module(project, capsys, monkeypatch):
    run(capsys, "build")
    old = (project / "generated/circuit_grad.py").read_text()
    (project / "src/circuit.py").write_text(
        CIRCUIT.replace("f = q * z", "f = q * z * z")
    )

    def interrupted(src, dst):  # the process dies between writing and renaming
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    assert main(["build"]) == 130
    monkeypatch.undo()
    assert (project / "generated/circuit_grad.py").read_text() == old
    assert _no_temp_files(project / "generated")


def test_failed_partial_write_keeps_the_old_module(project, capsys, monkeypatch):
    run(capsys, "build")
    old = (project / "generated/circuit_grad.py").read_text()
    (project / "src/circuit.py").write_text(
        CIRCUIT.replace("f = q * z", "f = q * z * z")
    )
    real_fdopen = os.fdopen

    class DiskFull:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, text):
            self.fh.write(text[: len(text) // 2])
            self.fh.flush()
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", lambda *a, **k: DiskFull(real_fdopen(*a, **k)))
    code, out, err = run(capsys, "build")
    monkeypatch.undo()
    assert (
        code == 2
        and "generated/circuit_grad.py: error" in out
        and "No space left" in out
    )
    assert (project / "generated/circuit_grad.py").read_text() == old
    assert _no_temp_files(project / "generated")


def test_unconfigured_module_is_orphaned_then_removed(project, capsys):
    run(capsys, "build")
    (project / "generated/mine.py").write_text(
        "x = 1\n"
    )  # not written by build: never touched
    text = (project / "pyproject.toml").read_text().replace(', "src/neuron.py"', "")
    (project / "pyproject.toml").write_text(text)
    code, out, _ = run(capsys, "check")
    assert code == 1 and "generated/neuron_grad.py: orphaned" in out
    code, out, _ = run(capsys, "build")
    assert code == 0 and "generated/neuron_grad.py: removed" in out
    assert sorted(p.name for p in (project / "generated").iterdir()) == [
        "circuit_grad.py",
        "mine.py",
    ]


# ----- check --verify -----

RELU = (
    "import numpy as np\n\n\ndef relu(x):\n    out = np.maximum(x, 0)\n    return out\n"
)


def test_check_verify_runs_where_shapes_are_known(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    files = {"src/circuit.py": CIRCUIT, "src/relu.py": RELU, "src/relu2.py": RELU}
    make_project(
        tmp_path,
        ["src/circuit.py:circuit", "src/relu.py:relu", "src/relu2.py:relu"],
        """
        [tool.codegen.options."src/relu.py:relu"]
        shapes = { x = [4, 5] }
    """,
        files,
    )
    try:
        codegen.generate(RELU, "relu.py")
    except CodegenError as err:
        pytest.skip(f"np.maximum not supported yet: {err.message}")
    assert run(capsys, "build")[0] == 0
    code, out, _ = run(capsys, "check", "--verify")
    assert code == 0, out
    assert (
        "src/circuit.py:circuit: verified" in out
        and "src/relu.py:relu: verified" in out
    )
    assert "src/relu2.py:relu: not verified" in out and "shapes unknown for x" in out


def test_check_verify_names_an_option_naming_no_parameter(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    files = {"src/relu.py": RELU}
    options = '[tool.codegen.options."src/relu.py:relu"]\nshapes = { q = [4, 5] }\n'
    make_project(tmp_path, ["src/relu.py:relu"], options, files)
    assert run(capsys, "build")[0] == 0
    code, out, _ = run(capsys, "check", "--verify")
    assert code != 0
    assert "the option 'shapes' of src/relu.py:relu names 'q'" in out


def test_check_verify_fails_on_a_gradient_mismatch(project, capsys, monkeypatch):
    """A wrong gradient makes `check --verify` exit 1: the check is real."""
    run(capsys, "build")
    import codegen.checks.verify as verify

    real = verify.verify_file

    def wrong_backward(path, func, *args):
        report = real(path, func, *args)
        report.params[0] = verify.ParamReport(
            report.params[0].name, 0.5, False, ((), 1.0, 3.0)
        )
        return report

    monkeypatch.setattr(verify, "verify_file", wrong_backward)
    code, out, _ = run(capsys, "check", "--verify")
    assert (
        code == 1
        and "verification failed" in out
        and "analytic: 1.0  numeric: 3.0" in out
    )


# ----- the Python API -----


def test_api_mirrors_the_cli(project):
    result = codegen.check(project / "pyproject.toml")
    assert not result.ok and result.exit_code == 1
    assert [o.status for o in result.outcomes] == [wf.MISSING, wf.MISSING]
    seen = []
    built = codegen.build(project / "pyproject.toml", report=seen.append)
    assert built.ok and [o.status for o in seen] == [wf.CREATED, wf.CREATED]
    assert codegen.check().ok  # the nearest pyproject.toml
    assert "2 modules up to date" in str(codegen.check())


def test_show_a_function_a_target_and_a_generated_module(project):
    forward = module_from_source(CIRCUIT, "circuit_src").circuit
    path = project / "src/circuit.py"
    forward.__code__ = forward.__code__.replace(co_filename=str(path))
    shown = codegen.show(forward)
    assert "def circuit_backward(grad_f, cache):" in str(shown) and repr(shown) == str(
        shown
    )
    assert str(codegen.show("src/circuit.py:circuit")) == str(shown)
    codegen.build()
    assert (
        str(codegen.show("generated/circuit_grad.py"))
        == (project / "generated/circuit_grad.py").read_text()
    )
    pytest.importorskip("pygments")
    assert '<span style="color' in shown._repr_html_()


def test_show_without_pygments_escapes(monkeypatch):
    monkeypatch.setitem(sys.modules, "pygments", None)
    html = codegen.learn.notebook.GeneratedSource("a = b < c\n")._repr_html_()
    assert html == "<pre>a = b &lt; c\n</pre>"


# ----- pre-commit -----


def _hooks() -> list[dict]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def _write_yaml(path: Path, data: object) -> None:
    path.write_text(pytest.importorskip("yaml").safe_dump(data))


def _git_repo(path: Path) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull}
    for argv in (
        ["init", "-q"],
        ["config", "user.email", "t@example.com"],
        ["config", "user.name", "t"],
    ):
        subprocess.run(["git", *argv], cwd=path, check=True, env=env)


def _pre_commit(path: Path) -> subprocess.CompletedProcess[str]:
    subprocess.run(["git", "add", "-A"], cwd=path, check=True)
    env = {**os.environ, "PRE_COMMIT_HOME": str(path.parent / "pre-commit-home")}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files"],
        cwd=path,
        capture_output=True,
        text=True,
        env=env,
    )


def test_pre_commit_hook_in_a_fresh_repository(tmp_path):
    """The published hook, run by pre-commit in a new git repository. The hook
    is declared `repo: local` with this interpreter (pre-commit would
    otherwise pip-install codegen; see the opt-in test below)."""
    pytest.importorskip("pre_commit")
    hook = next(h for h in _hooks() if h["id"] == "codegen-check")
    repo = tmp_path / "other"
    repo.mkdir()
    make_project(repo, ["src/circuit.py:circuit"], files={"src/circuit.py": CIRCUIT})
    _git_repo(repo)
    local = {
        **hook,
        "language": "system",
        "entry": hook["entry"].replace("codegen", f"{sys.executable} -m codegen", 1),
    }
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    _write_yaml(repo / ".pre-commit-config.yaml", config)
    first = _pre_commit(repo)
    assert (
        first.returncode == 1 and "generated/circuit_grad.py: missing" in first.stdout
    )
    assert main(["build", "-q", "--config", str(repo / "pyproject.toml")]) == 0
    assert _pre_commit(repo).returncode == 0
    (repo / "src/circuit.py").write_text(CIRCUIT.replace("q * z", "q * q"))
    stale = _pre_commit(repo)
    assert (
        stale.returncode == 1
        and "generated/circuit_grad.py: stale" in stale.stdout
        and "run: codegen build" in stale.stdout
    )
    # a one-line source edit prints a few lines into the log, not the diff
    assert "+    f = q * q" not in stale.stdout and "--diff" in stale.stdout


@pytest.mark.skipif(
    not os.environ.get("CODEGEN_SLOW_TESTS"),
    reason="installs codegen from PyPI deps; set CODEGEN_SLOW_TESTS=1",
)
def test_pre_commit_installs_the_hook_from_a_clone(tmp_path):
    """`repo: <this repository>` as other projects use it: pre-commit clones
    this repository at HEAD and pip-installs it into the hook's environment."""
    pytest.importorskip("pre_commit")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    repo = tmp_path / "other"
    repo.mkdir()
    make_project(repo, ["src/circuit.py:circuit"], files={"src/circuit.py": CIRCUIT})
    _git_repo(repo)
    config = {
        "repos": [{"repo": str(ROOT), "rev": head, "hooks": [{"id": "codegen-check"}]}]
    }
    _write_yaml(repo / ".pre-commit-config.yaml", config)
    first = _pre_commit(repo)
    assert (
        first.returncode == 1 and "generated/circuit_grad.py: missing" in first.stdout
    ), (first.stdout + first.stderr)
    assert main(["build", "-q", "--config", str(repo / "pyproject.toml")]) == 0
    assert _pre_commit(repo).returncode == 0


# ----- the cs231n layer pair: affine then ReLU -----

AFFINE = "import numpy as np\n\n\ndef affine(x, w, b):\n    out = x @ w + b\n    return out\n"


def _generated(source: str, name: str):
    try:
        code = codegen.generate(source, f"{name}.py")
    except CodegenError as err:
        pytest.skip(f"the NumPy layer '{name}' is not supported yet: {err.message}")
    return module_from_source(code, f"{name}_grad"), module_from_source(source, name)


def test_affine_then_relu_compose_like_cs231n_layers():
    affine, affine_src = _generated(AFFINE, "affine")
    relu, relu_src = _generated(RELU, "relu")
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 5)), rng.normal(size=(5, 3)), rng.normal(size=3)
    dout = rng.normal(size=(4, 3))
    # out, cache = f_forward(...); dx, dw, db = f_backward(dout, cache)
    h, affine_cache = affine.affine_forward(x, w, b)
    out, relu_cache = relu.relu_forward(h)
    dh = relu.relu_backward(dout, relu_cache)
    dx, dw, db = affine.affine_backward(dh, affine_cache)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)

    def loss(x, w, b):
        return float(np.sum(relu_src.relu(affine_src.affine(x, w, b)) * dout))

    for analytic, i in ((dx, 0), (dw, 1), (db, 2)):
        args = [x, w, b]
        numeric = np.zeros_like(args[i])
        for idx in np.ndindex(args[i].shape):
            up, down = [a.copy() for a in args], [a.copy() for a in args]
            up[i][idx] += 1e-6
            down[i][idx] -= 1e-6
            numeric[idx] = (loss(*up) - loss(*down)) / 2e-6
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


def test_check_verify_takes_shapes_from_annotations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    annotated = RELU.replace(
        "def relu(x):", 'def relu(x: Float[np.ndarray, "N D"]):'
    ).replace(
        "import numpy as np\n", "import numpy as np\nfrom jaxtyping import Float\n"
    )
    make_project(tmp_path, ["src/relu.py:relu"], files={"src/relu.py": annotated})
    fake = types.ModuleType("jaxtyping")  # a stand-in, so the annotated forward imports
    fake.Float = type(
        "Float", (), {"__class_getitem__": classmethod(lambda cls, item: cls)}
    )
    monkeypatch.setitem(sys.modules, "jaxtyping", fake)
    assert run(capsys, "build")[0] == 0
    code, out, _ = run(capsys, "check", "--verify")
    assert code == 0 and "src/relu.py:relu: verified" in out, out


def test_entry_points_agree_with_parse_list_functions():
    """The workflow's fast listing of a whole-file entry is parse's rule."""
    from codegen.front.parse import list_functions

    files = [*ROOT.glob("examples/*.py"), *ROOT.glob("tests/cases/**/*.py")]
    g = "import math\n\n\ndef g(x):\n    return x\n\n\n"
    uses = [
        "b = math.g(a)",
        "b = h(g=a)",
        "b = f'{g(a)}'",
        "import g",
        "global g",
        "s = 'g'",
        "try:\n        pass\n    except E as g:\n        pass",
        "b = [g for g in a]",
    ]
    tricky = [g + f"def f(a):\n    {use}\n    return a\n" for use in uses]
    tricky += [
        g + "def f(g):\n    return g\n",
        g + "@g\ndef f(a):\n    return a\n",
        g + "async def f(a) -> g:\n    return a\n",
        "def _p(x):\n    return x\n",
    ]
    sources = [p.read_text() for p in files] + [NEURON, *tricky]
    assert len(sources) > 5
    for source in sources:
        try:
            expected = list_functions(source, "x.py")
        except CodegenError:
            continue
        assert targets.entry_points(source, "x.py") == expected
    with pytest.raises(CodegenError, match=r"x.py:1:\d+: error: invalid syntax"):
        targets.entry_points("def f(:\n", "x.py")


def test_colour_only_on_a_terminal(project, capsys, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    out = run(capsys, "build")[1]
    assert "generated/circuit_grad.py: \033[32mcreated\033[0m" in out
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in run(capsys, "build")[1]


# ----- newcomer conventions: counts, streams -----


def test_check_verify_counts_modules_and_functions_apart(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    extra = '[tool.codegen.options."src/circuit.py:circuit"]\nat = { q = 1.0 }\n'
    make_project(tmp_path, ["src/circuit.py:circuit"], extra)
    assert run(capsys, "build", "-q")[0] == 0
    code, out, err = run(capsys, "check", "--verify")
    assert code == 2
    assert (
        "the option 'at' of src/circuit.py:circuit names 'q', which is not a parameter of 'circuit'"
        in err
    )
    assert err.splitlines()[-1] == "1 module up to date; 1 function error"


def test_check_verify_summary_counts_each_once(project, capsys):
    run(capsys, "build", "-q")
    code, _, err = run(capsys, "check", "--verify")
    assert code == 0
    assert err.splitlines()[-1] == "2 modules up to date; 2 functions verified"
