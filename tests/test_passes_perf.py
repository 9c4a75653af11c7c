"""The performance passes of issue 17, each against central differences and
on the text it generates: shift invariance (no gradient through a max
subtracted only to stabilise a softmax or a log-sum-exp)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from conftest import build

from codegen.core.shift import shift_invariant
from codegen.front.parse import parse


def central(f, args, i, h=1e-6):
    """Central differences of the scalar f(*args) in args[i]."""
    args = [
        np.array(a) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
        for a in args
    ]
    x = args[i]
    g = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        old = x[k]
        x[k] = old + h
        up = f(*args)
        x[k] = old - h
        down = f(*args)
        x[k] = old
        g[k] = (up - down) / (2 * h)
    return g


def _backward_text(code: str) -> str:
    """The generated backward functions, without comments (the runtime helpers
    and the forward come before them)."""
    body = code[code.index("def f_backward") :]
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))


def _check(source, func, args, wrt):
    """Generate `func`'s gradients in `wrt`, compare each with central
    differences at `args`; return the generated code."""
    forward, generated, code = build(source, func, wrt)
    f = getattr(forward, func)
    params = list(inspect.signature(f).parameters)
    _, grads = getattr(generated, f"{func}_value_and_grad")(*args)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert len(grads) == len(wrt)
    for name, g in zip(wrt, grads, strict=True):
        expected = central(f, args, params.index(name))
        assert np.allclose(g, expected, rtol=1e-5, atol=1e-7), name
    return code


SOFTMAX_CE = """
import numpy as np

def f(x, y):
    N = x.shape[0]
    shifted = x - np.max(x, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return -np.sum(log_probs[np.arange(N), y]) / N
"""

ATTENTION = """
import numpy as np

def f(s, w):
    z = s - np.max(s, axis=-1, keepdims=True)
    e = np.exp(z)
    p = e / np.sum(e, axis=-1, keepdims=True)
    return np.sum(p * w)
"""

LSE = """
import numpy as np

def f(x, w):
    m = np.max(x, axis=0, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=0, keepdims=True))
    return np.sum(lse * w)
"""


def _no_max_mask(code: str) -> None:
    text = _backward_text(code)
    assert "==" not in text  # no comparison mask
    assert "grad_" + "shifted_amax" not in text


def test_softmax_cross_entropy_has_no_gradient_through_the_max():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    x[1, 2] = x[1, 3] = 3.0  # a tie at the max: the general rule splits it
    code = _check(SOFTMAX_CE, "f", [x, np.array([2, 0, 3, 4])], wrt=["x"])
    _no_max_mask(code)
    # and the maximum is neither cached nor read by the backward
    backward = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    assert "shifted_amax" not in backward


def test_softmax_normalisation_along_a_negative_axis():
    rng = np.random.default_rng(1)
    args = [rng.standard_normal((3, 6)), rng.standard_normal((3, 6))]
    code = _check(ATTENTION, "f", args, ["s", "w"])
    _no_max_mask(code)


def test_log_sum_exp_that_adds_the_max_back():
    rng = np.random.default_rng(2)
    code = _check(
        LSE, "f", [rng.standard_normal((4, 3)), rng.standard_normal((1, 3))], ["x", "w"]
    )
    _no_max_mask(code)


@pytest.mark.parametrize(
    "body",
    [
        # the shifted value itself reaches the result
        "    z = x - np.max(x, axis=1, keepdims=True)\n    return np.sum(z * w)\n",
        # exp without the normalisation: scaled by exp(-max)
        "    z = x - np.max(x, axis=1, keepdims=True)\n    return np.sum(np.exp(z) * w)\n",
        # normalised along the other axis
        "    z = x - np.max(x, axis=1, keepdims=True)\n    e = np.exp(z)\n"
        "    return np.sum(e / np.sum(e, axis=0, keepdims=True) * w)\n",
        # no keepdims: the max is re-broadcast by an index
        "    z = x - np.max(x, axis=1)[:, None]\n    e = np.exp(z)\n"
        "    return np.sum(e / np.sum(e, axis=1, keepdims=True) * w)\n",
        # the log-sum-exp without the max added back
        "    m = np.max(x, axis=1, keepdims=True)\n"
        "    return np.sum(np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)) * w[:, :1])\n",
        # a product of two shifted values
        "    z = x - np.max(x, axis=1, keepdims=True)\n    e = np.exp(z * z)\n"
        "    return np.sum(e / np.sum(e, axis=1, keepdims=True) * w)\n",
    ],
)
def test_a_max_that_changes_the_result_keeps_its_gradient(body):
    source = "import numpy as np\n\ndef f(x, w):\n" + body
    assert shift_invariant(parse(source, "t.py", "f")) == frozenset()
    rng = np.random.default_rng(3)
    _check(
        source, "f", [rng.standard_normal((3, 4)), rng.standard_normal((3, 4))], ["x"]
    )


def test_the_lecture_examples_lose_the_max_mask():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for name, func in [("softmax_loss", "softmax_loss"), ("attention", "attention")]:
        source = (root / "examples" / f"{name}.py").read_text()
        assert shift_invariant(parse(source, f"{name}.py", func))


# ----- lean_normalisation -----

LAYER_NORM = """
import numpy as np

