"""The gradient-speed workloads, by name, in report order."""

from __future__ import annotations

from benchmarks.systems import Workload
from benchmarks.workloads import conv, mlp, neuron, svm

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        neuron.WORKLOAD,
        mlp.MLP_A,
        mlp.MLP_B32,
        mlp.MLP_B64,
        conv.WORKLOAD,
        svm.WORKLOAD,
    )
}
