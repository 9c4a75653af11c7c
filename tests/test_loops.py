"""``for`` loops over items the source names (codegen/front/parse_loops.py),
unrolled: gradients against central differences of the user's own forward,
the iteration in each block's comment, and the loops refused with a
location."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import build

from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

HEADER = "import numpy as np\n\nT = 4\nUSE_BIAS = True\nMODE = 2\n\n\n"

# name: (parameters, body, {param: shape})
CASES = {
    "rnn": (
        "x, h0, W, U",
        "h = h0\n    for t in range(4):\n        h = np.tanh(x[t] @ W + h @ U)\n"
        "    return np.sum(h * h)",
        {"x": (4, 2, 3), "h0": (2, 5), "W": (3, 5), "U": (5, 5)},
    ),
    "module_constant_count": (
        "x, w",
        "h = x[0]\n    for t in range(1, T):\n        h = np.tanh(h * w) + x[t]\n"
        "    return h",
        {"x": (4, 3), "w": (3,)},
    ),
    "two_statements": (
        "x, y",
        "acc = 0.0\n    for i in range(3):\n        acc = acc + np.sum(x[i] * y[i])\n"
        "        acc = acc * 0.5\n    return acc",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "list_of_numbers": (
        "x",
        "out = 0.0\n    for w in [0.5, 1.5, -2.0]:\n"
        "        out = out + np.sum(np.sin(w * x))\n    return out",
        {"x": (3,)},
    ),
    "tuple_of_arrays": (
        "a, b",
        "s = 0.0\n    for v in (a, b * 2):\n        s = s + np.sum(v * v)\n    return s",
        {"a": (3,), "b": (2,)},
    ),
    "nested": (
        "x",
        "out = x\n    for i in range(2):\n        for j in range(3):\n"
        "            out = out * x[j] + i\n    return out",
        {"x": (3,)},
    ),
    "index_arithmetic": (
        "x",
        "z = np.zeros(3)\n    for i in range(3):\n"
        "        z[i] = x[i] * x[(i + 1) % 3]\n    return z",
        {"x": (3,)},
    ),
    "augmented": (
        "x",
        "s = x * 1.0\n    for k in range(3):\n        s += x * k\n    return s",
        {"x": (3,)},
    ),
    "negative_step_and_name_after": (
        "x",
        "s = 0.0\n    for k in range(5, 0, -2):\n        s = s + x[k - 1] ** 2\n"
        "    return s * x[k]",
        {"x": (5,)},
    ),
    # ----- zip, enumerate and tuples unpacked -----
    "zip_of_layers": (
        "x, W1, b1, W2, b2",
        "h = x\n    for W, b in zip([W1, W2], [b1, b2]):\n"
        "        h = np.tanh(h @ W + b)\n    return np.sum(h * h)",
        {"x": (2, 3), "W1": (3, 4), "b1": (4,), "W2": (4, 3), "b2": (3,)},
    ),
    "enumerate_arrays": (
        "x, w",
        "s = 0.0\n    for i, v in enumerate([x, w]):\n"
        "        s = s + (i + 1) * np.sum(v * v)\n    return s",
        {"x": (3,), "w": (2,)},
    ),
    "tuples_of_numbers": (
        "x",
        "s = x\n    for k, c in [(1, 0.5), (2, 1.5)]:\n        s = s * c + x[k]\n    return s",
        {"x": (3,)},
    ),
    "enumerate_zip_nested_names": (
        "x, w",
        "s = 0.0\n    for i, (a, c) in enumerate(zip([x, w], [2.0, 3.0])):\n"
        "        s = s + i * c * np.sum(a)\n    return s",
        {"x": (3,), "w": (3,)},
    ),
    "comprehension_over_zip": (
        "x, w",
        "return np.stack([a * b for a, b in zip([x, w], [w, x])])",
        {"x": (3,), "w": (3,)},
    ),
    "range_of_len_of_a_list": (
        "x, w",
        "ws = [w, w * 2.0]\n    h = x\n    for i in range(len(ws)):\n"
        "        h = np.tanh(h * ws[i])\n    return h",
        {"x": (3,), "w": (3,)},
    ),
    "reversed_range": (
        "x, w",
        "h = x * 0.0\n    for t in reversed(range(T)):\n"
        "        h = np.tanh(h * w + x * t)\n    return h",
        {"x": (3,), "w": (3,)},
    ),
    # ----- comprehensions -----
    "stack_of_comprehension": (
        "x, y",
        "return np.stack([x[i] * y[i] for i in range(3)], axis=1)",
        {"x": (3, 4), "y": (3, 4)},
    ),
    "sum_of_generator": (
        "x",
        "return sum(x[i] * x[i] for i in range(3))",
        {"x": (3, 4)},
    ),
    "concatenate_nested_comprehension": (
        "x, y",
        "return np.concatenate([x[i, : j + 1] * y[j] for i in range(2) for j in range(3)])",
        {"x": (3, 4), "y": (3,)},
    ),
    "array_of_comprehension_name_stays_inside": (
        "x, w",
        "i = 2\n    z = np.array([np.sum(x[i] * w) for i in range(3)])\n    return z * x[i, 0]",
        {"x": (3, 4), "w": (4,)},
    ),
    "comprehension_with_if_clauses": (
        "x, y",
        "return np.stack([x[i] * y[j] for i in range(4) if i % 2 == 0 "
        "for j in range(3) if j != i and MODE > 1])",
        {"x": (4, 2), "y": (3, 2)},
    ),
    "generator_with_if_on_a_constant": (
        "x",
        "return sum(x[i] ** 2 for i in range(4) if i < MODE)",
        {"x": (4, 3)},
    ),
    "comprehension_as_an_index": (
        "x, w",
        "return np.sum(x[[i for i in range(2)]] * w) + np.sum(x[[2 * j for j in range(2)], 1])",
        {"x": (3, 4), "w": (4,)},
    ),
    # ----- conditions the source decides -----
    "if_flag": (
        "x, w",
        "if USE_BIAS:\n        y = x * w + 1.0\n    else:\n        y = x * w\n    return y",
        {"x": (3,), "w": (3,)},
    ),
    "if_elif_else": (
        "x, w",
        "if MODE == 1:\n        y = np.tanh(x)\n    elif MODE == 2:\n"
        "        y = np.sin(x) * w\n    else:\n        y = x\n    return y",
        {"x": (3,), "w": (3,)},
    ),
    "if_not_taken": (
        "x, w",
        "y = x * w\n    if not USE_BIAS and MODE > 1:\n        y = y + 1.0\n    return y",
        {"x": (3,), "w": (3,)},
    ),
    "conditional_expressions": (
        "x, w",
        "return x * (2.0 if MODE > 1 else 3.0) + (w if USE_BIAS else 0.0)",
        {"x": (3,), "w": (3,)},
    ),
    "if_on_the_loop_item": (
        "x, w",
        "h = x\n    for t in range(3):\n        h = h * w if t > 0 else h + 1.0\n"
        "        if t % 2 == 0:\n            h = np.sin(h)\n    return h",
        {"x": (3,), "w": (3,)},
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_unrolled_loop_matches_central_differences(case):
    params, body, shapes = CASES[case]
    source = f"{HEADER}def f({params}):\n    {body}\n"
    forward, generated, code = build(source, "f", list(shapes))
    rng = np.random.default_rng(0)
    for trial in range(2):
        point = {k: rng.standard_normal(s) for k, s in shapes.items()}
        expected = forward.f(**{k: np.copy(v) for k, v in point.items()})
        got, _ = generated.f_forward(**point)
        assert np.allclose(got, expected, rtol=1e-12, atol=1e-12), code
        pair = (generated.f_forward, generated.f_backward)
        report = check_gradients(
            forward.f, pair, list(shapes), point, list(shapes), case, seed=trial
        )
        assert report.ok, report.summary() + "\n" + code


def test_each_block_names_its_iteration():
    params, body, shapes = CASES["rnn"]
    _, _, code = build(f"{HEADER}def f({params}):\n    {body}\n", "f", list(shapes))
    backward = code[code.index("def f_backward") : code.index("def f_value_and_grad")]
    found = re.findall(r"# h = np\.tanh\(x\[t\] @ W \+ h @ U\) +# t = (\d)", backward)
    assert found == ["3", "2", "1", "0"], backward


@pytest.mark.parametrize(
    "body,message",
    [
        ("for i in range(len(x)):\n        x = x * 2", "count must be a number"),
        ("for i in range(x.shape[0]):\n        x = x * 2", "count must be a number"),
        ("for i in x:\n        x = x * 2", "must see its items"),
        ("for i in range(2):\n        return x", "'return' inside a 'for' loop"),
        ("for i in range(2):\n        break", "not supported"),
        ("for i in range(2):\n        x = x * 2\n    else:\n        x = x", "'else'"),
        ("for i, j in [(1, 2, 3)]:\n        x = x * i", "as many values as its names"),
        ("for i in range(5000):\n        x = x * 2", "too long to unroll"),
        ("while True:\n        x = x * 2", "'while' loops are not supported"),
        (
            "x = np.stack([x[i] for i in range(3) if x[i] > 0])",
            "comprehension 'if' whose condition is known only at run time",
        ),
        ("if x > 0:\n        x = -x", "'if' whose condition is known only at run time"),
        ("x = x if x > 0 else -x", "known only at run time"),
        ("if USE_BIAS:\n        return x", "'return' inside an 'if'"),
        ("x = np.stack([x[i] for i in range(len(x))])", "count must be a number"),
    ],
)
def test_loops_codegen_cannot_unroll_are_located_errors(body, message):
    source = f"{HEADER}def f(x):\n    {body}\n    return x\n"
    with pytest.raises(CodegenError, match=message) as err:
        build(source, "f", ["x"])
    assert re.match(r"<test>:\d+:\d+: error", str(err.value)), err.value
