"""The worked example of the numeric-gradient lecture: f(a, b) = (a + b)(b + 1)."""


def forward(a, b):
    c = a + b
    d = b + 1
    f = c * d
    return f
