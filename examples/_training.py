"""Shared pieces of examples/train_mlp.py and train_cnn.py: the digits data,
the pre-training gradient check, SGD with momentum and Adam, the training loop
with its progress bar, the plot and the command line.

A helper module, not a forward (the underscore marks it private; nothing here
is differentiated and [tool.codegen] does not list it). It needs NumPy, and for
the data, progress bar and plot the `examples` extra: pip install '.[examples]'.
The gradient check is plain NumPy, so the scripts run without codegen itself.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the scripts import the kernels from generated/
    sys.path.insert(0, str(ROOT))

Params = dict[str, np.ndarray]
SPLIT_SEED = 0  # the train/validation/test split never changes with --seed
N_VAL, N_TEST = 300, 300  # of 1,797 digits; the other 1,197 train


# ----- data -----


@dataclass(frozen=True)
class Split:
    """One part of the data: images (N, 1, 8, 8) and labels (N,)."""

    x: np.ndarray
    y: np.ndarray


def load_digits() -> tuple[Split, Split, Split]:
    """scikit-learn's bundled 8x8 digits (no download), split once into train,
    validation and test with stratified classes, scaled to [0, 1] and centred
    by the mean training image."""
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    digits = sklearn_digits()
    x = digits.images.astype(np.float64)[:, None] / 16.0
    y = digits.target.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=N_TEST, stratify=y, random_state=SPLIT_SEED)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=N_VAL, stratify=y_rest, random_state=SPLIT_SEED)
    mean = x_train.mean(axis=0)
    return Split(x_train - mean, y_train), Split(x_val - mean, y_val), Split(x_test - mean, y_test)


def load_forward(name: str) -> Callable[..., Any]:
    """The user-level forward `name` from examples/<name>.py: the reference the
    gradient check differentiates numerically (its file is run, not parsed)."""
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_forward_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


# ----- the gradient check before training -----


@dataclass(frozen=True)
class Kernel:
    """A generated layer pair and a small point to check it at."""

    name: str  #: the forward's name in examples/, e.g. "affine"
    forward: Callable[..., Any]  #: f_forward(*args) -> (out, cache), generated
    backward: Callable[..., Any]  #: f_backward(dout, cache) -> grads, generated
    args: dict[str, Any]  #: the point, in parameter order
    wrt: tuple[str, ...]  #: the parameters the backward returns gradients for


def _numeric(phi: Callable[[list[Any]], float], args: list[Any], i: int,
             idx: tuple[int, ...], h: float = 1e-6) -> float:
    """Central difference of phi in entry idx of argument i."""
    x = np.array(args[i], dtype=np.float64)
    old = x[idx]
    x[idx] = old + h
    up = phi([*args[:i], x.copy(), *args[i + 1:]])
    x[idx] = old - h
    down = phi([*args[:i], x.copy(), *args[i + 1:]])
    return (up - down) / (2 * h)


def compare(phi: Callable[[list[Any]], float], args: list[Any], names: Sequence[str],
            wrt: Sequence[str], grads: Sequence[Any], rng: np.random.Generator,
            entries: int = 40) -> list[tuple[str, float, str]]:
    """(parameter, rel_error, problem) for each wrt parameter: the analytic
    gradient against central differences of phi at up to `entries` random
    entries; problem is "" when every entry agrees."""
    results = []
    for name, grad in zip(wrt, grads, strict=True):
        i = list(names).index(name)
        shape = np.shape(args[i])
        if np.shape(grad) != shape:
            results.append((name, math.inf, f"gradient shape {np.shape(grad)}, expected {shape}"))
            continue
        flat = rng.permutation(int(np.prod(shape)))[:entries]
        worst, problem = 0.0, ""
        for k in flat:
            idx = np.unravel_index(k, shape)
            a, n = float(np.asarray(grad)[idx]), _numeric(phi, args, i, idx)
            err = abs(a - n) / max(1e-8, abs(a) + abs(n))
            if not abs(a - n) <= 1e-6 + 1e-4 * abs(n) and not problem:
                problem = f"at {tuple(int(j) for j in idx)}: analytic {a:.6g}, numeric {n:.6g}"
            worst = max(worst, err)
        results.append((name, worst, problem))
    return results


def check_kernel(kernel: Kernel, reference: Callable[..., Any], seed: int = 0) -> list[str]:
    """Problems of one generated layer pair against its examples/ forward."""
    rng = np.random.default_rng(seed)
    names, args = list(kernel.args), list(kernel.args.values())
    out, cache = kernel.forward(*args)
    expected = reference(*args)
    same = np.shape(out) == np.shape(expected)
    if not same or not np.allclose(out, expected, rtol=1e-10, atol=1e-12):
        return [f"{kernel.name}_forward does not match examples/{kernel.name}.py"]
    upstream = 1.0 if np.ndim(out) == 0 else rng.standard_normal(np.shape(out))
    grads = kernel.backward(upstream, cache)
    grads = (grads,) if len(kernel.wrt) == 1 else tuple(grads)
    if len(grads) != len(kernel.wrt):
        n = len(kernel.wrt)
        return [f"{kernel.name}_backward returned {len(grads)} gradients, expected {n}"]

    def phi(a: list[Any]) -> float:
        return float(np.sum(reference(*a) * upstream))

    return [f"{kernel.name}_backward, gradient of {p}: {why} (rel_error {err:.1e})"
            for p, err, why in compare(phi, args, names, kernel.wrt, grads, rng) if why]


def gradient_check(kernels: Sequence[Kernel], model_check: Callable[[], list[str]],
                   log: Callable[[str], None]) -> bool:
    """Check every kernel against its examples/ forward, then the model's
    gradient (the kernels chained by the script) against its own loss."""
    problems = []
    for kernel in kernels:
        problems += check_kernel(kernel, load_forward(kernel.name))
    problems += model_check()
    if problems:
        log("gradient check FAILED, not training:")
        for p in problems:
            log(f"  {p}")
        log("the generated kernels in generated/ are wrong or stale: run `codegen build`")
        return False
    log(f"gradient check passed: {', '.join(k.name for k in kernels)} and the whole model")
    return True


def check_model(loss_and_grads: Callable[..., tuple[float, Params]], params: Params,
                x: np.ndarray, y: np.ndarray, reg: float, seed: int = 0) -> list[str]:
    """Problems of the model's chained backward against central differences of
    its loss on a small batch."""
    names = list(params)
    _, grads = loss_and_grads(params, x, y, reg)

    def phi(a: list[Any]) -> float:
        return float(loss_and_grads(dict(zip(names, a, strict=True)), x, y, reg)[0])

    rng = np.random.default_rng(seed)
    found = compare(phi, list(params.values()), names, names, [grads[n] for n in names], rng, 20)
    return [f"model, gradient of {p}: {why} (rel_error {err:.1e})" for p, err, why in found if why]


# ----- optimisers -----


class SGDMomentum:
    """The lectures' momentum update: v = gamma v + eta grad; theta = theta - v."""

    def __init__(self, params: Params, lr: float, momentum: float = 0.9):
        self.lr, self.momentum = lr, momentum
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, params: Params, grads: Params) -> None:
        for k, p in params.items():
            self.v[k] = self.momentum * self.v[k] + self.lr * grads[k]
            p -= self.v[k]


