"""The systems compared on each workload, built from a `Workload`.

* codegen: the module codegen generates from ``examples/<stem>.py`` (in
  memory, with the workload's ``wrt``), its ``<f>_value_and_grad``;
* NumPy by hand: the workload's hand-written forward and backward;
* HIPS autograd and JAX (plain and jit): the *same NumPy source* as the example,
  executed with its ``np`` (or ``math``) name bound to ``autograd.numpy`` /
  ``jax.numpy``; where the example does not exist yet, or the library cannot
  run it, the workload's port in ``benchmarks/ports/`` (said in the row note);
* PyTorch eager on the CPU: the workload's torch port (idiomatic torch ops),
  gradients by ``torch.autograd.grad``;
* the forward alone (the example's function under NumPy), and the backward
  alone of codegen and of the hand-written code, for the backward/forward
  ratios.

A system that cannot be built (library missing, nothing generated) becomes a
`Result` row saying why, never an exception.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import Result, System, as_float_arrays, unavailable

ROOT = Path(__file__).resolve().parent.parent

#: Row labels, in table order.
CODEGEN = "codegen (generated)"
HAND = "hand-written"
AUTOGRAD = "HIPS autograd"
JAX = "JAX"
JAX_JIT = "JAX + jit"
TORCH = "PyTorch eager"
FORWARD = "forward alone"
CODEGEN_FWD = "codegen forward alone"
CODEGEN_BWD = "codegen backward alone"
HAND_FWD = "hand-written forward alone"
HAND_BWD = "hand-written backward alone"
ORDER = (CODEGEN, HAND, AUTOGRAD, JAX, JAX_JIT, TORCH, FORWARD,
         CODEGEN_FWD, CODEGEN_BWD, HAND_FWD, HAND_BWD)
#: Names accepted by --systems, mapped to row labels.
KEYS = {
    "codegen": (CODEGEN, CODEGEN_FWD, CODEGEN_BWD),
    "hand": (HAND, HAND_FWD, HAND_BWD),
    "autograd": (AUTOGRAD,),
    "jax": (JAX, JAX_JIT),
    "torch": (TORCH,),
    "forward": (FORWARD,),
}


@dataclass(frozen=True)
class Workload:
    """One benchmark: a forward function, its inputs and its hand-written gradient."""

    #: Identifier (``mlp-64x3072``), the name of its result file.
    name: str
    #: Human title for the tables.
    title: str
    #: The example the generated code comes from (relative to the repository).
    example: str
    #: The function in it.
    func: str
    #: Its parameters, in order.
    params: tuple[str, ...]
    #: The parameters every system differentiates, in order.
    wrt: tuple[str, ...]
    #: (rng, tiny) -> the arguments, NumPy arrays or Python floats.
    make_args: Callable[[np.random.Generator, bool], tuple[Any, ...]]
    #: Hand-written ``value_and_grad``, ``forward`` -> (loss, cache), ``backward``.
    hand_value_and_grad: Callable[..., Any]
    hand_forward: Callable[..., Any] | None = None
    hand_backward: Callable[..., Any] | None = None
    #: (torch, *tensors) -> loss tensor; None: no torch port.
    torch_loss: Callable[..., Any] | None = None
    #: NumPy source used for autograd/JAX when the example is missing.
    port: str | None = None
    #: True for Python-float workloads (``math`` is rebound instead of ``np``).
    scalar: bool = False
    #: Time unit of the tables: "us" or "ms".
    unit: str = "ms"
    #: Sizes and dtype, for the table heading.
    shapes: str = ""
    #: Gradient equality: np.allclose(c, r, rtol, atol=atol_rel * max|r|).
    rtol: float = 1e-7
    atol_rel: float = 1e-9
    #: Notes printed under the workload's table.
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def wrt_index(self) -> tuple[int, ...]:
        return tuple(self.params.index(w) for w in self.wrt)


def forward_source(w: Workload, use_port: bool = False) -> tuple[str, str, str]:
    """(text, path, label) of the NumPy source differentiated by autograd/JAX:
    the example when it exists (unless `use_port`), else the workload's port."""
    example = ROOT / w.example
    if example.is_file() and not use_port:
        return example.read_text(), w.example, w.example
    assert w.port is not None, f"{w.name}: no example and no port"
    why = "library cannot run the example" if example.is_file() else "example not written yet"
    return (ROOT / w.port).read_text(), w.port, f"the port {w.port} ({why})"


