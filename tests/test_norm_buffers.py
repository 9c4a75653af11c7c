"""codegen.core.norm_buffers: the closed-form gradient updates one array.

The split statements must give the very numbers (bit for bit, same dtype) of
the one expression they replace, for float64, float32 and mixed dtypes (a
float32 x with float64 gamma and upstream, where an in-place product by
gamma would narrow the result); the gradients match HIPS autograd and central
differences (through tests/test_norm_lean.py's spellings, and here); where
the closed form adds to an earlier contribution it is left as one
expression. `share_norm_sums` reuses grad_gamma's einsum in batch norm and
nothing else.
"""

from __future__ import annotations

import inspect
import textwrap
from dataclasses import replace

import numpy as np
import pytest
from test_norm_lean import HEAD, SPELLINGS, _autograd, _build, _central, _grads, _point

from codegen import pipeline
from codegen.checks.verify import module_from_source
from codegen.core import expr as E
from codegen.core.norm_buffers import share_norm_sums
from codegen.core.norm_lean import closed_form_normalisation
from codegen.core.reverse import GradStep, reverse
from codegen.front.parse import parse


def _backward_text(code: str) -> str:
    body = code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("#"))


def _unsplit(monkeypatch, body: str, wrt: list[str]):
    """The module generated with both passes of norm_buffers turned off."""
    monkeypatch.setattr(pipeline, "closed_form_in_place", lambda b: b)
    monkeypatch.setattr(pipeline, "share_norm_sums", lambda b: b)
    try:
        return _build(body, wrt)
    finally:
        monkeypatch.undo()


def _call(mod, forward, point: dict, seed_dtype) -> tuple:
    names = list(inspect.signature(forward.f).parameters)
    out, cache = mod.f_forward(**{p: point[p] for p in names if p in point})
    seed = np.ones_like(out, dtype=seed_dtype) if np.ndim(out) else seed_dtype(1.0)
    grads = mod.f_backward(seed, cache)
    return grads if isinstance(grads, tuple) else (grads,)


SPLIT = [n for n in SPELLINGS if "rank 3" not in n]  # rank 3 adds to grad_x first


@pytest.mark.parametrize("name", SPLIT)
def test_the_split_gives_the_same_bits_and_dtypes(name, monkeypatch):
    body, shapes, wrt = SPELLINGS[name]
    _, forward, mod, code = _build(body, wrt)
    text = _backward_text(code)
    assert "grad_x += " in text and "grad_x -= " in text
    *_, plain, plain_code = _unsplit(monkeypatch, body, wrt)
    assert "grad_x -= " not in _backward_text(plain_code)
    cases = [
        (np.float64, np.float64),
        (np.float32, np.float32),
        (np.float32, np.float64),
    ]
    for dtype, wide in cases:
        point = _point(shapes, dtype)
        for p in point:  # the other arrays (gamma, w) in the wider dtype
            if p != "x" and isinstance(point[p], np.ndarray):
                point[p] = point[p].astype(wide)
        got = _call(mod, forward, point, wide)
        want = _call(plain, forward, point, wide)
        for g, r in zip(got, want, strict=True):
            assert np.result_type(g) == np.result_type(r), (dtype, wide)
            assert np.array_equal(g, r), (dtype, wide)


def test_a_scale_of_unknown_dtype_is_applied_after_a_cast_to_the_products_dtype():
    body, shapes, wrt = SPELLINGS["batch norm, np.var, axis 0"]
    source, forward, mod, code = _build(body, wrt)
    text = _backward_text(code)
    cast = (
        "grad_x = grad_x.astype(np.result_type(grad_x, gamma, xhat_sqrt), copy=False)"
    )
    assert cast in text
    assert "grad_x *= gamma / xhat_sqrt" in text
    # layer norm: the scale is xhat's own divisor, divided in place
    body, shapes, wrt = SPELLINGS["layer norm, np.var, axis 1, keepdims"]
    source, forward, mod, code = _build(body, wrt)
    assert "grad_x *= 1 / xhat_sqrt" in _backward_text(code)
    point = _point(shapes)
    for p, g, r in zip(
        wrt, _grads(mod, point, forward), _autograd(source, point, wrt), strict=True
    ):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


