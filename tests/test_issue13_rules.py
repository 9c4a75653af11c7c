"""Regression tests for the wrong results of issue 13 that sat in the adjoint
rules, each against an independent reference: central differences of the
original function, HIPS autograd where it applies, or NumPy's own value.

Every case failed on main before the primitive declarations (commit message
names the issue's item number in each test's docstring)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, build

autograd = pytest.importorskip("autograd")
anp = pytest.importorskip("autograd.numpy")

PRELUDE = "import numpy as np\n\n"


def numeric_grad(f, args, i, h=1e-6):
    """Central difference of sum(f(*args)) with respect to args[i]."""
    x = np.asarray(args[i], dtype=float)
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        a = list(args)
        a[i] = plus if x.ndim else float(plus)
        fp = np.sum(f(*a))
        a[i] = minus if x.ndim else float(minus)
        fm = np.sum(f(*a))
        out[idx] = (fp - fm) / (2 * h)
    return out


def check(src, args, wrt=None, func="f"):
    forward, generated, code = build(PRELUDE + src, func, wrt)
    f = getattr(forward, func)
    value, grads = getattr(generated, f"{func}_value_and_grad")(*args)
    assert np.allclose(value, f(*args)), (value, f(*args))
    names = wrt or [f"a{i}" for i in range(len(args))]
    grads = grads if isinstance(grads, tuple) and len(names) > 1 else (grads,)
    for k, g in enumerate(grads):
        i = (
            k
            if wrt is None
            else list(forward.__dict__[func].__code__.co_varnames).index(wrt[k])
        )
        expected = numeric_grad(f, args, i)
        assert np.shape(g) == np.shape(expected), (np.shape(g), np.shape(expected))
        assert np.allclose(g, expected, atol=1e-6), (k, g, expected)
    return code


def test_negative_transpose_axes():
    """Item 3: np.transpose(x, (-1, 0)) is transposed back by the inverse."""
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((3, 2))
    check("def f(x, w):\n    return np.sum(np.transpose(x, (-1, 0)) * w)\n", [x, w])
    x3, w3 = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 2, 3))
    check(
        "def f(x, w):\n    return np.sum(np.transpose(x, (-1, 0, 1)) * w)\n", [x3, w3]
    )
    check("def f(x, w):\n    return np.sum(x.transpose(-1, 0, 1) * w)\n", [x3, w3])


def test_x_plus_x_keeps_the_shape():
    """Item 4: y = x + x; the gradient has x's shape, not a scalar."""
    check("def f(x):\n    y = x + x\n    return np.sum(y)\n", [np.array([1.0, 2.0])])


def test_clip_with_array_bounds():
    """Item 5: d/dx has x's shape; d/dlo is 1 where the lower bound is active."""
    x = np.array([-1.0, 0.5])
    lo = np.array([[0.0, 0.0], [-2.0, 1.0]])
    check("def f(x, lo):\n    return np.sum(np.clip(x, lo, 2.0))\n", [x, lo])


def test_std_of_one_entry_has_zero_gradient():
    """Item 9: np.std over an axis of length 1 is 0 with gradient 0, not NaN."""
    x = np.array([[1.0, 2.0, 3.0]])
    _, generated, _ = build(
        PRELUDE + "def f(x):\n    return np.sum(np.std(x, axis=0))\n", "f"
    )
    _, g = generated.f_value_and_grad(x)
    assert np.array_equal(g, np.zeros((1, 3)))
    assert np.allclose(g, autograd.grad(lambda a: anp.sum(anp.std(a, axis=0)))(x))


def test_power_zero_at_zero():
    """Item 9: d/dx x ** 0 is 0, also at x = 0 (no ZeroDivisionError, no NaN)."""
    _, generated, _ = build("def f(x):\n    return x ** 0.0\n", "f")
    assert generated.f_value_and_grad(0.0)[1] == 0.0
    _, generated, _ = build(
        PRELUDE + "def f(x):\n    return np.sum(np.power(x, 0.0))\n", "f"
    )
    assert np.array_equal(generated.f_value_and_grad(np.zeros(3))[1], np.zeros(3))


def test_power_of_zero_base():
    """Item 9: d/dy 0 ** y is 0 where y > 0 (not 0 * log 0 = NaN)."""
    _, generated, _ = build("def f(x, y):\n    return x ** y\n", "f")
    assert generated.f_value_and_grad(0.0, 2.0)[1] == (0.0, 0.0)
    _, generated, _ = build(
        PRELUDE + "def f(x, y):\n    return np.sum(np.power(x, y))\n", "f"
    )
    _, (gx, gy) = generated.f_value_and_grad(np.zeros(2), np.array([1.5, 2.0]))
    assert np.array_equal(gy, np.zeros(2))