def exec_source(text: str, path: str, bindings: dict[str, Any]) -> dict[str, Any]:
    """Execute a forward's source, then rebind module names (``np``, ``math``).

    Functions look their globals up at call time, so rebinding ``np`` after
    the file's own ``import numpy as np`` makes the same source run on
    ``autograd.numpy`` or ``jax.numpy``.
    """
    namespace: dict[str, Any] = {"__name__": f"bench_source_{Path(path).stem}"}
    exec(compile(text, path, "exec"), namespace)  # noqa: S102 (the benchmark runs the forward)
    namespace.update(bindings)
    return namespace


def _math_shim(lib: Any) -> types.SimpleNamespace:
    """A stand-in for ``math`` whose functions come from `lib`."""
    names = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh")
    return types.SimpleNamespace(pi=math.pi, e=math.e, **{n: getattr(lib, n) for n in names})


def _bindings(w: Workload, lib: Any) -> dict[str, Any]:
    return {"math": _math_shim(lib)} if w.scalar else {"np": lib}


def _grads_tuple(grads: Any, n: int) -> tuple[Any, ...]:
    return (grads,) if n == 1 else tuple(grads)


def hand_systems(w: Workload, args: tuple[Any, ...]) -> list[System]:
    n = len(w.wrt)
    out = [System(HAND, w.hand_value_and_grad, args,
                  to_numpy=lambda r: as_float_arrays(r[0], _grads_tuple(r[1], n)))]
    if w.hand_forward is not None and w.hand_backward is not None:
        loss, cache = w.hand_forward(*args)
        out.append(System(HAND_FWD, w.hand_forward, args, kind="forward",
                          note="the forward keeping what the backward reads"))
        out.append(System(HAND_BWD, w.hand_backward, (_seed(loss), cache), kind="backward"))
    return out


def forward_system(w: Workload, args: tuple[Any, ...]) -> System:
    text, path, label = forward_source(w)
    f = exec_source(text, path, {})[w.func]
    return System(FORWARD, f, args, kind="forward", note=label)


def codegen_systems(w: Workload, args: tuple[Any, ...]) -> list[System | Result]:
    """The generated module's value_and_grad and backward, or why there is none."""
    from codegen import generate
    from codegen.errors import CodegenError, CodegenErrors
    from codegen.checks.verify import module_from_source

    example = ROOT / w.example
    if not example.is_file():
        why = f"{w.example} does not exist yet"
        return _no_codegen(why, "not generated yet")
    try:
        code = generate(example.read_text(), w.example, w.func, list(w.wrt))
    except (CodegenError, CodegenErrors) as exc:
        why = "codegen refuses it: " + str(exc).strip().splitlines()[0]
        return _no_codegen(why, "not generated yet")
    except Exception as exc:  # noqa: BLE001 (a codegen bug: reported, the others timed)
        why = f"codegen failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        return _no_codegen(why, "error")
    mod = module_from_source(code, f"{w.func}_grad")
    n = len(w.wrt)
    vg = getattr(mod, f"{w.func}_value_and_grad")
    forward = getattr(mod, f"{w.func}_forward")
    loss, cache = forward(*args)
    note = f"generated from {w.example} (wrt {', '.join(w.wrt)})"
    if w.scalar:  # scalar code must stay on Python floats, no NumPy scalars
        loss, grads = vg(*args)
        kinds = sorted({type(v).__name__ for v in (loss, *_grads_tuple(grads, n))})
        note += f"; returns {', '.join(kinds)}"
    return [
        System(CODEGEN, vg, args, note=note,
               to_numpy=lambda r: as_float_arrays(r[0], _grads_tuple(r[1], n))),
        System(CODEGEN_FWD, forward, args, kind="forward",
               note="the forward keeping what the backward reads"),
        System(CODEGEN_BWD, getattr(mod, f"{w.func}_backward"), (_seed(loss), cache),
               kind="backward"),
    ]


def _seed(loss: Any) -> Any:
    """dloss/dloss = 1 in the loss's own type: a Python float for scalar code,
    a 0-d array of the loss's dtype for NumPy (a Python-float seed would make
    ``np.broadcast_to(seed, ...)`` float64 and upcast a float32 backward)."""
    return 1.0 if isinstance(loss, float) else np.ones_like(loss)


