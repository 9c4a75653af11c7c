"""The lectures' first circuit: f(x, y, z) = (x + y) * z."""


def circuit(x, y, z):
    q = x + y
    f = q * z
    return f