@pytest.mark.parametrize(
    "body",
    [
        "np.sum(x * 2.0)",
        "np.sum(np.abs(x))",
        "np.max(x)",
        "np.sum(3.5 * x)",
        "np.mean(x * x)",
        "np.var(x + 1.0)",
        "np.std(x * np.arange(3.0))",
    ],
)
def test_python_floats_as_array_parameters(body):
    """Item 14: a Python float passed where the forward uses NumPy reductions."""
    check(f"def f(x: float):\n    return {body}\n", [0.7])


def test_boolean_mask_indexing_with_an_annotation():
    """Item 15: x[x > 0] with x annotated; the gradient is 1 where x > 0."""
    src = (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "import numpy as np\n\nif TYPE_CHECKING:\n    from jaxtyping import Float\n\n"
        'def f(x: Float[np.ndarray, "N"]):\n    return np.sum(x[x > 0] ** 2)\n'
    )
    x = np.array([1.0, -2.0, 3.0])
    _, generated, _ = build(src, "f")
    _, g = generated.f_value_and_grad(x)
    assert np.allclose(g, [2.0, 0.0, 6.0])


def test_setitem_with_repeated_positions_keeps_the_last_write():
    """Item 2: a[idx] = y with repeated positions: NumPy keeps the last write."""
    check(
        "def f(y):\n    a = np.zeros(3)\n    a[np.arange(4) // 2] = y\n    return np.sum(a)\n",
        [2.0],
    )
    check(
        "def f(x):\n    a = x * 1.0\n    a[np.arange(2) * 0] += 1.0\n    return np.sum(a * a)\n",
        [np.array([1.0, 2.0, 3.0])],
    )
    check(
        "def f(x, v):\n    a = x * 1.0\n    a[np.abs(np.arange(3) - 1) * 2] = v\n    return np.sum(a * a)\n",
        [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])],
    )


def test_returned_output_never_aliases_the_cache():
    """Item 20: a caller's in-place update of out leaves the backward right."""
    src = (
        "def f(x):\n"
        "    N, C, H, W = x.shape\n"
        "    out = x.reshape(N, C, H // 2, 2, W // 2, 2).max(axis=(3, 5))\n"
        "    return out\n"
    )
    _, generated, _ = build(PRELUDE + src, "f")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 1, 4, 4))
    out, cache = generated.f_forward(x)
    expected = generated.f_backward(np.ones_like(out), cache)
    out, cache = generated.f_forward(x)
    np.maximum(out, 0, out=out)  # an in-place ReLU by the caller
    out[...] = -1.0
    assert np.array_equal(generated.f_backward(np.ones((1, 1, 2, 2)), cache), expected)


def test_setitem_of_a_value_with_more_axes():
    """Item 16: a[:] = y[None] writes a (1, 3) value into a (3,) slice."""
    check(
        "def f(x, y):\n    a = x * 1.0\n    a[:] = y[None]\n    return np.sum(a * x)\n",
        [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])],
    )


@pytest.mark.parametrize(
    ("body", "size"),
    [
        ("np.sum(x.reshape((3,)), axis=-1)", 3),
        ("np.sum(x.reshape(3, 2), axis=(0, 1))", 6),
        ("np.mean(x.reshape(3, 2), axis=(0, 1))", 6),
        ("np.max(x.reshape(3, 2), axis=(0, 1))", 6),
    ],
)
def test_reductions_of_every_axis_of_a_reshape(body, size):
    """Item 17: the pooling path reduces every axis to a number."""
    check(f"def f(x):\n    return {body}\n", [np.arange(float(size)) * 0.7 - 1.0])


def test_variable_exponent_zero_at_zero():
    """Item 9: d/dx x ** y at x = 0, y = 0 is 0 (x ** 0 = 1), not 0 * 0 ** -1."""
    _, generated, _ = build("def f(x, y):\n    return x ** y\n", "f")
    assert generated.f_value_and_grad(0.0, 0.0)[1][0] == 0.0
    value, (gx, gy) = generated.f_value_and_grad(1.5, 2.5)
    assert np.isclose(gx, 2.5 * 1.5**1.5) and np.isclose(gy, 1.5**2.5 * np.log(1.5))


@pytest.mark.parametrize(
    "body",
    ["v = y[None]\n    return v", "v = np.broadcast_to(y, (2, 3))\n    return v"],
)
def test_returned_gradients_never_share_the_upstream_gradient(body):
    """Found by tests/programs: x[None]'s gradient is a reshape of g, a view."""
    _, generated, _ = build(PRELUDE + f"def f(y):\n    {body}\n", "f")
    y = np.array([1.0, 2.0, 3.0])
    out, cache = generated.f_forward(y)
    seed = np.ones(np.shape(out))
    g = generated.f_backward(seed, cache)
    assert not np.shares_memory(g, seed)
    g[...] = 7.0  # a caller updating its gradient leaves its seed alone
    assert np.array_equal(seed, np.ones(np.shape(out)))


