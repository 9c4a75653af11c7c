"""Markdown tables and PNG charts from the JSON the workload processes write."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import harness, systems

SCALE = {"us": 1e6, "ms": 1e3}
#: Systems the generated code should beat, and the ratio targets against
#: hand-written code, per workload family.
MUST_BEAT = (systems.AUTOGRAD, systems.JAX, systems.TORCH)


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "-"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def mib(n: int | None) -> str:
    """Bytes as "25.1 MiB", or KiB below 1 MiB ("-" when not measured)."""
    if n is None:
        return "-"
    if n < 2**20:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 2**20:.2f} MiB" if n < 10 * 2**20 else f"{n / 2**20:.1f} MiB"


def ratio_iqr(r: dict[str, Any]) -> str:
    """'1.02 (0.98-1.05)': the median of the paired per-round ratios and
    their interquartile range."""
    if not r.get("ratios"):
        return "-"
    med, q1, q3 = harness.summary(r["ratios"])
    return f"{med:.2f} ({q1:.2f}-{q3:.2f})"


def _row(r: dict[str, Any], unit: str, fwd: float | None) -> str:
    if r["status"] != "ok" or not r["times"]:
        return f"| {r['name']} | {r['status']} | | | | | {r['note']} |"
    med, lo, hi = harness.summary(r["times"])
    spread = (hi - lo) / 2 / med * 100
    vs_fwd = med / fwd if fwd else float("nan")
    note = r["note"]
    return (
        f"| {r['name']} | {_fmt(med * SCALE[unit])} | ±{spread:.0f}% | "
        f"{ratio_iqr(r)} | {_fmt(vs_fwd)} | {mib(r.get('peak_bytes'))} | {note} |"
    )


def forward_time(data: dict[str, Any]) -> float | None:
    for r in data["results"]:
        if r["name"] == systems.FORWARD and r["status"] == "ok" and r["times"]:
            return harness.summary(r["times"])[0]
    return None


def workload_table(data: dict[str, Any]) -> str:
    """One workload's markdown table: median time, spread, ratios."""
    unit = data["unit"]
    fwd = forward_time(data)
    lines = [
        f"### {data['title']}",
        "",
        (f"{data['shapes']}. Gradients equal to the hand-written ones within "
        f"rtol={data['tolerance']['rtol']:g}, atol={data['tolerance']['atol_rel']:g}·max|g| "
        f"before timing. {data['rounds']} rounds."),
        "",
        (f"| system | median ({'µs' if unit == 'us' else 'ms'}) | spread | × careful "
        "hand-written (IQR) | × example forward | peak memory | note |"),
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [_row(r, unit, fwd) for r in data["results"]]
    lines += ["", *[f"* {n}" for n in data.get("notes", [])]]
    extra = backward_ratios(data)
    if extra:
        lines.append("* backward / forward: " + extra)
    return "\n".join(lines).rstrip() + "\n"


def backward_ratios(data: dict[str, Any]) -> str:
    """'codegen 1.9, hand-written 1.8': each backward alone over its own
    forward alone (the one that keeps the cache)."""
    med = {
        r["name"]: harness.summary(r["times"])[0]
        for r in data["results"]
        if r["status"] == "ok" and r["times"]
    }
    parts = []
    for fwd, bwd, label in (
        (systems.CODEGEN_FWD, systems.CODEGEN_BWD, "codegen"),
        (systems.HAND_FWD, systems.HAND_BWD, "hand-written"),
    ):
        if fwd in med and bwd in med:
            parts.append(f"{label} {med[bwd] / med[fwd]:.2f}")
    if not parts:
        return ""
    return ", ".join(parts) + " (cheap-gradient principle: about 3 or less)"


def ratio_bound(name: str) -> float:
    """Issue 17's bound on generated / careful hand-written for a workload."""
    if name.startswith("mlp"):
        return 0.95
    if name.startswith("temporal-affine"):
        return 1.1
    if name == "neuron-np":
        return 5.0
    if name == "neuron-np-float":
        return 1.2
    return 1.0


def targets(all_data: Sequence[dict[str, Any]]) -> list[str]:
    """One line per target of issue 17: met or MISSED, with the figure."""
    lines = []
    for data in all_data:
        res = {r["name"]: r for r in data["results"]}
        cg = res.get(systems.CODEGEN)
        hand = res.get(systems.HAND)
        name = data["workload"]
        if cg is None or cg["status"] != "ok":
            status = cg["status"] if cg else "not run"
            lines.append(f"* {name}: codegen {status}: {cg['note'] if cg else ''}")
            continue
        cg_med = harness.summary(cg["times"])[0]
        bound = ratio_bound(name)
        ratio = statistics.median(cg["ratios"])
        verdict = "met" if ratio <= bound else "MISSED"
        lines.append(f"* {name}: codegen / careful hand-written = {ratio:.3f} "
                     f"(target ≤ {bound}): {verdict}")
        if hand and cg.get("peak_bytes") is not None and hand.get("peak_bytes") is not None:
            ok = cg["peak_bytes"] <= hand["peak_bytes"]
            lines.append(f"  * peak memory {mib(cg['peak_bytes'])}, hand-written "
                         f"{mib(hand['peak_bytes'])} (target ≤): {'met' if ok else 'MISSED'}")
        for other in MUST_BEAT:
            o = res.get(other)
            if o is None or o["status"] != "ok":
                continue
            o_med = harness.summary(o["times"])[0]
            verdict = "met" if cg_med < o_med else "MISSED"
            lines.append(f"  * faster than {other}: {other} takes {o_med / cg_med:.2f}× "
                         f"codegen's time: {verdict}")
    return lines


SUMMARY = (systems.CODEGEN, systems.HAND, systems.AUTOGRAD, systems.JAX, systems.JAX_JIT,
           systems.TORCH)


def summary_table(all_data: Sequence[dict[str, Any]]) -> str:
    """One row per workload: each system's median time, and codegen's ratios."""
    head = ["workload", "unit", *SUMMARY, "codegen / careful hand (IQR)",
            "earlier hand / careful hand", "peak memory codegen / hand",
            "codegen backward / forward"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for data in all_data:
        res = {r["name"]: r for r in data["results"]}
        unit = data["unit"]
        cells = [data["workload"], "µs" if unit == "us" else "ms"]
        for name in SUMMARY:
            r = res.get(name)
            ok = r is not None and r["status"] == "ok" and r["times"]
            cells.append(_fmt(harness.summary(r["times"])[0] * SCALE[unit]) if ok else "-")
        cg = res.get(systems.CODEGEN)
        ok = cg is not None and cg["status"] == "ok"
        cells.append(ratio_iqr(cg) if ok else "-")
        others = [r for r in data["results"]
                  if r["name"].startswith(systems.HAND_OTHER) and r["status"] == "ok"]
        cells.append(", ".join(f"{statistics.median(r['ratios']):.2f}" for r in others
                               if r["ratios"]) or "-")
        hand = res.get(systems.HAND)
        cells.append(f"{mib(cg.get('peak_bytes'))} / {mib(hand.get('peak_bytes'))}"
                     if ok and hand else "-")
        bwd = backward_ratios(data).split(",")[0]
        cells.append(bwd.removeprefix("codegen ").split(" ")[0] if bwd.startswith("codegen") else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def gradient_chart(all_data: Sequence[dict[str, Any]], path: Path) -> None:
    """Grouped bars: each system's time relative to hand-written, per workload."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = (systems.CODEGEN, systems.HAND, systems.AUTOGRAD, systems.JAX,
             systems.JAX_JIT, systems.TORCH, systems.FORWARD)
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / len(shown)
    for k, name in enumerate(shown):
        xs, ys, lo, hi = [], [], [], []
        for i, data in enumerate(all_data):
            r = next((r for r in data["results"] if r["name"] == name), None)
            if r is None or r["status"] != "ok" or not r["ratios"]:
                continue
            med, q1, q3 = harness.summary(r["ratios"])
            xs.append(i + (k - (len(shown) - 1) / 2) * width)
            ys.append(med)
            lo.append(med - q1)
            hi.append(q3 - med)
        ax.bar(xs, ys, width, yerr=[lo, hi], label=name, capsize=2)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(all_data)))
    ax.set_xticklabels([d["workload"] for d in all_data], rotation=12, fontsize=8)
    ax.set_ylabel("time / hand-written (log; lower is faster)")
    ax.set_title("Forward + all gradients, relative to hand-written code (median, IQR)")
    ax.legend(fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine_lines(machine: dict[str, Any], threads: int | None) -> list[str]:
    blas = machine.get("blas")
    if isinstance(blas, list):
        blas_text = "; ".join(
            f"{b['internal_api']} {b['version']} ({b['architecture']}, {b['num_threads']} thread(s))"
            for b in blas
        )
    else:
        blas_text = str(blas)
    env = {k: v for k, v in machine.get("openblas_env", {}).items() if v}
    return [
        f"* CPU: {machine['cpu']}, {machine['cores']} cores; {machine['platform']}",
        f"* Python {machine['python']}, NumPy {machine['numpy']}, BLAS: {blas_text}",
        (f"* threads pinned to {threads} (OMP/OPENBLAS/MKL_NUM_THREADS, torch.set_num_threads, "
        f"XLA_FLAGS `{machine.get('xla_flags', '')}`), and each workload process bound to "
        f"{threads} core(s) (sched_setaffinity: XLA ignores its thread flags)"),
        f"* OpenBLAS kernel variables: {env or 'unset'}",
        (f"* load average when the last workload ended (1, 5, 15 min): "
        f"{machine.get('load_average', '?')} on {machine['cores']} cores (a shared machine)"),
    ]
