"""The command line: exit codes, outputs, atomic writes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from codegen.cli import main
from conftest import ROOT

NEURON = str(ROOT / "examples" / "neuron.py") + ":neuron"


def test_grad_prints_the_lecture_flat_backward(capsys):
    assert main(["grad", NEURON]) == 0
    out = capsys.readouterr().out
    lecture = [
        "grad_s3 = grad_L * (1 - L) * L",
        "grad_w2 = grad_s3",
        "grad_s2 = grad_s3",
        "grad_s0 = grad_s2",
        "grad_s1 = grad_s2",
        "grad_w1 = grad_s1 * x1",
        "grad_x1 = grad_s1 * w1",
        "grad_w0 = grad_s0 * x0",
        "grad_x0 = grad_s0 * w0",
    ]
    body = out.split("# backward pass")[1]
    lines = [
        ln.strip()
        for ln in body.splitlines()
        if ln.strip() and not ln.strip().startswith("#")
    ]
    assert lines[0] == "grad_L = 1.0"
    assert lines[1 : 1 + len(lecture)] == lecture


def test_grad_writes_output_file(tmp_path):
    out = tmp_path / "n.py"
    assert main(["grad", NEURON, "-o", str(out)]) == 0
    assert "def neuron_backward(grad_L, cache):" in out.read_text()


def test_bad_input_exits_2_and_leaves_existing_output_untouched(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    while x:\n        pass\n    return x\n")
    out = tmp_path / "out.py"
    out.write_text("keep me\n")
    assert main(["grad", f"{bad}:f", "-o", str(out)]) == 2
    assert out.read_text() == "keep me\n"
    assert list(tmp_path.iterdir()) == sorted([bad, out]) or set(
        tmp_path.iterdir()
    ) == {bad, out}
    err = capsys.readouterr().err
    assert f"{bad}:2:5: error: 'while' loops are not supported" in err
    assert "Traceback" not in err


def test_missing_file_and_function_exit_2(tmp_path, capsys):
    assert main(["grad", str(tmp_path / "nope.py") + ":f"]) == 2
    assert main(["grad", str(ROOT / "examples" / "neuron.py") + ":nope"]) == 2
    err = capsys.readouterr().err
    assert "cannot read file" in err and "no function 'nope'" in err


def test_verify_passes_and_prints_rel_error(capsys):
    assert (
        main(["verify", NEURON, "--at", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"])
        == 0
    )
    out = capsys.readouterr().out
    assert "w0" in out and "rel_error" in out


def test_verify_fails_with_exit_1_on_a_wrong_gradient(tmp_path, monkeypatch, capsys):
    import dataclasses

    from codegen.core.rules import RULES

    src = tmp_path / "f.py"
    src.write_text("import math\n\ndef f(x):\n    y = math.sin(x)\n    return y\n")
    broken = dataclasses.replace(RULES["sin"], grads={"x": "g * LIB.sin(x)"})
    monkeypatch.setitem(RULES, "sin", broken)
    assert main(["verify", f"{src}:f", "--at", "x=0.7"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and "analytic:" in out and "numeric:" in out


def test_bad_option_values_exit_2(capsys):
    assert main(["verify", NEURON, "--at", "w0"]) == 2
    assert main(["grad", NEURON, "--wrt", "nope"]) == 2


@pytest.mark.parametrize("cmd", [[], ["grad"], ["verify"]])
def test_help_on_every_command(cmd):
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", *cmd, "--help"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "usage:" in proc.stdout


def test_console_script_and_module_agree():
    a = subprocess.run(
        [sys.executable, "-m", "codegen", "grad", NEURON],
        capture_output=True,
        text=True,
    )
    b = subprocess.run(["codegen", "grad", NEURON], capture_output=True, text=True)
    assert a.returncode == b.returncode == 0 and a.stdout == b.stdout


def test_the_process_exits_with_mains_code_and_all_its_output(capsys, tmp_path):
    # `run` ends the process without the interpreter's teardown: what main
    # printed must still arrive whole, and its exit code must be the process's
    assert main(["grad", NEURON]) == 0
    whole = capsys.readouterr().out
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "grad", NEURON],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and proc.stdout == whole
    bad = tmp_path / "bad.py"
    bad.write_text("def f(x):\n    while x:\n        x = x - 1\n    return x\n")
    proc = subprocess.run(
        [sys.executable, "-m", "codegen", "grad", f"{bad}:f"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and f"{bad}:2:" in proc.stderr


def test_written_files_get_the_usual_mode(tmp_path):
    import os
    import stat

    out = tmp_path / "n.py"
    assert main(["grad", NEURON, "-o", str(out)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask


def test_verify_rejects_unknown_at_and_shape_names(capsys):
    assert main(["verify", NEURON, "--at", "q=1"]) == 2
    err = capsys.readouterr().err
    assert "--at names 'q', which is not a parameter of 'neuron'" in err
    assert "hint: parameters: w0, x0, w1, x1, w2" in err
    assert main(["verify", NEURON, "--shape", "w9=3"]) == 2
    assert "--shape names 'w9'" in capsys.readouterr().err


def test_repeated_shape_flags_all_count(tmp_path, capsys):
    """--shape x=2,3 --shape w=3 gives both shapes (the last one only was
    kept before: x was drawn as a number and the forward failed)."""
    src = tmp_path / "layer.py"
    src.write_text("import numpy as np\n\n\ndef f(x, w):\n    return np.sum(x @ w)\n")
    assert main(["verify", f"{src}:f", "--shape", "x=2,3", "--shape", "w=3"]) == 0
    assert "f: ok" in capsys.readouterr().out


BATCHNORM = """import numpy as np


