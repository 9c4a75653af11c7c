"""The minimal reproducers of FINDINGS.md, each checked as the harness checks
a program: `python -m tests.programs.reproducers` prints the class of each
(pass once its cause is fixed)."""

from __future__ import annotations

import sys
import tempfile

import numpy as np

from .check import check
from .generator import Param, Program, Stmt

A = np.array
R = np.random.default_rng(1)

#: (cause, statements, inputs, helpers, module-level constant lines)
CASES = [
    ("NEW-1", ["v = x.max(1)"], {"x": A([[1.0, 5.0, 0.5], [3.0, 2.0, 7.0]])}),
    ("NEW-1", ["v = x.min(0)"], {"x": A([[1.0, 5.0, 0.5], [3.0, 2.0, 7.0]])}),
    ("NEW-2", ["v = np.stack([a, s], 0)"], {"a": A(1.5), "s": A(2.0)}),
    (
        "NEW-3",
        ["v = np.einsum('i,i->', y, x)"],
        {"x": A([1.0, 2.0, 3.0]), "y": A([0.5])},
    ),
    ("NEW-3", ["v = np.einsum('ij,jk->ik', x, x)"], {"x": A([[1.0], [2.0], [3.0]])}),
    ("NEW-4", ["v = x[[-1, 1]]"], {"x": A([1.0, 2.0])}),
    ("NEW-5", ["v = np.copy(x)", "v[[0, 0, 1]] += y"], {"x": A([1.0, 2.0]), "y": 3.0}),
    ("NEW-6", ["v = np.dot(a, s)"], {"a": A(1.5), "s": A([2.0, 1.0])}),
    (
        "NEW-7",
        ["v = np.concatenate([x, y], axis=0)"],
        {"x": A([1.0, 2.0]), "y": A([3.0])},
    ),
    ("NEW-7", ["v = x[None]"], {"x": A([1.0, 2.0])}),
    ("NEW-7", ["v = np.broadcast_to(y, (2, 3))"], {"y": np.ones((2, 3))}),
    ("NEW-8", ["v = np.exp(x)"], {"x": A([0.5, 1.0])}),
    ("NEW-9", ["v = np.clip(x, lo, 2.0)"], {"x": A([0.5, 1.0]), "lo": A([3.0, 0.0])}),
    (
        "NEW-10",
        ["v1 = x * 1.0", "v2 = v1[1:][::-1]", "v1 += 1.0", "w = v2 * 2.0"],
        {"x": A([1.0, 2.0, 3.0])},
    ),
    ("#1", ["v = x.T", "w = v[[0, -1, 1]]"], {"x": A([[1.0, 2.0], [3.0, 4.0]])}),
    ("#1", ["v = x[0, [1, 1]]"], {"x": R.uniform(0.3, 2, (2, 3))}),
    (
        "#2",
        ["v = np.zeros_like(x)", "v[np.arange(6) // 2] = y"],
        {"x": A([1.0, 2.0, 3.0]), "y": 0.7},
    ),
    ("#3", ["v = x.transpose(0, -1)"], {"x": R.uniform(0.3, 2, (2, 3))}),
    ("#4", ["y = x + x", "v = np.sum(y)"], {"x": A([1.0, 2.0])}),
    ("#5", ["v = np.clip(x, lo, 2.0)"], {"x": A([1.0, 0.0]), "lo": A([0.5, 0.5])}),
    ("#6", ["t = x, y", "v = t[0] * 2.0"], {"x": A([1.0, 2.0]), "y": A([3.0, 4.0])}),
    ("#6", ["v = np.mean((x, x + 2))"], {"x": A([1.0, 2.0])}),
    ("#7", ["v = x * S"], {"x": A([1.0, 2.0])}, (), ["S = 0.6", "S = S * 5"]),
    ("#7", ["v = x * S"], {"x": A([1.0, 2.0])}, (), ["S = 2.0", "S += 1.0"]),
    ("#10", ["v = np.dot(x, x)"], {"x": np.arange(27.0).reshape(3, 3, 3) / 10}),
    (
        "#11",
        ["v = tail(y)", "v[0] = 5.0", "w = y * x"],
        {"x": A([1.0, 2.0]), "y": A([3.0, 4.0])},
        ["tail"],
    ),
    ("#12", ["v = np.concatenate((x, x), 0)"], {"x": A([1.0, 2.0])}),
    ("#12", ["v = np.stack([x, x], 1)"], {"x": A([1.0, 2.0])}),
    ("#13", ["v = np.clip(x, -0.5, None)"], {"x": A([1.0, 0.0])}),
    (
        "#17",
        ["v = np.reshape(w, (4,))", "m = v.mean(axis=0)"],
        {"w": np.arange(4.0).reshape(4, 1)},
    ),
    ("#14", ["v = np.max(s)"], {"s": 0.7}),
    ("#14", ["v = np.dot(s, x)"], {"s": 0.7, "x": A([1.0, 2.0])}),
]


def program(case) -> Program:
    label, lines, inputs, *rest = case
    helpers = list(rest[0]) if rest else []
    consts = list(rest[1]) if len(rest) > 1 else []
    params = [
        Param(n, "array" if isinstance(v, np.ndarray) else "float", np.shape(v))
        for n, v in inputs.items()
    ]
    target = lines[-1].split("=")[0].split("[")[0].strip()
    stmts = [Stmt(list(lines), label, target)]
    return Program("numpy", params, consts, helpers, stmts, target, dict(inputs))


def main() -> int:
    failing = 0
    with tempfile.TemporaryDirectory() as tmp:
        for case in CASES:
            out = check(program(case), tmp)
            failing += out.cls != "pass"
            shown = " ; ".join(case[1])
            print(f"{case[0]:6} {out.cls:15} {shown:45} {out.cause}")
    print(f"{failing} of {len(CASES)} reproducers still fail")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
