"""The two independent references the pass tests compare generated gradients
with: central differences of the forward, and HIPS autograd running the same
source with autograd.numpy; and second order checked against central
differences of the first-order generated code."""

from __future__ import annotations

import inspect

import autograd
import numpy as np
from programs.second import hvp_source

from codegen.checks.verify import check_gradients, module_from_source
from codegen.pipeline import generate


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


def hessian_vector_products(
    source: str, first: str, wrt: list[str], point: dict, tag: str, h: float = 1e-6
) -> list[tuple[str, object, object]]:
    """Second order through `first`, the generated module of `f` in `source`:
    its value-and-grad becomes ``hvp(..., v_p, ...)`` (`programs.second`),
    codegen differentiates that, and for each `wrt` parameter p this gives
    (p, H v from that derivative, central differences of hvp, which runs
    only first-order code) at `point`, with a direction v_p per parameter
    (seed 7). `tag` names the modules loaded."""
    forward = module_from_source(source, f"{tag}_forward2")
    params = list(inspect.signature(forward.f).parameters)
    hvp_src = hvp_source(first, "f", params, wrt)
    second = generate(hvp_src, "hvp.py", "hvp", wrt)
    hv = module_from_source(hvp_src, f"{tag}_hvp")
    mod = module_from_source(second, f"{tag}_hvp_grad")
    point = dict(point)
    rng = np.random.default_rng(7)
    for p in wrt:
        point[f"v_{p}"] = rng.standard_normal(np.shape(point[p]))
    args = {n: point[n] for n in inspect.signature(hv.hvp).parameters}
    _, grads = mod.hvp_value_and_grad(**args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    return [
        (p, g, central(hv.hvp, args, p, h)) for p, g in zip(wrt, grads, strict=True)
    ]


def second_order_report(source: str, wrt: list[str], point: dict, rng, case: str):
    """Second order through the generated module of `f` in `source`, checked
    the way first order is: its value-and-grad becomes ``hvp(..., v_p, ...)``
    (`programs.second`), codegen differentiates that, and `check_gradients`
    compares the result with central differences of hvp at `point`, a
    direction v_p per parameter drawn from `rng`. Returns (the report, the
    second-order module's code)."""
    first = generate(source, "<test>", "f", wrt)
    hvp_src = hvp_source(first, "f", wrt, wrt)
    second = generate(hvp_src, "hvp.py", "hvp", wrt)
    forward = module_from_source(hvp_src, "hvp_forward_under_test")
    mod = module_from_source(second, "hvp_grad_under_test")
    point = dict(point)
    for p in wrt:
        point[f"v_{p}"] = rng.standard_normal(np.shape(point[p]))
    every = wrt + [f"v_{p}" for p in wrt]
    report = check_gradients(
        forward.hvp, (mod.hvp_forward, mod.hvp_backward), every, point, wrt, case
    )
    return report, second