def bn(x, gamma, beta, eps=1e-5):
    mu = np.mean(x, axis=0)
    xc = x - mu
    var = np.mean(xc * xc, axis=0)
    out = gamma * xc / np.sqrt(var + eps) + beta
    return out
"""


@pytest.mark.parametrize("command", ["verify", "explain"])
def test_a_forward_needing_arrays_hints_at_shapes(tmp_path, capsys, command):
    path = tmp_path / "bn.py"
    path.write_text(BATCHNORM)
    assert main([command, f"{path}:bn"]) in (1, 2)
    err = capsys.readouterr().err
    assert "axis 0 is out of bounds" in err
    assert (
        "hint: no shape is known for x, gamma, beta, so they were drawn as scalars"
        in err
    )
    assert "--shape x=4,3" in err and 'x: Float[np.ndarray, "N D"]' in err
    assert "Traceback" not in err


def test_a_negative_seed_and_a_name_wrt_twice_are_usage_errors(capsys):
    """NumPy's generators take no negative seed (it was an internal error);
    ``--wrt a,a`` returned the same gradient twice."""
    assert main(["verify", NEURON, "--seed", "-1"]) == 2
    assert "non-negative integer" in capsys.readouterr().err
    assert main(["grad", NEURON, "--wrt", "w0,x0,w0"]) == 2
    err = capsys.readouterr().err
    assert "--wrt names w0 twice" in err and "internal" not in err


def test_verify_at_a_point_where_the_backward_raises(tmp_path, capsys):
    """math.sqrt at 0: the derivative is infinite and the generated backward,
    on Python floats, raises ZeroDivisionError; verify says so (exit 1), not
    an internal error, and asks for another point."""
    src = tmp_path / "s.py"
    src.write_text("import math\n\n\ndef f(x):\n    return math.sqrt(x)\n")
    assert main(["verify", f"{src}:f", "--at", "x=0"]) == 1
    err = capsys.readouterr().err
    assert "raises ZeroDivisionError" in err and "internal" not in err
    assert main(["verify", f"{src}:f", "--at", "x=2"]) == 0


def test_grad_o_replaces_only_a_module_codegen_wrote(tmp_path, capsys):
    source = tmp_path / "neuron.py"
    source.write_text((ROOT / "examples" / "neuron.py").read_text())
    mine = tmp_path / "mine.py"
    mine.write_text("x = 1\n")
    target = f"{source}:neuron"
    assert main(["grad", target, "-o", str(source)]) == 2  # the source itself
    assert main(["grad", target, "-o", str(mine)]) == 2  # a file of the user's
    assert "def neuron" in source.read_text() and mine.read_text() == "x = 1\n"
    err = capsys.readouterr().err
    assert "is the source file itself" in err and "codegen did not write it" in err
    out = tmp_path / "out.py"
    assert main(["grad", target, "-o", str(out)]) == 0
    assert main(["grad", target, "-o", str(out)]) == 0  # its own module, again


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks and pipes")
def test_grad_o_never_replaces_a_link_or_a_pipe(tmp_path, capsys):
    import os

    real = tmp_path / "real.py"
    real.write_text("keep\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    for out in (link, fifo):
        assert main(["grad", NEURON, "-o", str(out)]) == 2
    assert link.is_symlink() and real.read_text() == "keep\n"
    assert not fifo.is_file()
    assert "not a regular file" in capsys.readouterr().err


def test_graph_without_dot_keeps_a_users_file_at_the_dot_path(tmp_path, capsys):
    import shutil

    if shutil.which("dot"):
        pytest.skip("Graphviz is installed: no DOT fallback")
    notes = tmp_path / "g.dot"
    notes.write_text("my notes\n")
    at = ["--at", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]
    assert main(["graph", NEURON, *at, "-o", str(tmp_path / "g.svg")]) == 2
    assert notes.read_text() == "my notes\n"
    assert "a file codegen did not write" in capsys.readouterr().err


def test_verify_of_an_empty_array_passes_and_a_huge_one_is_bad_input(tmp_path, capsys):
    relu = str(ROOT / "examples" / "relu.py") + ":relu"
    assert main(["verify", relu, "--shape", "x=0"]) == 0
    assert main(["verify", relu, "--shape", "x=100000,100000"]) == 2
    err = capsys.readouterr().err
    assert "out of memory" in err and "internal error" not in err


def test_verify_fails_a_gradient_shaped_unlike_its_parameter():
    import numpy as np

    from codegen.checks.verify import check_gradients

    def forward(x):
        return np.sum(x)

    def f_forward(x):
        return np.sum(x), ()

    def f_backward(g, cache):
        return g * 1.0  # right values, broadcast: but shaped like a number

    point = {"x": np.array([0.5, -1.0, 2.0])}
    report = check_gradients(forward, (f_forward, f_backward), ["x"], point, ["x"])
    assert not report.ok


def test_verify_draws_jaxtyping_arithmetic_of_named_sizes(tmp_path, capsys):
    # an LSTM's gate weights are "D 4*H": drawn as 4 times the size of H
    text = (ROOT / "examples" / "lstm_step.py").read_text()
    text = text.replace('"D G"', '"D 4*H"').replace('"H G"', '"H 4*H"')
    text = text.replace('"G"]', '"4*H"]')
    path = tmp_path / "lstm4.py"
    path.write_text(text)
    assert main(["verify", f"{path}:lstm_step"]) == 0, capsys.readouterr().err


def test_grad_with_standard_output_closed_is_bad_input(tmp_path):
    """``codegen grad f.py:f >&-``: nowhere to write the module, said so
    (exit 2, not an internal error); with -o it needs no stdout at all."""
    out = tmp_path / "neuron_grad.py"
    closed = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m codegen grad "{NEURON}" >&-'],
        capture_output=False,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert closed.returncode == 2
    assert "<stdout>: error: cannot write: standard output is closed" in closed.stderr
    written = subprocess.run(
        ["sh", "-c", f'"{sys.executable}" -m codegen grad "{NEURON}" -o "{out}" >&-'],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert written.returncode == 0 and "def neuron_backward" in out.read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["--at", "w0=1", "w0=2"], "--at gives 'w0' twice"),
        (["--at", "w0=1", "--at", "w0=2"], "--at gives 'w0' twice"),
        (["--shape", "w0=2", "w0=3"], "--shape gives 'w0' twice"),
    ],
)
def test_a_name_given_twice_is_a_usage_error(args, message, capsys):
    """The last value used to win silently: which point was checked?"""
    assert main(["verify", NEURON, *args]) == 2
    assert message in capsys.readouterr().err


def test_a_method_as_target_says_what_codegen_differentiates(tmp_path, capsys):
    src = tmp_path / "meth.py"
    src.write_text("class A:\n    def m(self, x):\n        return x * 2\n")
    assert main(["grad", f"{src}:A.m"]) == 2
    err = capsys.readouterr().err
    assert "'A.m' is not a function at the top level" in err
    assert "cannot read file" not in err
