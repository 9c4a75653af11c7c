"""The gradient-speed workloads, by name, in report order."""

from __future__ import annotations

from benchmarks.systems import Workload
from benchmarks.workloads import conv, layers, mlp, neuron, svm

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        neuron.WORKLOAD,
        neuron.NP_EXP,
        neuron.NP_EXP_FLOAT,
        mlp.MLP_A,
        mlp.MLP_B32,
        mlp.MLP_B64,
        conv.WORKLOAD,
        svm.WORKLOAD,
        layers.BATCHNORM,
        layers.LAYERNORM,
        layers.LSTM,
        layers.TEMPORAL,
        layers.ATTENTION,
        layers.SOFTMAX,
    )
}
