"""The lectures' two-layer scalar network with squared loss.

h1 = sigmoid(w1 * x), h2 = sigmoid(w2 * h1), L = 0.5 * (y - h2)^2.
"""

import math


def sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


def two_layer(w1, w2, x, y):
    h1 = sigmoid(w1 * x)
    h2 = sigmoid(w2 * h1)
    L = 0.5 * (y - h2) ** 2
    return L