def test_second_order_through_a_repeated_list_index():
    """Found by tests/programs/second.py: np.s_[[0, -2]] in a generated
    backward is an advanced index, so its repeats add (and last writes win)."""
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from programs.second import hvp_source

    from codegen.checks.verify import check_gradients, module_from_source

    src = (
        PRELUDE
        + "def f(x):\n    v1 = np.zeros_like(x)\n    v1[[0, -2]] = x\n    return v1 / x * v1\n"
    )
    _, _, first = build(src, "f")
    hvp_src = hvp_source(first, "f", ["x"], ["x"])
    second = module_from_source(build(hvp_src, "hvp", ["x"])[2], "hvp_grad")
    forward = module_from_source(hvp_src, "hvp_forward")
    rng = np.random.default_rng(0)
    point = {"x": rng.uniform(0.5, 2, (2, 3)), "v_x": rng.standard_normal((2, 3))}
    report = check_gradients(
        forward.hvp,
        (second.hvp_forward, second.hvp_backward),
        ["x", "v_x"],
        point,
        ["x"],
    )
    assert report.ok, report.summary()


def test_clip_with_a_lower_bound_above_the_upper():
    """Found by tests/programs (NEW-9): where lo > hi NumPy returns hi."""
    x = np.array([0.5, 1.0, 3.5])
    lo = np.array([3.0, 0.0, 4.0])
    hi = np.array([2.0, 2.0, 1.0])
    check("def f(x, lo, hi):\n    return np.sum(np.clip(x, lo, hi) * x)\n", [x, lo, hi])


def test_einsum_broadcasting_a_size_one_operand():
    """Found by tests/programs (NEW-3): einsum broadcasts y of shape (1,)
    against x of shape (3,), so d/dx has x's shape."""
    check(
        "def f(y, x):\n    return np.einsum('i,i->', y, x)\n",
        [np.array([0.5]), np.arange(3.0)],
    )
    a, b = np.arange(2.0).reshape(2, 1) + 1, np.arange(6.0).reshape(3, 2)
    check(
        "def f(a, b):\n    return np.sum(np.einsum('ij,jk->ik', a, b) ** 2)\n", [a, b]
    )


def test_an_output_picked_from_a_tuple_of_views_never_aliases_the_cache():
    """Found by tests/programs (seed 31000376): the output is a view of a
    cached value through a tuple item and a reshape."""
    src = (
        PRELUDE + "def f(w):\n    v2 = np.square(w)\n"
        "    v3 = np.min(v2, axis=0, keepdims=True)\n    v5 = v3.reshape(1, 1, 1)\n"
        "    v8 = v5, v3\n    v7 = v8[-2]\n    return v7\n"
    )
    _, generated, _ = build(src, "f")
    w = np.array([1.4, 0.5, -0.3])
    out, cache = generated.f_forward(w)
    expected = generated.f_backward(np.ones_like(out), cache)
    out, cache = generated.f_forward(w)
    out[...] = 7.0
    assert np.array_equal(generated.f_backward(np.ones_like(out), cache), expected)


def test_numpy_spellings_keep_numpys_result_type_on_python_floats():
    """Found by tests/programs (seed 42): np.power(0.5, s) on a Python float
    is a NumPy float, which can be indexed; 0.5 ** s is a float, which cannot."""
    check(
        "def f(s):\n    v = np.power(0.5, s)\n    return v[None] * np.add(s, 1.0)\n",
        [-1.6],
    )


def test_an_output_that_is_an_einsum_view_of_a_cached_array():
    """Found by tests/programs (seed 53): einsum('ij->ji', t) is a view of t,
    which tanh's adjoint reads from the cache."""
    src = (
        PRELUDE
        + "def f(y):\n    t = np.tanh(y ** 3)\n    return np.einsum('ij->ji', t)\n"
    )
    _, generated, _ = build(src, "f")
    y = np.array([[0.8, 1.7], [-1.4, 0.3]])
    out, cache = generated.f_forward(y)
    expected = generated.f_backward(np.ones_like(out), cache)
    out, cache = generated.f_forward(y)
    out[...] = 7.0
    assert np.array_equal(generated.f_backward(np.ones_like(out), cache), expected)


def test_a_value_assigned_into_a_row_gets_its_own_gradient_array():
    """Found by tests/programs (seed 64): v1[2] = w with shapes proven by
    annotations; w's gradient g[2] is a view of g, returned copied."""
    src = (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "import numpy as np\n\nif TYPE_CHECKING:\n    from jaxtyping import Float\n\n"
        'def f(y: Float[np.ndarray, "D D"], w: Float[np.ndarray, "D"]):\n'
        "    v1 = y * 1.0\n    v1[2] = w\n    return v1\n"
    )
    _, generated, _ = build(src, "f")
    y, w = np.ones((4, 4)), np.arange(4.0)
    out, cache = generated.f_forward(y, w)
    seed = np.arange(16.0).reshape(4, 4)
    gy, gw = generated.f_backward(seed, cache)
    assert not np.shares_memory(gw, seed) and np.array_equal(gw, seed[2])
