"""Item assignment into a Python list the forward builds (``vals = [0.0] *
3; vals[i] = np.max(x[i])``): the list with that item replaced, kept as the
value it is (an array would convert it to its dtype: ``[0, 0]`` would
truncate floats to integers). Checked against the forward's value and
central differences; what Python would change elsewhere is refused."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build
from references import central

from codegen.errors import CodegenError

HEADER = "import numpy as np\n\nT = 3\n\n\n"

CASES = {
    "ints_then_floats": "vals = [0, 0]\n    vals[0] = np.sum(x)\n    vals[1] = np.max(x)\n"
    "    return vals[0] * vals[1]",
    "filled_in_a_loop": "vals = [0, 0, 0]\n    for i in range(3):\n"
    "        vals[i] = np.mean(x[i])\n    return np.sum(np.array(vals) ** 2)",
    "repetition": "vals = [0.0] * 3\n    for i in range(3):\n        vals[i] = np.max(x[i])\n"
    "    return vals[0] + 2 * vals[1] + 3 * vals[2]",
    "arrays_as_items": "rows = [0, 0]\n    rows[0] = x[0] * 2\n    rows[1] = x[1] ** 2\n"
    "    return np.sum(rows[0] * rows[1])",
    "augmented_and_negative": "v = [1.0, 2.0]\n    v[-1] += np.sum(x)\n    v[0] *= x[0, 0]\n"
    "    return v[0] * v[1]",
    "repetition_of_a_module_constant": "vals = T * [0.0]\n    for t in range(T):\n"
    "        vals[t] = x[t] ** 2\n    return vals[0] * vals[-1] + np.sum(np.stack(vals))",
    "augmented_array_item_held_by_the_list_only": "hs = [x * 2.0, x * 3.0]\n"
    "    hs[0] *= 2.0\n    return hs[0] + hs[1]",
    "concatenated": "v = [0.0] * T + [1.0]\n    v[0] = np.sum(x)\n"
    "    return v[0] * v[-1] + v[1]",
    "from_a_comprehension": "v = [0.0 for _ in range(3)]\n    w = [x[i] * 2.0 for i in range(3)]\n"
    "    v[1] = np.sum(x)\n    w[0] = x[0] ** 2\n    return v[1] * np.sum(np.stack(w))",
    "append_in_a_loop": "hs = []\n    for i in range(3):\n"
    "        hs.append(np.tanh(x[i] * (i + 1.0)))\n"
    "    return np.sum(np.stack(hs) ** 2) + np.sum(hs[-1])",
    "list_of_views": "v = [x[0], x[1]]\n    v[1] = x[2] * 3\n    return np.sum(np.stack(v) ** 2)",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_list_item_assignment_keeps_the_value(case):
    source = f"{HEADER}def f(x):\n    {CASES[case]}\n"
    forward, generated, code = build(source, "f", ["x"])
    point = {"x": np.random.default_rng(1).standard_normal((3, 4))}
    out, grad = generated.f_value_and_grad(**point)
    assert np.allclose(out, forward.f(**point), rtol=1e-12), code

    def loss(**kw):
        return np.sum(forward.f(**kw))

    assert np.allclose(grad, central(loss, point, "x"), atol=1e-6), code


@pytest.mark.parametrize(
    "body,message",
    [
        (
            "v = [0.0, 0.0]\n    outer = [v, 1.0]\n    v[0] = np.sum(x)\n"
            "    return outer[0][0]",
            "which 'outer' also holds",
        ),
        ("v = (0.0, 0.0)\n    v[0] = np.sum(x)\n    return v[0]", "a tuple's items"),
        ("v = [0.0, 0.0]\n    v[i] = np.sum(x)\n    return v[0]", "constant integer"),
        (
            "v = [0.0] * len(x)\n    v[0] = x[0]\n    return v[0]",
            "known only at run time",
        ),
        (
            "a = [x, x]\n    b = a\n    b[0] = x * 3.0\n    return a[0]",
            "which 'a' also holds",
        ),
        (
            "a = x * 1.0\n    hs = [a]\n    hs[0] += 1.0\n    return a",
            "also held elsewhere",
        ),
        (
            "hs = [x, x * 2.0]\n    hs[0] += 1.0\n    return hs[0]",
            "also held elsewhere",
        ),
        (
            "hs = [x * 2.0, x]\n    hs[1] = hs[0]\n    hs[1] += 1.0\n    return hs[0]",
            "that another item also is",
        ),
        ("x.append(1.0)\n    return x", "not a list the function builds"),
    ],
    ids=[
        "held-by-another-list",
        "tuple",
        "index-known-at-run-time",
        "length-known-at-run-time",
        "rebound-name",
        "array-item-held-by-a-name",
        "array-item-the-callers",
        "array-item-twice-in-the-list",
        "append-to-an-array",
    ],
)
def test_what_a_list_item_assignment_cannot_follow_is_refused(body, message):
    source = f"{HEADER}def f(x, i):\n    {body}\n"
    with pytest.raises(CodegenError, match=message):
        build(source, "f", ["x"])


def test_a_helper_assigning_into_its_callers_list_is_refused():
    source = (
        f"{HEADER}def scale_first(v):\n    v[0] = v[0] * 3.0\n    return 0.0\n\n\n"
        "def f(x):\n    v = [x, x * 2.0]\n    z = scale_first(v)\n    return v[0] + z\n"
    )
    with pytest.raises(CodegenError, match="which the caller also holds"):
        build(source, "f", ["x"])


#: Lists indexed by numbers the source decides (a loop item, module constant
#: or arithmetic of them: an RNN's ``hs[t - 1]``), and lists or tuples returned.
INDEXED = {
    "previous_state": "hs = [h0]\n    for t in range(1, T + 1):\n"
    "        hs.append(np.tanh(x[t - 1] + hs[t - 1] * 0.5))\n"
    "    return np.sum(np.stack(hs)) + np.sum(hs[T])",
    "assigned_from_the_end": "v = [0.0] * T\n    for t in range(T):\n"
    "        v[T - 1 - t] = np.sum(x[t] ** (t + 1))\n    return v[0] * 2 + v[1] - v[2] * v[0]",
    "running_sum": "v = [0.0, 0.0, 0.0]\n    for t in range(1, 3):\n"
    "        v[t] = v[t - 1] + np.sum(x[t] * x[t - 1])\n    return v[-1] + np.sum(h0)",
    "name_bound_to_a_number": "v = [x[0], h0]\n    i = 1\n    return np.sum(v[i] * v[i - 1])",
}


def _agrees_on_x_and_h0(body: str, seed: int) -> None:
    """f(x, h0) with `body`: the forward's value, gradients by central differences."""
    source = f"{HEADER}def f(x, h0):\n    {body}\n"
    forward, generated, code = build(source, "f", ["x", "h0"])
    rng = np.random.default_rng(seed)
    point = {"x": rng.standard_normal((3, 4)), "h0": rng.standard_normal(4)}
    out, grads = generated.f_value_and_grad(**point)
    assert np.allclose(out, forward.f(**point), rtol=1e-12), code

    def loss(**kw):
        return np.sum(forward.f(**kw))

    for name, grad in zip(["x", "h0"], grads):
        assert np.allclose(grad, central(loss, point, name), atol=1e-6), code


