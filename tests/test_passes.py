"""The IR passes, each on its own: `share` (common subexpressions) and
`cache_shapes` (cache a shape, not an array read only for its shape)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import build

from codegen.core.ir import Assign, Const, Function, Loc, Param, Var
from codegen.core.passes import cache_shapes, fuse_sum_of_squares, share
from codegen.core.reverse import reverse
from codegen.front.parse import parse

LOC = Loc(1, 0, 1, 1)


def _step(target, op, *args):
    return Assign(target, op, tuple(args), (), LOC, "src")


def test_share_merges_a_repeated_intermediate():
    x = Var("x")
    fn = Function(
        "f",
        (Param("x"),),
        (
            _step("a", "getitem", x, Const("1:")),
            replace(_step("b", "getitem", x, Const("1:")), intermediate=True),
            _step("out", "mul", Var("a"), Var("b")),
        ),
        "out",
        user_names=frozenset({"x", "out"}),
        array=True,
    )
    shared = share(fn)
    assert [s.target for s in shared.body] == ["a", "out"]
    assert shared.body[-1].args == (Var("a"), Var("a"))


def test_share_keeps_the_users_names_and_different_operands():
    src = (
        "import numpy as np\n\ndef f(x):\n"
        "    a = x[1:]\n    b = x[1:]\n    c = x[:1]\n    return np.sum(a * b * c)\n"
    )
    fn = share(parse(src, "t.py", "f"))
    targets = [s.target for s in fn.body]
    assert "a" in targets and "b" in targets and "c" in targets


def test_shared_square_gets_one_pass_and_the_right_gradient():
    src = "import numpy as np\n\ndef f(x):\n    return np.sum(x[1:] * x[1:])\n"
    _, generated, code = build(src, "f")
    lines = [ln.strip() for ln in code.splitlines() if not ln.strip().startswith("#")]
    assert sum(ln.endswith("= x[1:]") for ln in lines) == 2  # forward, value-and-grad
    x = np.array([1.0, 2.0, 3.0])
    _, g = generated.f_value_and_grad(x)
    assert np.allclose(g, [0.0, 4.0, 6.0])


def test_cache_shapes_caches_the_shape_of_an_array_read_only_for_it():
    src = (
        "import numpy as np\n\ndef f(x, b):\n"
        "    h = np.exp(x)\n    out = np.sum(h + b)\n    return out\n"
    )
    fn = parse(src, "t.py", "f")
    bwd = cache_shapes(reverse(fn))
    assert "out_add" not in bwd.cache  # h + b is read only for its shape
    assert "out_add_shape" in bwd.cache
    _, generated, _ = build(src, "f")
    x, b = np.array([[0.5, 1.0]]), np.array([2.0, 3.0])
    _, (gx, gb) = generated.f_value_and_grad(x, b)
    assert np.allclose(gx, np.exp(x)) and np.allclose(gb, [1.0, 1.0])


def test_cache_shapes_leaves_arrays_read_for_their_values():
    src = (
        "import numpy as np\n\ndef f(x):\n    h = np.exp(x)\n    return np.sum(h * h)\n"
    )
    bwd = cache_shapes(reverse(parse(src, "t.py", "f")))
    assert "h" in bwd.cache


@pytest.mark.parametrize("square", ["W * W", "W ** 2", "np.square(W)"])
def test_sum_of_squares_is_one_vdot(square):
    src = (
        "import numpy as np\n\ndef f(W: 'Float[np.ndarray, \"D H\"]', reg):\n"
        f"    return reg * np.sum({square})\n"
    )
    fn = fuse_sum_of_squares(parse(src, "t.py", "f"))
    assert [s.op for s in fn.body] == ["vdot", "mul"]
    _, generated, code = build(src, "f")
    assert "np.vdot(W, W)" in code
    W = np.arange(6.0).reshape(2, 3)
    value, (gW, greg) = generated.f_value_and_grad(W, 0.5)
    assert np.isclose(value, 0.5 * np.sum(W * W))
    assert np.allclose(gW, W) and np.isclose(greg, np.sum(W * W))


@pytest.mark.parametrize(
    "body,x",
    [
        ("m = x > 0\n    return np.sum(m * m) * np.sum(x)", np.array([0.5, 1.5, -1.0])),
        (
            "return np.sum((x * 2) * (x * 2)) * 1.0",
            np.array([50000, 40000, 3], np.int32),
        ),
        ("return np.sum(x * x) + 0.5", np.array([True, True, False])),
        ("return np.sum(x ** 2)", np.array([200, 100], np.uint8)),
    ],
)
def test_a_sum_of_squares_not_proven_floating_is_summed(body, x):
    """np.vdot of booleans is a logical or, of small integers a sum in their
    own width: the fusion waits for a float (an annotation, a float op)."""
    src = f"import numpy as np\n\n\ndef f(x):\n    {body}\n"
    forward, generated, code = build(src, "f", ["x"])
    assert "vdot" not in code
    value, _ = generated.f_value_and_grad(x)
    want = forward.f(x)
    assert value == want and np.result_type(value) == np.result_type(want)


def test_sum_over_an_axis_or_a_product_is_left_alone():
    for body in ("np.sum(W * W, axis=0)", "np.sum(W * V)"):
        src = f"import numpy as np\n\ndef f(W, V):\n    return {body}\n"
        fn = fuse_sum_of_squares(parse(src, "t.py", "f"))
        assert "vdot" not in [s.op for s in fn.body]


def test_numpy_spelled_float_code_runs_math_steps_first():
    """Parameters annotated float: the value-and-grad runs the steps in math
    (Python floats out), NumPy's where math raises; the layer pair keeps
    NumPy's steps, as the forward wrote them."""
    src = (
        "import numpy as np\n\ndef f(w: float, x: float):\n"
        "    return 1 / (1 + np.exp(-(w * x)))\n"
    )
    _, generated, code = build(src, "f")
    assert "import math" in code and "import numpy" in code
    vag = code.split("def f_value_and_grad")[1].splitlines()
    code_lines = [ln for ln in vag if not ln.strip().startswith("#")]
    first = [
        next(i for i, ln in enumerate(code_lines) if lib in ln)
        for lib in ("math.exp", "np.exp")
    ]
    assert first[0] < first[1]
    pair = code.split("def f_value_and_grad")[0].split("def f_forward")[1]
    assert "math." not in pair and "np.exp" in pair
    value, (gw, gx) = generated.f_value_and_grad(2.0, -1.0)
    s = 1 / (1 + np.exp(2.0))
    assert type(value) is float and np.isclose(value, s)
    assert np.isclose(gw, s * (1 - s) * -1.0) and np.isclose(gx, s * (1 - s) * 2.0)


