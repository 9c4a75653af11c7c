"""Smoke tests of benchmarks/: the harness on tiny sizes, never timed.

The optional systems (autograd, JAX, PyTorch) are tested only where their
library is installed (``pip install -e '.[bench]'``); CI has none of them and
runs the codegen, hand-written and forward systems alone.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from conftest import ROOT

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import harness, report, scaling, systems
from benchmarks.bench import run_workload
from benchmarks.workloads import WORKLOADS

FAST = {"tiny": True, "rounds": 2, "target": 1e-4, "warmup": 0.0}
LIBRARY = {"autograd": "autograd", "jax": "jax", "torch": "torch"}


def rows(data):
    return {r["name"]: r for r in data["results"]}


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_numpy_systems_agree_on_every_workload(name):
    w = WORKLOADS[name]
    data = run_workload(w, keys=("codegen", "hand", "forward"), **FAST)
    got = rows(data)
    assert got[systems.HAND]["status"] == "ok"
    assert got[systems.FORWARD]["status"] == "ok"
    assert len(got[systems.HAND]["times"]) == 2
    example_exists = (ROOT / w.example).is_file()
    cg = got[systems.CODEGEN]
    if example_exists and cg["status"] != "not generated yet":
        assert cg["status"] == "ok", cg["note"]
        assert cg["deviation"] <= w.atol_rel + w.rtol
    assert "| hand-written |" in report.workload_table(data)


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("autograd", "svm-500x3073x10"),
        ("jax", "neuron"),
        ("torch", "mlp-256x784x1024-f32"),
    ],
)
def test_library_systems_agree(key, name):
    pytest.importorskip(LIBRARY[key])
    data = run_workload(WORKLOADS[name], keys=("hand", key), **FAST)
    for label in systems.KEYS[key]:
        row = rows(data)[label]
        assert row["status"] == "ok", row["note"]
        assert row["times"] and row["ratios"]


def _wrong(w, args):
    """The hand-written gradient with one entry nudged by 1e-3 relative."""

    def value_and_grad(*a):
        loss, grads = systems.hand_value_and_grad(w)(*a)
        grads = [
            np.array(g, dtype=float) for g in (grads if len(w.wrt) > 1 else (grads,))
        ]
        grads[-1].flat[0] *= 1.001
        grads[-1].flat[0] += 1e-6
        return loss, grads

    return harness.System(
        "wrong",
        value_and_grad,
        args,
        to_numpy=lambda r: harness.as_float_arrays(r[0], r[1]),
    )


@pytest.mark.parametrize("name", ["neuron", "svm-500x3073x10"])
def test_a_wrong_gradient_is_caught_and_not_timed(name):
    w = WORKLOADS[name]
    args = w.make_args(np.random.default_rng(0), True)
    data = run_workload(w, keys=("hand",), extra=[_wrong(w, args)], **FAST)
    wrong = rows(data)["wrong"]
    assert wrong["status"] == "mismatch"
    assert w.wrt[-1] in wrong["note"]
    assert wrong["times"] == []


def test_compare_reports_shape_and_value_differences():
    ref = (1.0, [np.ones((2, 3)), np.zeros(3)])
    assert (
        harness.compare(ref, (1.0, [np.ones((2, 3)), np.zeros(3)]), "ab", 1e-7, 1e-9)[0]
        == []
    )
    problems, _ = harness.compare(
        ref, (1.0, [np.ones((3, 2)), np.zeros(3)]), "ab", 1e-7, 1e-9
    )
    assert problems == ["a: shape (3, 2), expected (2, 3)"]
    problems, _ = harness.compare(
        ref, (1.1, [np.ones((2, 3)), np.zeros(3)]), "ab", 1e-7, 1e-9
    )
    assert problems and problems[0].startswith("loss")


def test_a_raising_system_is_reported_not_fatal():
    def boom(*a):
        raise ValueError("no such op. more text")

    out = harness.check_systems(
        [harness.System("boom", boom, ())], (0.0, []), (), 1e-7, 1e-9
    )
    assert out["boom"].status == "error"
    assert out["boom"].note == "ValueError: no such op"


def test_scaling_program_runs_through_every_stage():
    source = scaling.program(25)
    assert source.count("\n    v") == 25
    times, facts = scaling.run_pipeline(source)
    assert set(times) == set(scaling.STAGES)
    assert facts["verified"]
    assert facts["primitive_steps"] >= 25


def test_gradients_in_the_wrong_precision_are_flagged():
    w = WORKLOADS["mlp-256x784x1024-f32"]
    args = w.make_args(np.random.default_rng(0), True)

    def upcast(*a):
        loss, grads = systems.hand_value_and_grad(w)(*a)
        return loss, [np.asarray(g, dtype=np.float64) for g in grads]

    system = harness.System(
        "upcast", upcast, args, to_numpy=lambda r: harness.as_float_arrays(r[0], r[1])
    )
    data = run_workload(w, keys=("hand",), extra=[system], **FAST)
    row = rows(data)["upcast"]
    assert row["status"] == "ok"
    assert "gradients not in float32: W1 float64" in row["note"]


LAYERS = [
    "neuron-np",
    "neuron-np-float",
    "batchnorm-512x1024",
    "layernorm-512x1024",
    "lstm-step-64x512x512",
    "temporal-affine-32x64x256x512",
    "attention-causal-512x64",
    "softmax-ce-512x1000",
]


@pytest.mark.parametrize("name", LAYERS)
def test_new_workloads_generate_and_match_the_careful_reference(name):
    """Generated and every hand-written row agree with the careful reference
    on tiny shapes (gradients and outputs, rtol 1e-7 in float64)."""
    data = run_workload(WORKLOADS[name], keys=("codegen", "hand"), **FAST)
    for row in data["results"]:
        if row["kind"] == "grad":
            assert row["status"] == "ok", (row["name"], row["note"])
            assert row["peak_bytes"] is not None


def test_a_careful_reference_matches_central_differences():
    """The references themselves are right: each layer's hand-written
    backward against central differences of its forward (batch norm, LSTM)."""
    for name in (
        "batchnorm-512x1024",
        "lstm-step-64x512x512",
        "attention-causal-512x64",
    ):
        w = WORKLOADS[name]
        rng = np.random.default_rng(1)
        args = w.make_args(rng, True)
        seeds = systems.make_seeds(w, args, rng)
        _, grads = systems.hand_value_and_grad(w, seeds)(*args)

        def phi(a, w=w, seeds=seeds):
            value = w.hand_forward(*a)[0]
            outs = value if w.outputs > 1 else (value,)
            return sum(float(np.sum(o * s)) for o, s in zip(outs, seeds, strict=True))

        for k, i in enumerate(w.wrt_index):
            x = np.array(args[i], dtype=float)
            num = np.zeros_like(x)
            for idx in np.ndindex(x.shape):
                old = x[idx]
                x[idx] = old + 1e-6
                up = phi([*args[:i], x.copy(), *args[i + 1 :]])
                x[idx] = old - 1e-6
                down = phi([*args[:i], x.copy(), *args[i + 1 :]])
                x[idx] = old
                num[idx] = (up - down) / 2e-6
            assert np.allclose(grads[k], num, rtol=1e-5, atol=1e-7), (name, w.wrt[k])


def test_profile_lines_times_every_statement_of_the_generated_code():
    from benchmarks import profile_lines

    rows = profile_lines.profile_generated(
        "lstm-step-64x512x512", tiny=True, rounds=1, target=1e-4
    )
    assert {r.function for r in rows} == {"lstm_step_forward", "lstm_step_backward"}
    assert any("@ Wh.T" in r.source for r in rows)
    assert all(r.seconds >= 0 and 0 <= r.share <= 1 for r in rows)
    hand = profile_lines.profile_hand(
        "softmax-ce-512x1000", tiny=True, rounds=1, target=1e-4
    )
    assert any("np.exp" in r.source for r in hand)
    assert "| 1 |" in profile_lines.table(rows, 3, "ms")


def test_instrumented_code_computes_the_same_values():
    from benchmarks import profile_lines

    src = "def f(x, y):\n    a = x * y\n    b = a + x\n    return b, a\n"
    prof = profile_lines.instrument_source(src, ["f"], {}, "<test>", src)
    assert prof.functions["f"](2.0, 3.0) == (8.0, 6.0)
    assert [s[2] for s in prof.statements] == ["a = x * y", "b = a + x", "return b, a"]
    assert prof.times[0] > 0
