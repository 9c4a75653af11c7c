"""Regressions found by the property and fuzz tests, one test per bug, each
checked against central differences of the user's own forward."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build

from codegen import generate
from codegen.errors import CodegenError
from codegen.checks.verify import check_gradients


def _check(source: str, point: dict, func: str = "f", wrt=None) -> None:
    forward, generated, _ = build(source, func, wrt)
    params = list(point)
    pair = (
        getattr(generated, f"{func}_forward"),
        getattr(generated, f"{func}_backward"),
    )
    report = check_gradients(
        getattr(forward, func), pair, params, point, wrt or params, func
    )
    assert report.ok, report.summary()


def test_unicode_parameter_is_cached_for_the_backward():
    # The backward read `é` without caching it: the cache-reads scan only knew
    # ASCII identifiers (NameError at run time).
    _check("def f(x, é):\n    return é * x\n", {"x": 0.7, "é": -1.3})
    _check("def f(变量):\n    y = 变量 * 变量\n    return y\n", {"变量": 0.9})


def test_builtin_max_and_min_of_three_arguments():
    # `max(a, b, c)` was refused ("too many arguments for 'max'") once the
    # NumPy keyword check ran before the pairwise folding of builtin max/min.
    src = "def f(x, y, z):\n    return max(x, y, 2 * z) + min(x * y, z, 0.5)\n"
    _check(src, {"x": 0.3, "y": -1.1, "z": 0.9})
    _check(src, {"x": 1.7, "y": 0.2, "z": -0.4})


def test_constant_arithmetic_inside_a_helper_uses_the_callers_constant():
    # `z * 2` with z bound to the caller's literal was folded to the helper's
    # own text `(z * 2)`: a NameError in the generated module.
    src = "def h(z, w):\n    return z * 2 + w * -z\n\n\ndef f(x):\n    return h(3.0, x) * x\n"
    _check(src, {"x": 0.8})


def test_long_chain_of_unary_minus_on_a_constant_stays_flat():
    # `x * ---...1` (1,000 signs) was folded to 2,000 nested parentheses, more
    # than Python compiles (200), and black exploded it to megabytes.
    src = "def f(x):\n    return x * " + "-" * 1000 + "1.5\n"
    _, _, code = build(src)
    assert len(code) < 20_000
    _check(src, {"x": 0.8})


ALIASED = [
    # (source body, line:col of the refused update); each gave a wrong value
    # and gradient: Python changes both names (or the caller's array), the
    # functional update only one.
    ("    a = x\n    a += 1.0\n    return np.sum(a * x)\n", "6:5"),
    ("    a = x * 2.0\n    b = a\n    a += 1.0\n    return np.sum(a * b)\n", "7:5"),
    ("    a = x\n    a[0] = 5.0\n    return np.sum(a * x)\n", "6:5"),
    ("    a = x[1:]\n    a *= 2.0\n    return np.sum(a * x[1:])\n", "6:5"),
    ("    x += 1.0\n    return np.sum(x * x)\n", "5:5"),
]


@pytest.mark.parametrize("body,where", ALIASED)
def test_in_place_update_of_a_shared_array_is_refused(body, where):
    with pytest.raises(CodegenError) as info:
        generate(f"import numpy as np\n\n\ndef f(x):\n{body}", "alias.py", "f")
    assert str(info.value).startswith(f"alias.py:{where}: error: in-place update of ")


def test_in_place_update_of_a_fresh_array_is_still_right():
    src = (
        "import numpy as np\n\n\ndef f(x):\n    a = np.copy(x)\n    a[0] = 5.0\n    a += 2.0\n"
        "    b = x * 2.0\n    b += x\n    return np.sum(a * x * b)\n"
    )
    _check(src, {"x": np.array([0.3, -1.2, 0.8])})
    _check(
        "import math\n\n\ndef f(x):\n    a = x\n    a += 1.0\n    return a * x\n",
        {"x": 0.7},
    )


def test_user_name_of_a_runtime_helper_is_refused():
    # A parameter named `_unbroadcast` shadowed the helper in the generated
    # module: "'numpy.ndarray' object is not callable".
    src = "import numpy as np\n\n\ndef f(_unbroadcast, b):\n    return np.sum(_unbroadcast * b)\n"
    with pytest.raises(
        CodegenError, match=r"^h\.py:4:7: error: the name '_unbroadcast' is reserved"
    ):
        generate(src, "h.py", "f")


def test_in_place_update_after_a_helper_call():
    # A helper's fresh result may be updated in place; a helper returning its
    # parameter hands back the caller's array, which may not.
    fresh = (
        "import numpy as np\n\n\ndef sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n\n\n"
        "def f(x):\n    y = sigmoid(x)\n    y += 0.5\n    return np.sum(y * x)\n"
    )
    _check(fresh, {"x": np.array([0.2, -0.4])})
    same = (
        "import numpy as np\n\n\ndef ident(z):\n    return z\n\n\n"
        "def f(x):\n    y = ident(x)\n    y += 0.5\n    return np.sum(y * x)\n"
    )
    with pytest.raises(CodegenError, match="in-place update of 'y'"):
        generate(same, "h.py", "f")


@pytest.mark.parametrize(
    "annotation, point",
    [
        ('Float[np.ndarray, "1 N"]', {"y": np.array([[1.6, -1.2, 1.55]])}),
        ('Float[np.ndarray, "M N"]', {"y": np.array([[0.3, -0.7, 2.0]])}),
        ("", {"y": np.array([[0.4, 1.1, -0.2]])}),
    ],
)
def test_assigned_value_broadcast_into_repeated_positions(annotation, point):
    # tests/programs seed 11001635: `v1[[-1, 0]] = y` with y of shape (1, N)
    # (both indices are row 0): y is broadcast into the (2, N) region, but the
    # annotations proved y's shape equal to the result's, so the gradient
    # skipped _unbroadcast and came back (2, N).
    ann = f": {annotation}" if annotation else ""
    src = (
        "from __future__ import annotations\n\nimport numpy as np\n\n\n"
        f"def f(y{ann}):\n    v1 = np.zeros_like(y)\n    v1[[-1, 0]] = y\n"
        "    return np.sin(v1) * 2.0\n"
    )
    forward, generated, _ = build(src, "f")
    out, cache = generated.f_forward(**point)
    (grad,) = (generated.f_backward(np.ones_like(out), cache),)
    assert np.shape(grad) == np.shape(point["y"])
    _check(src, point)


def test_array_code_in_a_file_that_does_not_import_numpy():
    # the long build fuzz deleted `import numpy as np` from examples/affine.py:
    # the function, using only x.reshape, @ and +, was generated as scalar
    # (math) code, which skips _unbroadcast, and grad_b came back shaped like
    # out, not like b.
    src = (
        "def affine(x, w, b):\n"
        "    N = x.shape[0]\n"
        "    out = x.reshape(N, -1) @ w + b\n"
        "    return out\n"
    )
    rng = np.random.default_rng(0)
    point = {
        "x": rng.standard_normal((5, 2, 2)),
        "w": rng.standard_normal((4, 3)),
        "b": rng.standard_normal(3),
    }
    _check(src, point, "affine")
    _, generated, code = build(src, "affine")
    assert "import numpy as np" in code
    out, cache = generated.affine_forward(**point)
    assert [np.shape(g) for g in generated.affine_backward(out, cache)] == [
        (5, 2, 2),
        (4, 3),
        (3,),
    ]


def test_a_0d_array_parameter_stays_an_array_under_central_differences():
    # tests.programs.second seed 21156: the reference moved a 0-d array
    # parameter to a Python float, on which the forward's y[None] fails.
    src = "import numpy as np\n\ndef f(x, y):\n    v = x * 1.0\n    v[1] = y[None]\n    return np.sin(v)\n"
    _check(src, {"x": np.array([[0.3, -1.2], [0.5, 2.0]]), "y": np.array(0.7)})


def test_backward_never_writes_into_an_upstream_gradient_through_an_einsum_view():
    # np.einsum of one operand with no summed index is a view of it
    # ("ji->ij" is the transpose): accumulating into it in place wrote into
    # the caller's grad_out, and a second backward call gave another answer
    src = (
        "import numpy as np\n\n\ndef f(x):\n    x2 = x * 2.0\n"
        '    out = np.einsum("ij->ji", x)\n    return out, x2\n'
    )
    _, mod, _ = build(src, "f")
    x = np.arange(6.0).reshape(2, 3)
    _, cache = mod.f_forward(x)
    grad_out, grad_x2 = np.ones((3, 2)), np.ones((2, 3))
    first = mod.f_backward(grad_out, grad_x2, cache)
    np.testing.assert_array_equal(grad_out, np.ones((3, 2)))
    np.testing.assert_array_equal(mod.f_backward(grad_out, grad_x2, cache), first)
    np.testing.assert_array_equal(first, np.full((2, 3), 3.0))