@pytest.mark.parametrize("case", sorted(INDEXED))
def test_a_list_indexed_by_arithmetic_of_loop_items(case):
    _agrees_on_x_and_h0(INDEXED[case], 2)


RETURNED = {
    "appended": "hs = [h0]\n    for t in range(T):\n        hs.append(x[t] * hs[-1])\n"
    "    return hs",
    "written_out": "hs = [x[0] * 2, x[1] + h0]\n    return hs",
    "same_items_from_a_comprehension": "return [np.sum(x[0]) * 2 for _ in range(3)]",
    "tuple_bound_to_a_name": "t = x * 2, h0 ** 2\n    return t",
    "one_item": "hs = [x * h0]\n    return hs",
}


@pytest.mark.parametrize("case", sorted(RETURNED))
def test_a_returned_list_is_one_output_per_item(case):
    source = f"{HEADER}def f(x, h0):\n    {RETURNED[case]}\n"
    forward, generated, code = build(source, "f", ["x", "h0"])
    rng = np.random.default_rng(3)
    point = {"x": rng.standard_normal((3, 4)), "h0": rng.standard_normal(4)}
    expected = forward.f(**point)
    out, cache = generated.f_forward(**point)
    assert isinstance(out, tuple) and len(out) == len(expected), code
    for got, want in zip(out, expected):
        assert np.shape(got) == np.shape(want) and np.allclose(got, want), code
    seeds = [rng.standard_normal(np.shape(e)) for e in expected]
    grads = generated.f_backward(*seeds, cache)

    def loss(**kw):
        return sum(np.sum(s * o) for s, o in zip(seeds, forward.f(**kw)))

    for name, grad in zip(["x", "h0"], grads):
        assert np.allclose(grad, central(loss, point, name), atol=1e-6), code


