"""The training scripts (examples/train_*.py) in a short mode: a few epochs on
a subset of the digits. The loss goes down, results repeat for a seed, the
plot and summary appear, and a wrong kernel stops training before it starts."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

SCRIPTS = ["train_mlp", "train_cnn"]
SHORT = ["--epochs", "3", "--train-size", "200", "--no-progress", "--no-plot"]


@pytest.fixture
def load(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    return importlib.import_module


def fit(script, argv, log=lambda s: None):
    t = script.T
    return t.fit(script.MODEL, t.parse_args(script.MODEL, argv), log=log)


@pytest.mark.parametrize("name", SCRIPTS)
def test_short_run_lowers_the_loss(load, name):
    script = load(name)
    h = fit(script, SHORT).history
    assert len(h.train_loss) == 4  # epoch 0 is before training
    assert h.train_loss[-1] < 0.7 * h.train_loss[0], h.train_loss
    assert h.val_loss[-1] < h.val_loss[0], h.val_loss
    assert h.val_acc[-1] > 0.5  # chance is 0.1


@pytest.mark.parametrize("name", SCRIPTS)
def test_adam_lowers_the_loss_too(load, name):
    script = load(name)
    h = fit(script, [*SHORT, "--optimizer", "adam", "--lr", "1e-2"]).history
    assert h.train_loss[-1] < 0.7 * h.train_loss[0], h.train_loss


def test_a_seed_gives_the_same_run(load):
    script = load("train_mlp")
    a, b = fit(script, [*SHORT, "--seed", "3"]), fit(script, [*SHORT, "--seed", "3"])
    c = fit(script, [*SHORT, "--seed", "4"])
    assert a.history == b.history and a.test_acc == b.test_acc
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert a.history.train_loss != c.history.train_loss


def _pass_through(ref):
    return lambda dout, cache: dout  # ReLU letting the gradient through where x < 0


def _bias_off(ref):
    def wrong(dout, cache):
        dx, dw, db = ref(dout, cache)
        return dx, dw, 1.01 * db

    return wrong


def _doubled(ref):
    return lambda dout, cache: 2 * ref(dout, cache)


def _flipped_filter(ref):
    def wrong(dout, cache):  # convolution and correlation mixed up
        dx, dw, db = ref(dout, cache)
        return dx, dw[:, :, ::-1, ::-1], db

    return wrong


def _average_pool(ref):  # the 2x2 average pool's gradient, not the max pool's
    return lambda dout, cache: np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3) / 4


WRONG = [
    ("train_mlp", "relu_backward", _pass_through, "relu_backward, gradient of x"),
    ("train_mlp", "affine_backward", _bias_off, "affine_backward, gradient of b"),
    (
        "train_mlp",
        "softmax_loss_backward",
        _doubled,
        "softmax_loss_backward, gradient of x",
    ),
    ("train_cnn", "conv_backward", _flipped_filter, "conv_backward, gradient of w"),
    (
        "train_cnn",
        "max_pool_backward",
        _average_pool,
        "max_pool_backward, gradient of x",
    ),
]


@pytest.mark.parametrize(("name", "attr", "wrong", "message"), WRONG)
def test_a_wrong_kernel_stops_training(
    load, monkeypatch, capsys, name, attr, wrong, message
):
    script = load(name)
    monkeypatch.setattr(script, attr, wrong(getattr(script, attr)))
    assert script.T.main(script.MODEL, SHORT) == 1
    out, err = capsys.readouterr()
    assert "gradient check FAILED, not training" in err and message in err, err
    assert "run `codegen build`" in err
    assert "test accuracy" not in out and "epoch" not in err


def test_a_wrongly_chained_model_stops_training(load, monkeypatch, capsys):
    """Right kernels, wrong script: the L2 term's gradient forgotten."""
    script = load("train_mlp")
    right = script.loss_and_grads

    def forgetful(p, x, y, reg):
        loss, grads = right(p, x, y, reg)
        return loss, {**grads, "W1": grads["W1"] - 2 * reg * p["W1"]}

    monkeypatch.setattr(script, "loss_and_grads", forgetful)
    assert script.T.main(script.MODEL, [*SHORT, "--reg", "0.1"]) == 1
    assert "model, gradient of W1" in capsys.readouterr().err


def test_the_check_compares_against_the_examples_forward(load):
    """A kernel whose forward and backward agree with each other but not with
    examples/affine.py is caught too."""
    script = load("train_mlp")
    t = script.T
    k = script.kernels(np.random.default_rng(0))[0]

    def doubled(x, w, b):
        out, cache = script.affine_forward(x, 2 * w, b)
        return out, cache

    bad = t.Kernel(k.name, doubled, k.backward, k.args, k.wrt)
    assert t.check_kernel(bad, t.load_forward("affine")) == [
        "affine_forward does not match examples/affine.py"
    ]
    assert t.check_kernel(k, t.load_forward("affine")) == []


def test_momentum_and_adam_updates_follow_their_formulas(load):
    t = load("_training")
    p = {"w": np.array([1.0, -2.0])}
    g = {"w": np.array([0.5, 0.25])}
    sgd = t.SGDMomentum(p, lr=0.1, momentum=0.9)
    sgd.step(p, g)  # v = 0.1 g
    sgd.step(p, g)  # v = 0.9 * 0.1 g + 0.1 g = 0.19 g
    assert np.allclose(p["w"], [1.0, -2.0] - 0.29 * g["w"])
    q = {"w": np.array([1.0, -2.0])}
    t.Adam(q, lr=0.01).step(q, g)  # the first step moves each entry by lr
    assert np.allclose(q["w"], [0.99, -2.01])


def test_the_split_is_fixed_and_stratified(load):
    t = load("_training")
    train, val, test = t.load_digits()
    assert (len(train.y), len(val.y), len(test.y)) == (1197, 300, 300)
    assert train.x.shape[1:] == (1, 8, 8)
    assert np.bincount(test.y).min() >= 28  # every digit about 30 times
    again = t.load_digits()[2]
    assert np.array_equal(test.x, again.x) and np.array_equal(test.y, again.y)


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_command_prints_a_summary_and_writes_the_plot(tmp_path, name):
    png = tmp_path / "plot.png"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / f"{name}.py"),
            "--epochs",
            "2",
            "--train-size",
            "100",
            "--plot",
            str(png),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "gradient check passed" in run.stderr
    assert "epoch 2/2" in run.stderr  # the progress bar
    summary = run.stdout.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith(
        f"{name.split('_')[1]}: test accuracy "
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