def test_unannotated_or_array_code_has_no_inline_math():
    for sig, body in (
        ("w, x", "np.exp(w * x)"),
        ("w: float, x: float", "np.sum(w * x)"),
    ):
        src = f"import numpy as np\n\ndef f({sig}):\n    return {body}\n"
        _, _, code = build(src, "f")
        assert "parameters annotated float" not in code


def test_accumulation_into_an_array_the_backward_made_is_in_place():
    src = (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "import numpy as np\n\nif TYPE_CHECKING:\n    from jaxtyping import Float\n\n"
        'def f(x: Float[np.ndarray, "N D"], w: Float[np.ndarray, "D M"],'
        ' v: Float[np.ndarray, "D M"]):\n'
        "    h = x @ w\n    return np.sum(h * h) + np.sum(x @ v)\n"
    )
    _, generated, code = build(src, "f")
    # grad_x first holds g @ w.T, a new array: the product is added in place
    # (a block of rows at a time, codegen.core.add_matmul)
    assert "_add_matmul(grad_x, grad_h, w.T)" in code
    rng = np.random.default_rng(0)
    x, w, v = (
        rng.standard_normal((2, 3)),
        rng.standard_normal((3, 4)),
        rng.standard_normal((3, 4)),
    )
    _, (gx, gw, gv) = generated.f_value_and_grad(x, w, v)
    h = x @ w
    assert np.allclose(gx, 2 * h @ w.T + np.ones((2, 4)) @ v.T)


def test_accumulation_into_a_view_or_the_seed_stays_out_of_place():
    src = "import numpy as np\n\ndef f(x):\n    y = x + x * x\n    return y\n"
    _, generated, code = build(src, "f")
    assert "+=" not in code.split("def f_backward")[1].split("def f_value_and_grad")[0]
    seed = np.ones(3)
    y, cache = generated.f_forward(np.arange(3.0))
    g = generated.f_backward(seed, cache)
    assert np.array_equal(seed, np.ones(3)) and np.allclose(g, 1 + 2 * np.arange(3.0))
