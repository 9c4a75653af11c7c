"""The lectures' neuron with the sigmoid written out: the graph of their first figure.

`codegen graph docs/neuron_primitives.py:neuron --at w0=2 x0=-1 w1=-3 x1=-2 w2=-3`
draws the nodes *, +, *-1, exp, +1 and 1/x of the slides.
"""

import math


def neuron(w0, x0, w1, x1, w2):
    L = 1 / (1 + math.exp(-(w0 * x0 + w1 * x1 + w2)))
    return L