def f(x, gamma, beta):
    mu = np.mean(x, axis=1, keepdims=True)
    var = np.var(x, axis=1, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * xhat + beta) * np.arange(12.0).reshape(3, 4))
"""

BATCH_NORM = """
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

def f(x: Float[np.ndarray, "N D"], gamma: Float[np.ndarray, "D"], beta: Float[np.ndarray, "D"]):
    mu = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    return np.sum((gamma * xhat + beta) * np.arange(12.0).reshape(3, 4))
"""


def _backward(code: str) -> str:
    """f_backward's statements, without comments."""
    body = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))


@pytest.mark.parametrize("source", [LAYER_NORM, BATCH_NORM])
def test_normalisation_backward_reads_the_forwards_centred_value(source):
    rng = np.random.default_rng(4)
    args = [
        3 * rng.standard_normal((3, 4)) + 1,
        1 + rng.standard_normal(4),
        rng.standard_normal(4),
    ]
    code = _check(source, "f", args, ["x", "gamma", "beta"])
    backward = _backward(code)
    assert "np.mean" not in backward  # x - mean(x) is not recomputed
    assert "broadcast_to(grad_mu" not in backward
    assert "broadcast_to(np.expand_dims(grad_mu" not in backward


def test_a_factor_shaped_like_the_sum_leaves_the_unbroadcast():
    source = """
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

def f(a: Float[np.ndarray, "N D"], c: Float[np.ndarray, "1 D"]):
    return np.sum(np.arange(8.0).reshape(2, 4) * (a / c))
"""
    rng = np.random.default_rng(5)
    code = _check(
        source, "f", [rng.standard_normal((2, 4)), 1 + rng.random((1, 4))], ["a", "c"]
    )
    assert "_unbroadcast(-" not in _backward(code)


def test_an_alias_read_after_the_accumulation_is_not_written_in_place():
    # grad_y is the gradient handed to grad_x (x + y shares g), and it is
    # read again after grad_x accumulates: no `+=` may change it
    source = """
import numpy as np

def f(x, w):
    y = x * w
    z = y + x
    return np.sum(z * z) + np.sum(y * w)
"""
    rng = np.random.default_rng(6)
    _check(source, "f", [rng.standard_normal(5), rng.standard_normal(5)], ["x", "w"])


