"""Property test: elementwise ops over random broadcast-compatible shapes give
gradients summed back to each operand's shape, matching central differences,
with and without shape annotations."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from codegen.checks.verify import check_gradients
from conftest import build

OPS = {
    "add": "a + b",
    "sub": "a - b",
    "mul": "a * b",
    "div": "a / (b * b + 1)",
    "maximum": "np.maximum(a, b)",
    "where": "np.where(a > b, a * b, b)",
    "pow": "(a * a + 1) ** b",
}

_cache: dict = {}


def _module(op: str, sa: tuple, sb: tuple, annotate: bool):
    key = (op, sa, sb, annotate)
    if key not in _cache:

        def ann(shape):
            return (
                f': Float[np.ndarray, "{" ".join(map(str, shape))}"]'
                if annotate
                else ""
            )

        src = (
            "from __future__ import annotations\nimport numpy as np\n\n"
            f"def f(a{ann(sa)}, b{ann(sb)}):\n    out = {OPS[op]}\n    return out\n"
        )
        _cache[key] = build(src, "f", ["a", "b"])
    return _cache[key]


@settings(deadline=None, max_examples=60)
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, max_side=3
    ),
    op=st.sampled_from(sorted(OPS)),
    annotate=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_broadcast_gradients_sum_back_to_each_operand(shapes, op, annotate, seed):
    sa, sb = shapes.input_shapes
    forward, generated, _ = _module(op, sa, sb, annotate)
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if op in (
        "maximum",
        "where",
    ):  # keep away from the kink a == b: |a| >= 1 > 0.5 >= |b|
        a = np.where(a < 0, -1.0, 1.0) * rng.uniform(1, 2, sa)
        b = rng.uniform(-0.5, 0.5, sb)
    pair = (generated.f_forward, generated.f_backward)
    report = check_gradients(
        forward.f, pair, ["a", "b"], {"a": a, "b": b}, ["a", "b"], op, seed
    )
    assert report.ok, report.summary()
    out, cache = generated.f_forward(a, b)
    ga, gb = generated.f_backward(np.ones(np.shape(out)), cache)
    assert np.shape(ga) == np.shape(a) and np.shape(gb) == np.shape(b)
