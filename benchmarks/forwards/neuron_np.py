"""The lectures' sigmoid neuron written with NumPy's exp on Python floats, as
people often write it: unannotated, and with every parameter annotated float."""

import numpy as np


def neuron_np(w0, x0, w1, x1, w2):
    dot = w0 * x0 + w1 * x1 + w2
    return 1 / (1 + np.exp(-dot))


def neuron_np_float(w0: float, x0: float, w1: float, x1: float, w2: float):
    dot = w0 * x0 + w1 * x1 + w2
    return 1 / (1 + np.exp(-dot))