class Adam:
    """Adam (Kingma and Ba) with bias correction."""

    def __init__(self, params: Params, lr: float, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-8):
        self.lr, self.beta1, self.beta2, self.eps, self.t = lr, beta1, beta2, eps, 0
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def step(self, params: Params, grads: Params) -> None:
        self.t += 1
        for k, p in params.items():
            self.m[k] = self.beta1 * self.m[k] + (1 - self.beta1) * grads[k]
            self.v[k] = self.beta2 * self.v[k] + (1 - self.beta2) * grads[k] ** 2
            m_hat = self.m[k] / (1 - self.beta1**self.t)
            v_hat = self.v[k] / (1 - self.beta2**self.t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# ----- training -----


@dataclass(frozen=True)
class Model:
    """What a script defines; _training does the rest."""

    name: str  #: "mlp" or "cnn"
    title: str  #: for the plot
    init: Callable[[np.random.Generator], Params]
    loss_and_grads: Callable[..., tuple[float, Params]]  #: (params, x, y, reg) -> (loss, grads)
    scores: Callable[[Params, np.ndarray], np.ndarray]  #: class scores, forward only
    data_loss: Callable[[np.ndarray, np.ndarray], float]  #: softmax loss of scores
    kernels: Callable[[np.random.Generator], list[Kernel]]  #: the layers to check
    defaults: dict[str, Any] = field(default_factory=dict)  #: flag defaults


@dataclass
class History:
    """Per epoch (epoch 0 is before training): full-set loss and accuracy."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Result:
    history: History
    params: Params
    test_acc: float
    seconds: float  #: the training loop alone, evaluation included


def evaluate(model: Model, params: Params, data: Split, batch: int = 500) -> tuple[float, float]:
    """(softmax loss without the L2 term, accuracy) over a whole split."""
    scores = np.concatenate([model.scores(params, data.x[i:i + batch])
                             for i in range(0, len(data.y), batch)])
    return model.data_loss(scores, data.y), float(np.mean(scores.argmax(axis=1) == data.y))


def fit(model: Model, args: argparse.Namespace,
        log: Callable[[str], None] = print) -> Result | None:
    """Check the kernels, then train; None when the gradient check fails."""
    train, val, test = load_digits()
    if args.train_size:
        train = Split(train.x[:args.train_size], train.y[:args.train_size])
    rng = np.random.default_rng(args.seed)
    params = model.init(rng)
    if not check_before_training(model, params, train, args, log):
        return None
    start = time.perf_counter()
    history = train_loop(model, params, train, val, args, rng)
    seconds = time.perf_counter() - start
    return Result(history, params, evaluate(model, params, test)[1], seconds)


def check_before_training(model: Model, params: Params, train: Split,
                          args: argparse.Namespace, log: Callable[[str], None]) -> bool:
    """The gradient check of every kernel, then of the model on 8 training
    images (at the initial parameters moved a little, so biases are not 0)."""
    rng = np.random.default_rng(args.seed + 1)
    moved = {k: p + 0.1 * rng.standard_normal(p.shape) for k, p in params.items()}

    def model_check() -> list[str]:
        return check_model(model.loss_and_grads, moved, train.x[:8], train.y[:8], args.reg)

    return gradient_check(model.kernels(rng), model_check, log)


def train_loop(model: Model, params: Params, train: Split, val: Split,
               args: argparse.Namespace, rng: np.random.Generator) -> History:
    """Minibatch training, updating params in place; the loss and accuracy of
    both splits before training and after each epoch."""
    opt = (SGDMomentum(params, args.lr, args.momentum) if args.optimizer == "sgd"
           else Adam(params, args.lr))
    history = History()

    def record() -> None:
        for split, losses, accs in ((train, history.train_loss, history.train_acc),
                                    (val, history.val_loss, history.val_acc)):
            loss, acc = evaluate(model, params, split)
            losses.append(loss)
            accs.append(acc)

    def status(loss: float) -> dict[str, str]:
        """The bar's postfix: this epoch's mean minibatch loss (with the L2
        term), and the accuracies measured after the last epoch."""
        return {"loss": f"{loss:.4f}", "train_acc": f"{history.train_acc[-1]:.3f}",
                "val_acc": f"{history.val_acc[-1]:.3f}"}

    record()
    steps = math.ceil(len(train.y) / args.batch_size)
    with progress(args.epochs * steps, not args.no_progress) as bar:
        for epoch in range(1, args.epochs + 1):
            bar.set_description(f"epoch {epoch}/{args.epochs}")
            order, total = rng.permutation(len(train.y)), 0.0
            for step in range(steps):
                batch = order[step * args.batch_size:(step + 1) * args.batch_size]
                loss, grads = model.loss_and_grads(params, train.x[batch], train.y[batch],
                                                   args.reg)
                opt.step(params, grads)
                total += loss
                bar.update(1)
                bar.set_postfix(status(total / (step + 1)), refresh=False)
            record()
            bar.set_postfix(status(total / steps))
    return history


def progress(total: int, enabled: bool) -> Any:
    """A tqdm bar over every minibatch step (epoch, loss and accuracy in it)."""
    from tqdm import tqdm

    return tqdm(total=total, disable=not enabled, unit="step", dynamic_ncols=True, leave=True)


def plot(history: History, path: Path, title: str) -> None:
    """Training and validation loss and accuracy per epoch, written as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(len(history.train_loss))
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
    ax_loss.plot(epochs, history.train_loss, label="training")
    ax_loss.plot(epochs, history.val_loss, label="validation")
    ax_loss.set(xlabel="epoch (0: before training)", ylabel="softmax loss", yscale="log",
               title="loss (cross-entropy, without the L2 term)")
    ax_acc.plot(epochs, 100 * np.array(history.train_acc), label="training")
    ax_acc.plot(epochs, 100 * np.array(history.val_acc), label="validation")
    low = min(90.0, 100 * min(history.val_acc[1:] or history.val_acc))
    ax_acc.set(xlabel="epoch (0: before training)", ylabel="accuracy (%)",
               ylim=(max(0.0, low - 2), 100.5), title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ----- command line -----


def parse_args(model: Model, argv: Sequence[str] | None) -> argparse.Namespace:
    d = {"lr": 0.05, "batch_size": 32, "epochs": 30, "reg": 1e-4, "momentum": 0.9,
         "optimizer": "sgd", **model.defaults}
    ap = argparse.ArgumentParser(
        description=f"Train the {model.name.upper()} on scikit-learn's 8x8 digits with the "
        "generated kernels in generated/ (NumPy only).")
    ap.add_argument("--lr", type=float, default=d["lr"], help="learning rate (default %(default)s)")
    ap.add_argument("--batch-size", type=int, default=d["batch_size"],
                    help="minibatch size (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=d["epochs"], help="epochs (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0,
                    help="initialisation and shuffling seed; the data split is fixed (default 0)")
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default=d["optimizer"],
                    help="sgd: SGD with momentum; adam: Adam (default %(default)s)")
    ap.add_argument("--momentum", type=float, default=d["momentum"],
                    help="SGD momentum gamma (default %(default)s)")
    ap.add_argument("--reg", type=float, default=d["reg"],
                    help="L2 weight decay lambda, loss + lambda sum(W^2) (default %(default)s)")
    ap.add_argument("--train-size", type=int, default=0,
                    help="train on the first N training images only (default: all 1,197)")
    ap.add_argument("--plot", type=Path, default=Path(f"training_{model.name}.png"),
                    help="where to write the loss and accuracy plot (default %(default)s)")
    ap.add_argument("--no-plot", action="store_true", help="write no plot")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap.parse_args(argv)


def shown(path: Path) -> Path:
    """`path` relative to the working directory when it is below it."""
    try:
        return path.resolve().relative_to(Path.cwd())
    except ValueError:
        return path


def main(model: Model, argv: Sequence[str] | None = None) -> int:
    args = parse_args(model, argv)
    result = fit(model, args, log=lambda s: print(s, file=sys.stderr))
    if result is None:
        return 1
    h = result.history
    if not args.no_plot:
        plot(h, args.plot, f"{model.title}: test accuracy {result.test_acc:.1%} "
             f"({args.optimizer}, {args.epochs} epochs, seed {args.seed})")
    where = "" if args.no_plot else f"; plot {shown(args.plot)}"
    print(f"{model.name}: test accuracy {result.test_acc:.2%}, validation {h.val_acc[-1]:.2%}, "
          f"train loss {h.train_loss[0]:.3f} -> {h.train_loss[-1]:.4f}, "
          f"{args.epochs} epochs in {result.seconds:.1f} s ({args.optimizer}, lr {args.lr}, "
          f"batch {args.batch_size}, seed {args.seed}){where}")
    return 0
