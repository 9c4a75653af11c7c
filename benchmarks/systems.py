"""The systems compared on each workload, built from a `Workload`.

* codegen: the module codegen generates from ``examples/<stem>.py`` (in
  memory, with the workload's ``wrt``), its ``<f>_value_and_grad``;
* NumPy by hand: the workload's careful hand-written forward and backward
  (the fastest NumPy a careful person writes; what it is is said beside the
  row), and any earlier, plainer reference as a second row labelled as such;
* HIPS autograd and JAX (plain and jit): the *same NumPy source* as the example,
  executed with its ``np`` (or ``math``) name bound to ``autograd.numpy`` /
  ``jax.numpy``; where the example does not exist yet, or the library cannot
  run it, the workload's port in ``benchmarks/ports/`` (said in the row note);
* PyTorch eager on the CPU: the workload's torch port (idiomatic torch ops),
  gradients by ``torch.autograd.grad``;
* the forward alone (the example's function under NumPy), and the backward
  alone of codegen and of the hand-written code, for the backward/forward
  ratios.

A workload whose forward returns arrays (a layer: batch norm, an LSTM step)
is timed as a layer is used: its forward, then its backward of a fixed random
upstream gradient per output (`seeds`); autograd and JAX differentiate
sum(out * seed), the same vector-Jacobian product.

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
#: Prefix of the rows of the earlier, plainer hand-written references.
HAND_OTHER = "hand-written, "
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
class Reference:
    """A further hand-written reference, timed as a second row."""

    #: Row label after "hand-written, " (``earlier reference: reshape-max pool``).
    label: str
    #: Either a value_and_grad(*args), or forward(*args) -> (value, cache) and
    #: backward(*seeds, cache).
    value_and_grad: Callable[..., Any] | None = None
    forward: Callable[..., Any] | None = None
    backward: Callable[..., Any] | None = None
    note: str = ""


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
    #: The careful hand-written code: ``forward`` -> (value, cache) and
    #: ``backward(*seeds, cache)``, or a ``value_and_grad`` (scalar code).
    hand_forward: Callable[..., Any] | None = None
    hand_backward: Callable[..., Any] | None = None
    hand_value_and_grad: Callable[..., Any] | None = None
    #: What the careful hand-written reference is (shown beside its row).
    hand_note: str = ""
    #: Earlier or plainer hand-written references, timed as further rows.
    others: tuple[Reference, ...] = ()
    #: Number of outputs; with ``layer`` the timed call is forward plus the
    #: backward of fixed random upstream gradients (one per output).
    outputs: int = 1
    layer: bool = False
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


def make_seeds(w: Workload, args: tuple[Any, ...], rng: np.random.Generator) -> tuple[Any, ...] | None:
    """The fixed upstream gradients of a layer workload (None for a loss):
    standard normal, shaped and typed like each output of the forward."""
    if not w.layer:
        return None
    assert w.hand_forward is not None, w.name
    value = w.hand_forward(*args)[0]
    outs = value if w.outputs > 1 else (value,)
    return tuple(rng.standard_normal(np.shape(o)).astype(np.asarray(o).dtype) for o in outs)


def _pair(forward: Callable[..., Any], backward: Callable[..., Any],
          seeds: tuple[Any, ...] | None) -> Callable[..., Any]:
    """value_and_grad from a forward -> (value, cache) and a backward: seeded
    with 1.0 for a loss, with `seeds` for a layer."""
    upstream = (1.0,) if seeds is None else seeds

    def value_and_grad(*args: Any) -> Any:
        value, cache = forward(*args)
        return value, backward(*upstream, cache)

    return value_and_grad


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


def hand_value_and_grad(w: Workload, seeds: tuple[Any, ...] | None = None) -> Callable[..., Any]:
    """The careful hand-written reference of `w` as one value_and_grad(*args)."""
    if w.hand_value_and_grad is not None:
        return w.hand_value_and_grad
    assert w.hand_forward is not None and w.hand_backward is not None, w.name
    return _pair(w.hand_forward, w.hand_backward, seeds)


def hand_systems(w: Workload, args: tuple[Any, ...],
                 seeds: tuple[Any, ...] | None = None) -> list[System]:
    n = len(w.wrt)
    to_np = lambda r: as_float_arrays(r[0], _grads_tuple(r[1], n))  # noqa: E731
    vg = hand_value_and_grad(w, seeds)
    out = [System(HAND, vg, args, to_numpy=to_np, note=w.hand_note)]
    for ref in w.others:
        if ref.value_and_grad is not None:
            other = ref.value_and_grad
        else:
            assert ref.forward is not None and ref.backward is not None, ref.label
            other = _pair(ref.forward, ref.backward, seeds)
        out.append(System(HAND_OTHER + ref.label, other, args, to_numpy=to_np, note=ref.note))
    if w.hand_forward is not None and w.hand_backward is not None:
        value, cache = w.hand_forward(*args)
        upstream = (_seed(value),) if seeds is None else seeds
        out.append(System(HAND_FWD, w.hand_forward, args, kind="forward",
                          note="the forward keeping what the backward reads"))
        out.append(System(HAND_BWD, w.hand_backward, (*upstream, cache), kind="backward"))
    return out


def forward_system(w: Workload, args: tuple[Any, ...]) -> System:
    text, path, label = forward_source(w)
    f = exec_source(text, path, {})[w.func]
    return System(FORWARD, f, args, kind="forward", note=label)


def generated_module(w: Workload) -> Any:
    """The module codegen generates for `w` now, imported (raises CodegenError)."""
    from codegen import generate
    from codegen.checks.verify import module_from_source

    code = generate((ROOT / w.example).read_text(), w.example, w.func, list(w.wrt))
    return module_from_source(code, f"{w.func}_grad")


def codegen_systems(w: Workload, args: tuple[Any, ...],
                    seeds: tuple[Any, ...] | None = None) -> list[System | Result]:
    """The generated module's value_and_grad and backward, or why there is none."""
    from codegen.errors import CodegenError, CodegenErrors

    example = ROOT / w.example
    if not example.is_file():
        why = f"{w.example} does not exist yet"
        return _no_codegen(why, "not generated yet")
    try:
        mod = generated_module(w)
    except (CodegenError, CodegenErrors) as exc:
        why = "codegen refuses it: " + str(exc).strip().splitlines()[0]
        return _no_codegen(why, "not generated yet")
    except Exception as exc:  # noqa: BLE001 (a codegen bug: reported, the others timed)
        why = f"codegen failed: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}"
        return _no_codegen(why, "error")
    n = len(w.wrt)
    forward = getattr(mod, f"{w.func}_forward")
    backward = getattr(mod, f"{w.func}_backward")
    # a layer: its forward, then its backward of the workload's upstream gradients
    vg = getattr(mod, f"{w.func}_value_and_grad") if seeds is None else _pair(forward, backward, seeds)
    loss, cache = forward(*args)
    note = f"generated from {w.example} (wrt {', '.join(w.wrt)})"
    if seeds is not None:
        note += "; f_forward then f_backward(upstream, cache)"
    if w.scalar:  # scalar code must stay on Python floats, no NumPy scalars
        loss, grads = vg(*args)
        kinds = sorted({type(v).__name__ for v in (loss, *_grads_tuple(grads, n))})
        note += f"; returns {', '.join(kinds)}"
    return [
        System(CODEGEN, vg, args, note=note,
               to_numpy=lambda r: as_float_arrays(r[0], _grads_tuple(r[1], n))),
        System(CODEGEN_FWD, forward, args, kind="forward",
               note="the forward keeping what the backward reads"),
        System(CODEGEN_BWD, backward, (*((_seed(loss),) if seeds is None else seeds), cache),
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


def _scalarised(w: Workload, f: Callable[..., Any], lib: Any,
                seeds: tuple[Any, ...] | None) -> Callable[..., Any]:
    """`f` itself for a loss; for a layer, sum over outputs of sum(out * seed),
    whose gradient is the layer's vector-Jacobian product with the seeds."""
    if seeds is None:
        return f

    def vjp_loss(*a: Any) -> Any:
        value = f(*a)
        outs = value if w.outputs > 1 else (value,)
        total = 0.0
        for o, s in zip(outs, seeds, strict=True):
            total = total + lib.sum(o * s)
        return total

    return vjp_loss


def _lib_to_numpy(seeds: tuple[Any, ...] | None) -> Callable[[Any], Any]:
    """A library's (value, grads) as NumPy; a layer's value is the scalar
    sum(out * seed), not the outputs, so only its gradients are compared."""
    if seeds is None:
        return lambda r: as_float_arrays(r[0], r[1])
    return lambda r: as_float_arrays(None, r[1])


def autograd_systems(
    w: Workload, args: tuple[Any, ...], use_port: bool = False,
    seeds: tuple[Any, ...] | None = None,
) -> list[System | Result]:
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return [unavailable(AUTOGRAD, "autograd not installed")]
    text, path, label = forward_source(w, use_port)
    f = _scalarised(w, exec_source(text, path, _bindings(w, anp))[w.func], anp, seeds)
    idx = w.wrt_index
    merge = _merge(idx)
    vg = autograd.value_and_grad(lambda diff, full: f(*merge(diff, full)))
    diff = tuple(args[i] for i in idx)
    vjp = "" if seeds is None else " (gradient of sum(out * upstream))"
    return [System(AUTOGRAD, vg, (diff, args), note=f"differentiates {label}{vjp}",
                   to_numpy=_lib_to_numpy(seeds))]


def jax_systems(
    w: Workload, args: tuple[Any, ...], use_port: bool = False,
    seeds: tuple[Any, ...] | None = None,
) -> list[System | Result]:
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return [unavailable(JAX, "jax not installed"), unavailable(JAX_JIT, "jax not installed")]
    jax.config.update("jax_enable_x64", True)
    text, path, label = forward_source(w, use_port)
    jseeds = None if seeds is None else tuple(jnp.asarray(x) for x in seeds)
    f = _scalarised(w, exec_source(text, path, _bindings(w, jnp))[w.func], jnp, jseeds)
    vg = jax.value_and_grad(f, argnums=w.wrt_index)
    jitted = jax.jit(vg)
    jargs = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args)

    def plain(*a: Any) -> Any:
        return jax.block_until_ready(vg(*a))

    def with_jit(*a: Any) -> Any:
        return jax.block_until_ready(jitted(*a))

    to_np = _lib_to_numpy(seeds)
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
    if w.torch_loss is None or w.layer:
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
    w: Workload, args: tuple[Any, ...], keys: Sequence[str], threads: int | None,
    seeds: tuple[Any, ...] | None = None,
) -> list[System | Result]:
    """Every system of `keys` (see `KEYS`) for workload `w`, in table order."""
    found: list[System | Result] = []
    builders: dict[str, Callable[[], Sequence[System | Result]]] = {
        "codegen": lambda: codegen_systems(w, args, seeds),
        "hand": lambda: hand_systems(w, args, seeds),
        "autograd": lambda: autograd_systems(w, args, seeds=seeds),
        "jax": lambda: jax_systems(w, args, seeds=seeds),
        "torch": lambda: torch_systems(w, args, threads),
        "forward": lambda: [forward_system(w, args)],
    }
    for key in keys:
        found.extend(builders[key]())
    rank = {name: i for i, name in enumerate(ORDER)}
    after_hand = rank[HAND] + 0.5  # the further hand-written rows follow the careful one
    return sorted(found, key=lambda s: after_hand if s.name.startswith(HAND_OTHER)
                  else rank.get(s.name, len(rank)))
