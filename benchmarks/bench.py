"""Run one workload: build its systems, check every gradient, time them.

`run_workload` is what ``benchmarks/run.py`` calls in each workload's own
process (and what the smoke test calls in-process on tiny sizes). It returns
a JSON-ready dict: the workload, the machine, and one row per system.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks import harness, systems
from benchmarks.harness import Result, System


def run_workload(
    w: systems.Workload,
    tiny: bool = False,
    rounds: int = 21,
    target: float = 0.05,
    warmup: float = 0.2,
    keys: Sequence[str] = tuple(systems.KEYS),
    threads: int | None = None,
    extra: Sequence[System] = (),
    seed: int = 0,
) -> dict[str, Any]:
    """Check and time every available system of `w`.

    Args:
        tiny: use the workload's tiny sizes (smoke tests).
        rounds, target, warmup: see `harness.measure`.
        keys: which systems to build (keys of `systems.KEYS`).
        threads: the thread count pinned for this process (recorded; torch
            is set to it).
        extra: further gradient systems to check and time (tests use this to
            inject a wrong gradient).
    """
    started = time.time()
    rng = np.random.default_rng(seed)
    args = w.make_args(rng, tiny)
    seeds = systems.make_seeds(w, args, rng)
    built = systems.build(w, args, keys, threads, seeds)
    built += list(extra)
    ref_sys = next(s for s in built if isinstance(s, System) and s.name == systems.HAND)
    reference = ref_sys.to_numpy(ref_sys.fn(*ref_sys.args))  # type: ignore[misc]
    runnable = [s for s in built if isinstance(s, System)]
    results = harness.check_systems(runnable, reference, w.wrt, w.rtol, w.atol_rel)
    runnable = _port_fallbacks(w, args, runnable, results, reference, seeds)
    for s in built:
        if isinstance(s, Result):
            results[s.name] = s
    harness.measure(runnable, results, systems.HAND, rounds, target, warmup, seed)
    ordered = [results[s.name] for s in built if s.name in results]
    return {
        "workload": w.name,
        "title": w.title,
        "shapes": w.shapes,
        "unit": w.unit,
        "wrt": list(w.wrt),
        "layer": w.layer,
        "tolerance": {"rtol": w.rtol, "atol_rel": w.atol_rel},
        "notes": list(w.notes),
        "tiny": tiny,
        "rounds": rounds,
        "threads": threads,
        "machine": harness.machine_info(),
        "seconds": round(time.time() - started, 1),
        "results": [r.as_dict() for r in ordered],
    }


def _port_fallbacks(
    w: systems.Workload,
    args: tuple[Any, ...],
    runnable: list[System],
    results: dict[str, Result],
    reference: tuple[Any, list[np.ndarray]],
    seeds: tuple[Any, ...] | None = None,
) -> list[System]:
    """Where autograd or JAX could not differentiate the example itself (a
    missing op raises, or a NumPy-only helper such as sliding_window_view
    silently drops the gradient), fall back to the workload's port, saying so
    in the row's note."""
    if w.port is None or not (systems.ROOT / w.example).is_file():
        return runnable
    out = list(runnable)
    for name, build in (
        (systems.AUTOGRAD, systems.autograd_systems),
        (systems.JAX, systems.jax_systems),
        (systems.JAX_JIT, systems.jax_systems),
    ):
        res = results.get(name)
        if res is None or res.status not in ("error", "mismatch"):
            continue
        why = res.note if res.status == "error" else f"gradient mismatch ({res.note})"
        for s in build(w, args, use_port=True, seeds=seeds):
            if isinstance(s, System) and s.name == name:
                again = harness.check_systems([s], reference, w.wrt, w.rtol, w.atol_rel)[name]
                again.note = f"{s.note}; on the example: {why}"
                results[name] = again
                out = [s if o.name == name else o for o in out]
    return out
