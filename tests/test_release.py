"""`codegen.back.release`: a NumPy backward lets go of its arrays after their
last read (peak memory), and never of what is read later or returned."""

from __future__ import annotations

import ast
import types

import numpy as np
from conftest import ROOT

import codegen

MLP = (ROOT / "examples" / "two_layer_net.py").read_text()


def _functions(code: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(code)
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _deleted_then_read(fn: ast.FunctionDef) -> list[str]:
    """Names read after a `del` of them, in statement order (a NameError)."""
    gone: set[str] = set()
    bad = []
    for stmt in fn.body:
        if isinstance(stmt, ast.Delete):
            gone |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
            gone |= {
                e.id
                for t in stmt.targets
                if isinstance(t, ast.Tuple)
                for e in t.elts
                if isinstance(e, ast.Name)
            }
            continue
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id in gone:
                if isinstance(node.ctx, ast.Load):
                    bad.append(node.id)
                else:
                    gone.discard(node.id)
    return bad


def test_the_mlp_releases_forward_arrays_and_temporaries_after_their_last_read() -> (
    None
):
    code = codegen.generate(
        MLP, "two_layer_net.py", "two_layer_net", ["W1", "b1", "W2", "b2"]
    )
    fns = _functions(code)
    vag = fns["two_layer_net_value_and_grad"]
    released: list[set[str]] = [
        {n.id for n in ast.walk(s) if isinstance(n, ast.Name)}
        for s in vag.body
        if isinstance(s, ast.Delete)
    ]
    # h (the ReLU output) is let go once the W2 block has read it
    assert any("h" in names for names in released[1:])
    for fn in fns.values():
        assert not _deleted_then_read(fn), fn.name
    # the returned gradients and the seed are never released
    gone = set().union(*released)
    assert not gone & {"grad_W1", "grad_b1", "grad_W2", "grad_b2", "grad_loss"}


def test_released_modules_compute_what_the_layer_pair_computes() -> None:
    code = codegen.generate(
        MLP, "two_layer_net.py", "two_layer_net", ["W1", "b1", "W2", "b2"]
    )
    mod = types.ModuleType("g")
    exec(compile(code, "<g>", "exec"), mod.__dict__)
    rng = np.random.default_rng(3)
    X, W1, W2 = (
        rng.standard_normal((7, 5)),
        rng.standard_normal((5, 6)),
        rng.standard_normal((6, 4)),
    )
    b1, b2, y = rng.standard_normal(6), rng.standard_normal(4), rng.integers(0, 4, 7)
    args = (X, y, W1, b1, W2, b2, 0.1)
    out, grads = mod.two_layer_net_value_and_grad(*args)
    out2, cache = mod.two_layer_net_forward(*args)
    grads2 = mod.two_layer_net_backward(1.0, cache)
    assert out == out2
    for a, b in zip(grads, grads2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13)


def test_scalars_and_the_last_block_release_nothing() -> None:
    src = "import math\n\n\ndef f(x, y):\n    a = x * y\n    return math.exp(a) + a\n"
    assert "del " not in codegen.generate(src, "t.py", "f")
    src = "import numpy as np\n\n\ndef f(x):\n    return np.sum(np.exp(x))\n"
    assert "not read again" not in codegen.generate(src, "t.py", "f")


def test_every_example_backward_reads_nothing_it_released() -> None:
    for path in sorted((ROOT / "generated").glob("*_grad.py")):
        for fn in _functions(path.read_text()).values():
            assert not _deleted_then_read(fn), (path.name, fn.name)


def test_the_forward_lets_go_of_what_neither_the_backward_nor_the_caller_holds() -> (
    None
):
    src = (ROOT / "benchmarks" / "forwards" / "masked_attention.py").read_text()
    code = codegen.generate(src, "masked_attention.py", "masked_attention")
    fns = _functions(code)
    fwd = fns["masked_attention_forward"]
    released = {
        n.id
        for s in fwd.body
        if isinstance(s, ast.Delete)
        for n in ast.walk(s)
        if isinstance(n, ast.Name)
    }
    ret = fwd.body[-1]
    assert isinstance(ret, ast.Return)
    held = {n.id for n in ast.walk(ret) if isinstance(n, ast.Name)}
    assert {"scores_matmul", "shifted"} <= released
    assert not released & held  # nothing cached or returned is released
    for fn in fns.values():
        assert not _deleted_then_read(fn), fn.name
    # the released module still computes the same gradients as before release:
    # against central differences
    mod = types.ModuleType("g")
    exec(compile(code, "<g>", "exec"), mod.__dict__)
    rng = np.random.default_rng(5)
    Q, K, V = (rng.standard_normal((4, 3)) for _ in range(3))
    mask = np.triu(np.full((4, 4), -1e9), 1)
    seed = rng.standard_normal((4, 3))
    out, cache = mod.masked_attention_forward(Q, K, V, mask)
    gQ = mod.masked_attention_backward(seed, cache)[0]
    user: dict = {}
    exec(compile(src, "<u>", "exec"), user)
    h, num = 1e-6, np.zeros_like(Q)
    for idx in np.ndindex(*Q.shape):
        up, down = Q.copy(), Q.copy()
        up[idx] += h
        down[idx] -= h
        f = user["masked_attention"]
        num[idx] = np.sum((f(up, K, V, mask) - f(down, K, V, mask)) * seed) / (2 * h)
    np.testing.assert_allclose(gQ, num, rtol=1e-5, atol=1e-8)
