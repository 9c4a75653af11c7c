"""The lectures' sigmoid neuron on Python floats (time per call in microseconds).

Three workloads share the careful hand-written reference, plain Python floats
with ``math.exp``: the example written with ``math.exp`` (examples/neuron.py),
and the same neuron written with ``np.exp`` on floats, unannotated and with
``float`` annotations (benchmarks/forwards/neuron_np.py).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from benchmarks.systems import Reference, Workload

PARAMS = ("w0", "x0", "w1", "x1", "w2")


def make_args(rng: np.random.Generator, tiny: bool) -> tuple[float, ...]:
    """The slides' point: w = (2, -3, -3), x = (-1, -2)."""
    return (2.0, -1.0, -3.0, -2.0, -3.0)


def hand_value_and_grad(w0: float, x0: float, w1: float, x1: float, w2: float) -> Any:
    """Careful: plain floats, math.exp, the sigmoid's derivative (1 - f) f once."""
    f = 1.0 / (1.0 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    ddot = (1.0 - f) * f
    return f, (x0 * ddot, w0 * ddot, x1 * ddot, w1 * ddot, ddot)


def slide_value_and_grad(w0: float, x0: float, w1: float, x1: float, w2: float) -> Any:
    """The lectures' hand-written forward and backward, as on the slide (lists)."""
    dot = w0 * x0 + w1 * x1 + w2
    f = 1.0 / (1 + math.exp(-dot))  # sigmoid function
    ddot = (1 - f) * f  # gradient on dot variable, using the sigmoid gradient derivation
    dx = [w0 * ddot, w1 * ddot]  # backprop into x
    dw = [x0 * ddot, x1 * ddot, 1.0 * ddot]  # backprop into w
    return f, (dw[0], dx[0], dw[1], dx[1], dw[2])


def torch_loss(torch: Any, w0: Any, x0: Any, w1: Any, x1: Any, w2: Any) -> Any:
    return torch.sigmoid(w0 * x0 + w1 * x1 + w2)


HAND_NOTE = "careful: plain Python floats, math.exp, (1 - f) f computed once"
SLIDE = Reference("earlier reference: the slide's code (lists)", slide_value_and_grad,
                  note="the lectures' slide: dx and dw built as lists")
COMMON = dict(
    params=PARAMS,
    wrt=PARAMS,
    make_args=make_args,
    hand_value_and_grad=hand_value_and_grad,
    hand_note=HAND_NOTE,
    torch_loss=torch_loss,
    unit="us",
    shapes="5 Python floats, float64",
    rtol=1e-12,
    atol_rel=1e-14,
)

WORKLOAD = Workload(
    name="neuron",
    title="Sigmoid neuron on Python floats (math.exp)",
    example="examples/neuron.py",
    func="neuron",
    others=(SLIDE,),
    scalar=True,
    notes=(
        ("autograd and JAX differentiate examples/neuron.py itself, its `math` "
        "rebound to autograd.numpy / jax.numpy; PyTorch runs on 0-d float64 tensors."),
    ),
    **COMMON,
)

NP_EXP = Workload(
    name="neuron-np",
    title="Sigmoid neuron on Python floats, forward written with np.exp",
    example="benchmarks/forwards/neuron_np.py",
    func="neuron_np",
    **COMMON,
)

NP_EXP_FLOAT = Workload(
    name="neuron-np-float",
    title="Sigmoid neuron on Python floats, np.exp, parameters annotated float",
    example="benchmarks/forwards/neuron_np.py",
    func="neuron_np_float",
    **COMMON,
)