def test_a_closed_form_added_to_an_earlier_contribution_is_not_split():
    body, shapes, wrt = SPELLINGS["rank 3, axes (1, 2), np.square"]
    source, forward, mod, code = _build(body, wrt)
    text = _backward_text(code)
    assert "grad_x -= " not in text and "grad_x *= " not in text
    point = _point(shapes)
    for p, g, r in zip(
        wrt, _grads(mod, point, forward), _autograd(source, point, wrt), strict=True
    ):
        assert np.allclose(g, r, rtol=1e-9, atol=1e-11), p
        assert np.allclose(g, _central(forward.f, point, p), rtol=1e-5, atol=1e-7), p


def test_batch_norm_reuses_grad_gamma_and_grad_beta_and_layer_norm_its_own_sums():
    body, _, wrt = SPELLINGS["batch norm, np.var, axis 0"]
    *_, code = _build(body, wrt)
    text = _backward_text(code)
    assert text.count("np.einsum(") == 1
    assert "(-grad_gamma / " in text
    # grad_beta's own sum (codegen.core.sum_lean) is the only one
    assert "grad_x -= grad_beta / " in text and text.count("np.sum(") == 1
    body, _, wrt = SPELLINGS["layer norm, np.var, axis 1, keepdims"]
    *_, code = _build(body, wrt)
    text = _backward_text(code)
    assert text.count("np.einsum(") == 2  # over j for gamma, i for x
    assert "np.sum(grad_xhat, axis=1, keepdims=True)" in text  # not grad_beta's
    # a scale and shift of shape (1, D): _unbroadcast keeps the axis; not reused
    body, _, wrt = SPELLINGS["batch norm, keepdims, c * c, rsqrt by a power"]
    *_, code = _build(body, wrt)
    assert "np.sum(" in _backward_text(code)


def _batch_norm_backward():
    """Batch norm's backward IR as the pipeline has it before norm_buffers."""
    body, _, wrt = SPELLINGS["batch norm, np.var, axis 0"]
    fn = parse(HEAD + textwrap.dedent(body), "<test>", "f")
    bwd = closed_form_normalisation(reverse(fn, wrt))
    bwd = pipeline.cache_masks(
        pipeline.drop_equal_unbroadcast(
            pipeline.reshape_matmul(pipeline.lean_normalisation(bwd))
        )
    )
    return pipeline.accumulate_in_place(pipeline.cache_shapes(bwd))


def _closed(bwd) -> GradStep:
    return next(gs for b in bwd.blocks for gs in b.steps if gs.op == "normalise")


def test_no_reuse_when_an_operand_or_the_gradient_is_written_between():
    bwd = _batch_norm_backward()
    shared = share_norm_sums(bwd)
    assert {"grad_gamma", "grad_beta"} <= E.names(_closed(shared).expr)
    # a write of grad_gamma (or of g) between its einsum and the closed form
    gone = {
        "grad_gamma": {"grad_gamma"},
        "grad_beta": {"grad_beta"},
        "grad_out_mul": {"grad_gamma", "grad_beta"},
    }
    for name, names in gone.items():
        blocks = list(bwd.blocks)
        i = next(
            k
            for k, b in enumerate(blocks)
            if any(gs.op == "normalise" for gs in b.steps)
        )
        extra = GradStep(name, E.Name("grad_out"), True, in_place=True)
        blocks[i] = replace(blocks[i], steps=(extra, *blocks[i].steps))
        changed = share_norm_sums(replace(bwd, blocks=tuple(blocks)))
        kept = E.names(_closed(changed).expr)
        assert not names & kept, name
        assert ({"grad_gamma", "grad_beta"} - names) <= kept, name


def test_the_generated_module_parses_again_for_second_order():
    # tests/test_norm_lean.py differentiates every spelling twice; here the
    # in-place lines are seen in the value-and-grad that second order reads
    body, shapes, wrt = SPELLINGS["layer norm, np.var, axis 1, keepdims"]
    *_, code = _build(body, wrt)
    vg = code.split("def f_value_and_grad")[1]
    assert "grad_x += " in vg and "grad_x *= 1 / xhat_sqrt" in vg
    module_from_source(code, "norm_buffers_vg")