def _no_codegen(why: str, status: str) -> list[System | Result]:
    return [unavailable(CODEGEN, why, status=status),
            unavailable(CODEGEN_FWD, why, "forward", status),
            unavailable(CODEGEN_BWD, why, "backward", status)]


def _merge(idx: Sequence[int]) -> Callable[[tuple[Any, ...], tuple[Any, ...]], list[Any]]:
    def merge(diff: tuple[Any, ...], full: tuple[Any, ...]) -> list[Any]:
        out = list(full)
        for i, v in zip(idx, diff, strict=True):
            out[i] = v
        return out

    return merge


def autograd_systems(
    w: Workload, args: tuple[Any, ...], use_port: bool = False
) -> list[System | Result]:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return [unavailable(AUTOGRAD, "autograd not installed")]
    text, path, label = forward_source(w, use_port)
    f = exec_source(text, path, _bindings(w, anp))[w.func]
    idx = w.wrt_index
    merge = _merge(idx)
    vg = autograd.value_and_grad(lambda diff, full: f(*merge(diff, full)))
    diff = tuple(args[i] for i in idx)
    return [System(AUTOGRAD, vg, (diff, args), note=f"differentiates {label}",
                   to_numpy=lambda r: as_float_arrays(r[0], r[1]))]


def jax_systems(
    w: Workload, args: tuple[Any, ...], use_port: bool = False
) -> list[System | Result]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return [unavailable(JAX, "jax not installed"), unavailable(JAX_JIT, "jax not installed")]
    jax.config.update("jax_enable_x64", True)
    text, path, label = forward_source(w, use_port)
    f = exec_source(text, path, _bindings(w, jnp))[w.func]
    vg = jax.value_and_grad(f, argnums=w.wrt_index)
    jitted = jax.jit(vg)
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)

    def plain(*a: Any) -> Any:
        return jax.block_until_ready(vg(*a))

    def with_jit(*a: Any) -> Any:
        return jax.block_until_ready(jitted(*a))

    to_np = lambda r: as_float_arrays(r[0], r[1])
    return [
        System(JAX, plain, jargs, note=f"differentiates {label}, op by op", to_numpy=to_np),
        System(JAX_JIT, with_jit, jargs, note=f"differentiates {label}, compiled once",
               to_numpy=to_np),
    ]


def torch_systems(w: Workload, args: tuple[Any, ...], threads: int | None) -> list[System | Result]:
    try:
        import torch
    except ImportError:
        return [unavailable(TORCH, "torch not installed")]
    if w.torch_loss is None:
        return [unavailable(TORCH, "no torch port")]
    if threads is not None:
        torch.set_num_threads(threads)
    idx = set(w.wrt_index)
    targs = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            t = torch.tensor(a, requires_grad=i in idx and a.dtype.kind == "f")
        elif i in idx:
            t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        else:
            t = a
        targs.append(t)
    leaves = [targs[i] for i in w.wrt_index]
    loss_fn = w.torch_loss

    def value_and_grad(*a: Any) -> Any:
        loss = loss_fn(torch, *a)
        return loss, torch.autograd.grad(loss, leaves)

    def to_np(r: Any) -> tuple[float, list[np.ndarray]]:
        return as_float_arrays(r[0].detach().numpy(), [g.numpy() for g in r[1]])

    return [System(TORCH, value_and_grad, tuple(targs), note="torch port, torch.autograd.grad",
                   to_numpy=to_np)]


def build(
    w: Workload, args: tuple[Any, ...], keys: Sequence[str], threads: int | None
) -> list[System | Result]:
    """Every system of `keys` (see `KEYS`) for workload `w`, in table order."""
    found: list[System | Result] = []
    builders: dict[str, Callable[[], Sequence[System | Result]]] = {
        "codegen": lambda: codegen_systems(w, args),
        "hand": lambda: hand_systems(w, args),
        "autograd": lambda: autograd_systems(w, args),
        "jax": lambda: jax_systems(w, args),
        "torch": lambda: torch_systems(w, args, threads),
        "forward": lambda: [forward_system(w, args)],
    }
    for key in keys:
        found.extend(builders[key]())
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found, key=lambda s: rank.get(s.name, len(rank)))