def test_codegen_grad_parses_the_source_once(tmp_path, monkeypatch, capsys):
    """The lint reads the parse the backward was generated from."""
    import codegen.front.parse as front
    from codegen.cli import main

    calls = []
    real = front.parse

    def counting(*args, **kwargs):
        calls.append(args[1:2])
        return real(*args, **kwargs)

    monkeypatch.setattr(front, "parse", counting)
    path = tmp_path / "soft.py"
    path.write_text(  # an unshifted softmax: the lint warns
        "import numpy as np\n\ndef f(x):\n"
        "    e = np.exp(x)\n    return np.sum(np.log(e / np.sum(e)))\n"
    )
    assert main(["grad", f"{path}:f", "-o", str(tmp_path / "g.py")]) == 0
    assert len(calls) == 1
    assert "warning" in capsys.readouterr().err


# ----- reshape_matmul -----

TEMPORAL = """
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float

def f(x: Float[np.ndarray, "N T D"], w: Float[np.ndarray, "D M"], b: Float[np.ndarray, "M"]):
    out = x @ w + b
    return np.sum(out * np.arange(24.0).reshape(2, 3, 4) ** 0.5)
"""


def test_batched_matmul_adjoints_are_plain_gemms():
    rng = np.random.default_rng(7)
    args = [
        rng.standard_normal((2, 3, 5)),
        rng.standard_normal((5, 4)),
        rng.standard_normal(4),
    ]
    code = _check(TEMPORAL, "f", args, ["x", "w", "b"])
    backward = _backward(code)
    assert "_matmul_vjp" not in backward
    assert "np.reshape(x, (-1, w.shape[0])).T @ np.reshape(" in backward
    assert "@ w.T, np.shape(x)" in backward  # grad_x: one GEMM, then x's shape


def test_batched_matmul_of_rank_four_is_one_gemm_each_way():
    source = TEMPORAL.replace('"N T D"', '"K N T D"').replace(
        "np.arange(24.0).reshape(2, 3, 4)", "np.arange(48.0).reshape(2, 2, 3, 4)"
    )
    rng = np.random.default_rng(11)
    args = [
        rng.standard_normal((2, 2, 3, 5)),
        rng.standard_normal((5, 4)),
        rng.standard_normal(4),
    ]
    backward = _backward(_check(source, "f", args, ["x", "w", "b"]))
    assert "_matmul_vjp" not in backward and "np.shape(x)" in backward


def test_batched_matmul_with_unknown_ranks_keeps_the_helpers():
    source = "import numpy as np\n\ndef f(x, w):\n    return np.sum((x @ w) ** 2)\n"
    rng = np.random.default_rng(8)
    code = _check(
        source,
        "f",
        [rng.standard_normal((2, 3, 5)), rng.standard_normal((5, 4))],
        ["x", "w"],
    )
    assert "_matmul_vjp_y" in _backward(code)


# ----- the generated code still differentiates again -----


NORM = ["x", "gamma", "beta"]


@pytest.mark.parametrize(
    "source, params, shapes, wrt",
    [
        (SOFTMAX_CE, ["x", "y"], [(4, 5), None], ["x"]),
        (ATTENTION, ["s", "w"], [(3, 6), (3, 6)], ["s", "w"]),
        (LAYER_NORM, NORM, [(3, 4), (4,), (4,)], NORM),
        (BATCH_NORM, NORM, [(3, 4), (4,), (4,)], NORM),
        (TEMPORAL, ["x", "w", "b"], [(2, 3, 5), (5, 4), (4,)], ["x", "w", "b"]),
    ],
)
def test_second_order_through_the_lean_code(source, params, shapes, wrt):
    """Hessian-vector products of the generated code (it parses again)
    against central differences of its gradient."""
    from programs.second import hvp_source

    from codegen import generate

    rng = np.random.default_rng(9)
    args = [
        np.array([2, 0, 3, 4]) if s is None else rng.standard_normal(s) for s in shapes
    ]
    hvp = hvp_source(generate(source, "t.py", "f", wrt), "f", params, wrt)
    vs = [rng.standard_normal(np.shape(args[params.index(p)])) for p in wrt]
    _check(hvp, "hvp", args + vs, wrt)
