"""The two independent references the pass tests compare generated gradients
with: central differences of the forward, and HIPS autograd running the same
source with autograd.numpy."""

from __future__ import annotations

import inspect

import autograd
import numpy as np


def central(f, point: dict, name: str, h: float = 1e-6) -> np.ndarray | float:
    """d f(**point) / d point[name] by central differences, entry by entry
    (a number for a number)."""
    args = {
        k: np.array(v) if isinstance(v, np.ndarray) else v for k, v in point.items()
    }
    if not isinstance(args[name], np.ndarray):
        up = f(**{**args, name: args[name] + h})
        down = f(**{**args, name: args[name] - h})
        return (up - down) / (2 * h)
    x = args[name]
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + h
        up = f(**args)
        x[k] = old - h
        down = f(**args)
        x[k] = old
        g[k] = (up - down) / (2 * h)
    return g


def autograd_grads(source: str, point: dict, wrt: list[str], name: str = "f") -> list:
    """The gradients HIPS autograd gives for `name` in the same source, at
    `point` (parameters missing from it take their defaults)."""
    ns: dict = {}
    text = source.replace("import numpy as np", "import autograd.numpy as np")
    exec(compile(text, "<autograd>", "exec"), ns)  # noqa: S102
    f = ns[name]
    names = list(inspect.signature(f).parameters)
    args = [point[p] for p in names if p in point]
    return [autograd.grad(f, names.index(p))(*args) for p in wrt]