#: Lists and tuples of values concatenated, extended, sliced and measured as
#: Python does (``hs = hs + [h]``, ``hs += [h]``, ``hs[::-1]``, ``len(hs)``).
COMBINED = {
    "concatenated_in_a_loop": "hs = []\n    h = h0\n    for t in range(T):\n"
    "        h = np.tanh(x[t] + h)\n        hs = hs + [h]\n    return np.sum(np.stack(hs) ** 2)",
    "prepended": "hs = [h0]\n    for t in range(T):\n        hs = [x[t] * hs[0]] + hs\n"
    "    return np.sum(np.stack(hs) * np.arange(4.0)[:, None])",
    "tuples_concatenated": "t = (x[0], h0)\n    u = t + (x[1] * 2,)\n    return np.sum(u[0] * u[1] * u[2])",
    "constant_list_then_values": "v = [1.0] * 2 + [np.sum(h0)]\n    return v[0] + v[2] * np.sum(x)",
    "extended_in_place": "hs = [h0]\n    hs += [x[0] * 2, x[1]]\n    hs.extend([x[2] ** 2])\n"
    "    return np.sum(np.stack(hs) ** 2)",
    "reversed_by_a_slice": "hs = [x[0], x[1] * 2, h0]\n"
    "    return np.sum(np.stack(hs[::-1]) * np.arange(3.0)[:, None])",
    "sliced_from_one": "hs = [h0]\n    for t in range(T):\n        hs.append(np.sin(hs[-1] + x[t]))\n"
    "    return np.sum(np.stack(hs[1:]) ** 2)",
    "pairs_by_zip": "hs = [x[i] for i in range(T)] + [h0]\n    s = 0.0\n"
    "    for a, b in zip(hs, hs[1:]):\n        s = s + np.sum(a * b)\n    return s",
    "length_as_an_index_and_a_number": "hs = [x[0], x[1], h0]\n"
    "    return np.sum(hs[len(hs) - 1]) * len(hs) + np.sum(hs[0])",
}


@pytest.mark.parametrize("case", sorted(COMBINED))
def test_lists_combined_as_python_combines_them(case):
    _agrees_on_x_and_h0(COMBINED[case], 4)


@pytest.mark.parametrize(
    "body,message",
    [
        ("t = [x[0]] + (x[1],)\n    return np.sum(t[0])", "of a list and a tuple"),
        ("hs = [x[0]]\n    hs += x\n    return np.sum(hs[0])", "extended here only by"),
        (
            "hs = [x[0]]\n    b = hs\n    hs += [x[1]]\n    return np.sum(b[0])",
            "also holds",
        ),
        ("hs = [x[0], x[1]]\n    return np.sum(np.stack(hs[:N]))", "sliced by numbers"),
    ],
)
def test_what_list_arithmetic_cannot_follow_is_refused(body, message):
    source = f"{HEADER}def f(x, N: int):\n    {body}\n"
    with pytest.raises(CodegenError, match=message):
        build(source, "f", ["x"])
