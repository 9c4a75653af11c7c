"""Issue 13, front end: constructs the parse pass read wrongly (a silent wrong
value or gradient, or a generated module that crashes where the forward runs).
Each case is checked against the user's own forward: its value by running it,
its gradient by central differences (`codegen.verify.check_gradients`), or is
refused with a location."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import build

from codegen import generate
from codegen.checks.verify import check_gradients
from codegen.errors import CodegenError

NP = "import numpy as np\n\n\n"


def _agrees(source: str, point: dict, func: str = "f", wrt=None) -> None:
    """The generated module computes the forward's value, and gradients of the
    parameters' own shapes that match central differences of the forward."""
    forward, generated, _ = build(source, func, wrt)
    params = list(point)
    want = getattr(forward, func)(**copy.deepcopy(point))
    got, grads = getattr(generated, f"{func}_value_and_grad")(**copy.deepcopy(point))
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    names = wrt or params
    grads = (grads,) if len(names) == 1 else grads
    for name, grad in zip(names, grads, strict=True):
        assert np.shape(grad) == np.shape(point[name]), name
    pair = (
        getattr(generated, f"{func}_forward"),
        getattr(generated, f"{func}_backward"),
    )
    report = check_gradients(getattr(forward, func), pair, params, point, names, func)
    assert report.ok, report.summary()


def _refused(source: str, where: str, message: str, func: str = "f") -> CodegenError:
    """`source` is refused at `where` (line:col) with `message` in the error."""
    with pytest.raises(CodegenError) as info:
        generate(source, "t.py", func)
    text = str(info.value)
    assert text.startswith(f"t.py:{where}: error: "), text
    assert message in text, text
    return info.value


X3 = np.array([1.0, 2.0, 3.0])
X23 = np.array([[0.5, -1.2, 0.8], [1.5, 0.3, -0.7]])
X234 = np.linspace(-1.0, 1.3, 24).reshape(2, 3, 4)


# ----- 1. list and tuple literals in an index are integer-array indexing -----

LIST_INDICES = [
    ("np.sum(x[[0, 0, 1]])", X3),
    ("np.sum(x[[0, 0, 1]] * (np.arange(3.0) + 1.0))", X3),
    ("np.sum(x[:, [1, 1]] * 2.0)", X23),
    ("np.sum(x[[0, 0], 1:])", X23),
    ("np.sum(x[(0, 0),])", X3),
    ("np.sum(x[[[0, 1], [1, 1]]] ** 2)", X3),
    ("np.sum(x[[1, 1], :, [0, 3]] ** 2)", X234),
    ("np.sum(x[:, [2, 2], 1:] ** 2)", X234),
    ("np.sum(x[[True, False, True]] * x[[True, False, True]])", X3),
    ("np.sum(x[None, [0, 0]])", X23),
    ("x[(1, 2)] * x[1, 2]", X23),
]


@pytest.mark.parametrize("expr,x", LIST_INDICES)
def test_list_literal_index_adds_repeats(expr, x):
    _agrees(f"{NP}def f(x):\n    return {expr}\n", {"x": x})


def test_list_literal_index_with_names_and_in_an_update():
    src = f"{NP}def f(x, i: int):\n    return np.sum(x[[i, i, 0]] ** 2)\n"
    _agrees(src, {"x": X3, "i": 2}, wrt=["x"])
    src = (
        f"{NP}def f(x):\n    a = x * 1.0\n    a[[0, 2]] += x[[1, 1]]\n"
        "    return np.sum(a * a)\n"
    )
    _agrees(src, {"x": X3})


# ----- 7 and 21. module-level constants: bound once to a number, or refused -----

REBOUND = [
    ("S = 2.0\nS += 1.0\n", "bound again at line 2"),
    ("S = 2.0\nS = S * 5\n", "bound again at line 2"),
    ("S = 2.0\nif True:\n    S = 5.0\n", "bound again at line 3"),
    ("S = 2.0\nfor S in (1.0, 4.0):\n    pass\n", "bound again at line 2"),
    ("S = 2.0\n\n\ndef g():\n    global S\n    S = 4.0\n", "bound again at line 5"),
    ("S = 2.0\ndel S\n", "bound again at line 2"),
    ("S = 2.0\nfrom math import *\n", "later 'import *'"),
    ("S = max(1.0, 2.0)\n", "not a number"),
]


@pytest.mark.parametrize("top,reason", REBOUND)
def test_module_constant_bound_twice_is_refused(top, reason):
    src = f"{top}\n\ndef f(x):\n    return x * S\n"
    line = src.count("\n", 0, src.index("return x * S")) + 1
    _refused(src, f"{line}:16", reason)


CONSTANTS = [
    "SCALE = -1.5\n",
    "SCALE = +2\n",
    "SCALE = -(3.0)\n",
    "SCALE, OTHER = 5.0, 1.0\n",
    "SCALE: float = 0.25\n",
    "from math import *\n\nSCALE = 2.5\n",
    "SCALE = 2.0\n[SCALE for SCALE in (1.0, 3.0)]\n",
]


@pytest.mark.parametrize("top", CONSTANTS)
def test_module_constant_bound_once_is_read_as_python_reads_it(top):
    src = f"{top}\n\ndef f(x):\n    y = x * SCALE\n    return y * x - SCALE\n"
    _agrees(src, {"x": 0.7})


def test_helper_bound_twice_is_refused():
    src = "def h(z):\n    return z * 2.0\n\n\nh = abs\n\n\ndef f(x):\n    return h(x)\n"
    _refused(src, "9:12", "the helper 'h' is bound more than once")


# ----- 8. identifiers are NFKC-normalised, as Python reads them -----

LIGATURE = "\ufb01"  # the one-character "fi"


def test_nfkc_equivalent_names_are_one_name():
    src = (
        f"def f(x):\n    {LIGATURE} = x * 2.0\n    fi = {LIGATURE} * x\n"
        f"    return {LIGATURE} * fi\n"
    )
    _agrees(src, {"x": 0.7})
    _agrees(
        f"def f(x, {LIGATURE}):\n    return fi * x + {LIGATURE}\n",
        {"x": 0.3, "fi": 0.9},
    )
    src = (
        f"{LIGATURE}ve = 5.0\n\n\ndef {LIGATURE}x(z):\n    return z * five\n\n\n"
        "def f(x):\n    return fix(x) * x\n"
    )
    _agrees(src, {"x": 0.7})


def test_nfkc_keywords_and_methods():
    wide_axis, wide_sum = "\uff41xis", "\uff53um"  # fullwidth a, fullwidth s
    src = (
        f"{NP}def f(x):\n"
        f"    return np.sum(np.sum(x * x, {wide_axis}=0) * x.{wide_sum}(axis=0))\n"
    )
    _agrees(src, {"x": X23})


def test_errors_on_a_line_with_a_ligature_point_at_the_users_text():
    twice = LIGATURE * 2
    src = f"def f(x):\n    {twice} = x * 2.0\n    return {twice} + atan2(x, x)\n"
    _refused(src, "3:17", "no adjoint rule for 'atan2'")


# ----- 12. positional and keyword operands are bound as NumPy binds them -----

SPELLINGS = [
    # (expression, parameter); each differs from the keyword form only in spelling
    ("np.concatenate([x, x * 2.0], 0)", X3),
    ("np.concatenate((x, x * 2.0), 1)", X23),
    ("np.concatenate((x, x * 2.0), -1)", X23),
    ("np.stack([x, x * 2.0], 1)", X3),
    ("np.stack((x, x * 2.0), -1)", X23),
    ("np.sum(x, 1)", X23),
    ("np.sum(x, 0, x.dtype)", X23),
    ("np.sum(x, 0, None, None, True)", X23),
    ("np.mean(x, 0, keepdims=True)", X23),
    ("np.mean(x, 0, None, None, True)", X23),
    ("np.max(x, -1)", X23),
    ("np.max(x, 0, None, True)", X23),
    ("x.max(0, None, True)", X23),
    ("x.sum(1, None, None, True)", X23),
    ("np.var(x, 1, None, None)", X23),
    ("np.transpose(x, (1, 0))", X23),
    ("np.transpose(x, axes=(1, 0))", X23),
    ("np.reshape(x, shape=(3, 2))", X23),
    ("np.squeeze(x[None], 0)", X23),
    ("np.expand_dims(x, axis=0)", X3),
    ("np.expand_dims(x, axis=(0, 2))", X3),
    ("np.tensordot(x, x, 2)", X23),
    ("np.clip(x, a_min=-0.5, a_max=0.9)", X23),
    ("np.clip(x, min=-0.5, max=0.9)", X23),
    ("np.where(x > 0, x, 0.5 * x)", X23),
]


@pytest.mark.parametrize("expr,x", SPELLINGS)
def test_positional_and_keyword_spellings(expr, x):
    weights = "np.arange(np.size(out)).reshape(np.shape(out)) + 1.0"
    src = f"{NP}def f(x):\n    out = {expr}\n    return np.sum(out * ({weights}))\n"
    _agrees(src, {"x": x})


UNSUPPORTED_ARGUMENTS = [
    ("np.std(x, 0, correction=1)", "5:25", "the argument 'correction' of 'np.std'"),
    ("np.sum(x, None, None, None, False, 0.0)", "5:47", "argument 'initial'"),
    ("np.exp(x, x)", "5:22", "the argument 'out' of 'np.exp'"),
    ("np.copy(x, 'F')", "5:23", "the argument 'order' of 'np.copy'"),
    ("np.concatenate(x)", "5:27", "takes a list or tuple literal of arrays"),
    ("np.sum(x, axis=0, axis=1)", "5:30", "keyword argument repeated: axis"),
    ("np.clip(x, 0.0, a_min=1.0)", "5:28", "got two values for 'a_min'"),
    ("np.mean(x, 0, None, 0)", "5:32", "the argument 'out' of 'np.mean'"),
    ("np.sum(x, keepdims=k)", "5:12", "keepdims must be a constant"),
    ("np.clip(x, None, None)", "5:12", "needs a lower or an upper bound"),
    ("np.stack([x, x], axis=None)", "5:12", "with axis=None is not supported"),
]


@pytest.mark.parametrize("expr,where,message", UNSUPPORTED_ARGUMENTS)
def test_arguments_numpy_reads_otherwise_are_refused(expr, where, message):
    _refused(f"{NP}def f(x, k):\n    return {expr}\n", where, message)


def test_signatures_match_numpy():
    """The signature table names NumPy's parameters in NumPy's order and
    kinds (a positional argument is never taken for another parameter)."""
    import inspect

    from codegen.front.parse_calls import FUNCTIONS, signature

    kinds = inspect.Parameter
    for canonical, text in FUNCTIONS.items():
        fn = np
        for part in canonical.split(".")[1:]:  # numpy.fft.fftshift, numpy.lib...
            fn = getattr(fn, part)
        params = list(inspect.signature(fn).parameters.values())
        for k, slot in enumerate(signature(text)):
            if k >= len(params) or params[k].kind == kinds.VAR_KEYWORD:
                assert not slot.positional, (canonical, slot)  # in **kwargs
                continue
            p = params[k]
            assert p.name == slot.name, (canonical, p.name, slot.name)
            positional = p.kind in (
                kinds.POSITIONAL_ONLY,
                kinds.POSITIONAL_OR_KEYWORD,
                kinds.VAR_POSITIONAL,  # *varargs: a rest slot
            )
            keyword = p.kind in (kinds.POSITIONAL_OR_KEYWORD, kinds.KEYWORD_ONLY)
            assert (slot.positional, slot.keyword) == (positional, keyword), (
                canonical,
                p,
            )
            if slot.default_none:
                assert p.default is None, (canonical, p)


def test_every_numpy_spelling_has_a_signature():
    from codegen.front.parse_arrays import METHODS, NUMPY_CALLS
    from codegen.front.parse_calls import FUNCTIONS, PLAIN
    from codegen.front.parse_calls import METHODS as METHOD_SIGNATURES

    assert set(NUMPY_CALLS) - PLAIN == set(FUNCTIONS)
    assert set(METHODS) == set(METHOD_SIGNATURES)


# ----- 13. np.clip with one bound None is np.maximum / np.minimum -----

CLIPS = [
    "np.clip(x, None, 0.9)",
    "np.clip(x, -0.5, None)",
    "x.clip(-0.5)",
    "x.clip(max=0.9)",
    "np.clip(x, max=0.9)",
    "np.clip(x, b, None)",
    "np.clip(x, None, b)",
]


@pytest.mark.parametrize("expr", CLIPS)
def test_clip_with_one_bound(expr):
    weights = "(np.arange(6.0).reshape(2, 3) + 1.0)"
    src = f"{NP}def f(x, b):\n    return np.sum({expr} * {weights})\n"
    _agrees(src, {"x": X23, "b": np.array([0.1, -0.2, 0.6])})


def test_clip_at_its_bound_sends_the_gradient_to_x():
    # Away from the bound the test above checks central differences; at the
    # bound the convention (clip's bounds are inclusive; maximum and minimum
    # give ties to the first argument) is that x keeps the gradient.
    x = np.array([0.9, -0.5, 0.2])
    for expr in (
        "np.clip(x, None, 0.9)",
        "np.clip(x, -0.5, None)",
        "np.clip(x, -0.5, 0.9)",
    ):
        _, generated, _ = build(f"{NP}def f(x):\n    return np.sum({expr})\n")
        _, grad = generated.f_value_and_grad(x)
        np.testing.assert_array_equal(grad, [1.0, 1.0, 1.0])


# ----- 19. keepdims given as an int; dicts are refused -----


@pytest.mark.parametrize("keep", ["1", "0", "True", "False"])
def test_keepdims_given_as_an_int(keep):
    src = (
        f"{NP}def f(x):\n    m = np.sum(x * x, axis=1, keepdims={keep})\n"
        "    return np.sum(m * np.arange(np.size(m)).reshape(np.shape(m)))\n"
    )
    _agrees(src, {"x": X23})
    src = f"{NP}def f(x):\n    return np.sum(x - np.max(x, axis=1, keepdims=1))\n"
    _agrees(src, {"x": X23})


def test_a_dict_read_by_string_keys_gets_no_gradient():
    # a dict read by constant keys is a dict of settings (no gradient; see
    # tests/test_settings_dicts.py): alone, nothing is left to differentiate
    with pytest.raises(CodegenError, match="'val' is a dict of settings"):
        generate(
            f"{NP}def f(val):\n    return val['a'] * val['b'] + val['c']\n", "t.py", "f"
        )
    # and a string key on an array (not a parameter) is refused where it is
    _refused(
        f"{NP}def f(x):\n    y = x * 2.0\n    return y['a']\n",
        "6:14",
        "indexing with the string key 'a' is not supported",
    )


# ----- 10. np.dot: '@' where it equals it, any rank otherwise -----


def _ann(dims: str) -> str:
    return f'Float[np.ndarray, "{dims}"]' if dims else "float"


DOTS_AS_MATMUL = [  # (x dims, y dims): np.dot equals @ here
    ("N D", "D K"),
    ("D", "D K"),
    ("N D", "D"),
    ("D", "D"),
    ("D", "B D K"),
    ("B N D", "D"),
]


@pytest.mark.parametrize("dx,dy", DOTS_AS_MATMUL)
def test_np_dot_of_proven_ranks_is_right(dx, dy):
    sizes = {"N": 2, "D": 3, "K": 4, "B": 2}
    rng = np.random.default_rng(1)
    point = {
        "x": rng.standard_normal([sizes[d] for d in dx.split()]),
        "y": rng.standard_normal([sizes[d] for d in dy.split()]),
    }
    for call in ("np.dot(x, y)", "x.dot(y)"):
        src = (
            f"{NP}def f(x: {_ann(dx)}, y: {_ann(dy)}):\n"
            f"    z = {call}\n    return np.sum(z * z)\n"
        )
        _agrees(src, point)


DOTS_OTHER = [  # (x dims, y dims; None: unannotated "N D"): np.dot is not '@'
    ("", ""),
    ("B N D", "B D K"),
    ("N D", "B D K"),
    ("", "D"),
    (None, "D K"),
]


@pytest.mark.parametrize("dx,dy", DOTS_OTHER)
def test_np_dot_of_other_or_unknown_ranks_is_right(dx, dy):
    """np.dot pairs every batch of x with every batch of y, and a 0-d operand
    multiplies (issue 14: taken for every rank, no longer refused)."""
    sizes = {"N": 2, "D": 3, "K": 4, "B": 2}
    rng = np.random.default_rng(2)

    def draw(dims: str):
        if not dims:
            return float(rng.standard_normal())
        return rng.standard_normal([sizes[d] for d in dims.split()])

    point = {"x": draw("N D" if dx is None else dx), "y": draw(dy)}
    x = "x" if dx is None else f"x: {_ann(dx)}"
    for call in ("np.dot(x, y)", "x.dot(y)"):
        if call == "x.dot(y)" and dx == "":
            continue  # a float has no .dot
        src = f"{NP}def f({x}, y: {_ann(dy)}):\n    z = {call}\n    return np.sum(z * z)\n"
        _agrees(src, point)


def test_np_dot_inside_a_helper_is_right():
    src = f"{NP}def h(a, b):\n    return np.dot(a, b)\n\n\ndef f(x, y):\n    return np.sum(h(x, y) ** 2)\n"
    rng = np.random.default_rng(3)
    _agrees(
        src, {"x": rng.standard_normal((2, 3, 4)), "y": rng.standard_normal((4, 2))}
    )


# ----- 18. a tuple axis of np.expand_dims adds one dimension per entry -----


def test_expand_dims_with_a_tuple_axis_has_the_right_rank():
    for axis in ("(0, 1)", "(1, 0)", "(0, 1, 2)", "(-2, 0)"):
        src = (
            f'{NP}def f(w: Float[np.ndarray, "N"]):\n'
            f"    e = np.expand_dims(w, {axis})\n    return np.sum(e.T @ e)\n"
        )
        _agrees(src, {"w": X3})


# ----- 6. tuples and lists of values as operands -----

TUPLES = [
    ("def f(x):\n    return np.mean((x, x + 2))\n", {"x": X3}),
    ("def f(x, y):\n    t = x, y\n    return np.sum(t + t)\n", {"x": X3, "y": -X3}),
    ("def f(x, y):\n    return np.sum([x, y * x])\n", {"x": X3, "y": -X3}),
    (
        "def f(x, y):\n    return np.sum(np.exp([[x, y], [y, x * y]]))\n",
        {"x": 0.3, "y": -0.4},
    ),
    (
        "def f(a, b, c):\n    t = a, b, c\n    return t[1] * t[-1]\n",
        {"a": 1.0, "b": 2.0, "c": 3.0},
    ),
    ("def f(x, y):\n    z = (x * y, y)[0]\n    return z\n", {"x": 1.5, "y": 2.0}),
    (
        "def f(x, y):\n    t = (x, y)\n    u = t\n    return np.sum(np.stack(u) ** 2)\n",
        {"x": X3, "y": X3 * 2},
    ),
    (
        "def f(x, y):\n    t = (x, y * 2.0)\n    return np.sum(np.concatenate(t) ** 2)\n",
        {"x": X3, "y": X3},
    ),
    (
        "def f(x, y):\n    a, b = x * 2.0, y\n    b, a = a, b\n    return np.sum(a * b * b)\n",
        {"x": X3, "y": -X3},
    ),
    (
        "def f(x, y):\n    t = (x, (y, x * y))\n    return np.sum(t[1][1] * t[0])\n",
        {"x": X3, "y": -X3},
    ),
    ("def f(x):\n    return np.sum(np.maximum((x, 2 * x), 0.5))\n", {"x": X3 - 2.0}),
    (
        "def f(x, y):\n    return np.sum(np.where(x > 0, (x, y), 0.0))\n",
        {"x": X3 - 1.5, "y": X3},
    ),
]


@pytest.mark.parametrize("body,point", TUPLES)
def test_tuples_and_lists_of_values(body, point):
    _agrees(NP + body, point)


TUPLES_REFUSED = [
    (
        "def f(x, y):\n    return np.sum((x, y) * 2)\n",
        "5:19",
        "a tuple of values is not an array",
    ),
    (
        "def f(x, y):\n    t = x, y\n    return np.sum(t + x)\n",
        "6:19",
        "a tuple of values is not an array",
    ),
    (
        "def f(x, i: int):\n    t = x, x\n    return np.sum(t[i])\n",
        "6:19",
        "constant integer",
    ),
    (
        "def f(x):\n    t = x, x\n    return np.sum(t[2])\n",
        "6:19",
        "constant integer in range(-2, 2)",
    ),
    (
        "def f(x):\n    t = x, x\n    return t\n",
        "6:12",
        "must hold distinct computed values",
    ),
    (
        "def f(x):\n    t = x, x\n    return np.sum(t.sum())\n",
        "6:19",
        "a tuple of values is not an array",
    ),
    (
        "def f(x):\n    a, b = x, x, x\n    return a\n",
        "5:5",
        "cannot unpack 3 values into 2",
    ),
    (
        "def f(x, s):\n    return np.sum(np.reshape(x, (*s, 1)))\n",
        "5:34",
        "star-expressions",
    ),
]


@pytest.mark.parametrize("body,where,message", TUPLES_REFUSED)
def test_tuples_python_reads_otherwise_are_refused(body, where, message):
    _refused(NP + body, where, message)


# ----- 11 and 22. in-place updates: refused where Python changes another array -----

SHARED = [
    # each gave a wrong value on main: Python also changes x (or d, or a)
    (
        "def h(q):\n    return q[1:]\n\n\ndef f(x):\n    v = h(x)\n    v[0] = 5.0\n"
        "    return np.sum(x * v[0])\n",
        "10:5",
    ),
    (
        "def f(a):\n    b = np.einsum('ij->ji', a)\n    b[0] = 0.0\n    return np.sum(a * 2.0)\n",
        "6:5",
    ),
    ("def f(d):\n    t = min(d, 0.0)\n    t *= 2.0\n    return d * 1.0\n", "6:5"),
    ("def f(d):\n    t = max(0.0, d, -5.0)\n    t += 2.0\n    return d * 1.0\n", "6:5"),
    (
        "def f(x):\n    a = x * 2.0\n    t = (a, x)\n    b, c = t\n    b += 1.0\n"
        "    return np.sum(t[0] * a)\n",
        "8:5",
    ),
    (
        "def h(q):\n    q += 1.0\n    return q\n\n\ndef f(x):\n    a = x * 2.0\n    b = h(a)\n"
        "    return np.sum(a * b)\n",
        "5:5",  # in the helper, which changes the caller's a
    ),
    ("def f(x):\n    r = x[0]\n    r[0] = 1.0\n    return np.sum(x * r)\n", "6:5"),
    (
        "def f(x, i: int):\n    r = x[i]\n    r *= 2.0\n    return np.sum(x) * np.sum(r)\n",
        "6:5",
    ),
]


@pytest.mark.parametrize("body,where", SHARED)
def test_in_place_update_of_a_view_or_alias_is_refused(body, where):
    _refused(NP + body, where, "in-place update of ")


def test_in_place_update_of_a_read_only_view_is_refused():
    src = f"{NP}def f(x):\n    b = np.broadcast_to(x * 2.0, (2, 3))\n    b[0] = 1.0\n    return np.sum(b)\n"
    _refused(src, "6:5", "a read-only view")


UNSHARED = [
    # nothing else sees the array: Python and the functional update agree
    "def f(x):\n    t = np.exp(x)[::-1]\n    t[0] = 0.0\n    return np.sum(t * x)\n",
    "def f(x):\n    a = x * 2.0\n    v = a[:]\n    a = a * 3\n    v *= 3\n    return np.sum(v * a)\n",
    "def f(x):\n    a = np.copy(x)\n    a[[0, 2]] += 1.0\n    return np.sum(a * x)\n",
    "def f(x):\n    g = x[[0, 2]]\n    g *= 3.0\n    return np.sum(g * x[1:])\n",
    "def f(x):\n    m = x[np.arange(2)]\n    m[0] = 1.0\n    return np.sum(m * x[:2])\n",
    "def h(q):\n    q = q * 2.0\n    q += 1.0\n    return q\n\n\ndef f(x):\n    return np.sum(h(x) * x)\n",
    "def f(x):\n    b = np.einsum('ij,jk->ik', x, x.T)\n    b[0] = 0.0\n    return np.sum(b * 2.0)\n",
]


@pytest.mark.parametrize("body", UNSHARED)
def test_in_place_update_nothing_else_sees_is_right(body):
    _agrees(NP + body, {"x": X23 if "einsum" in body else X3})


def test_builtin_min_of_a_temporary_may_be_updated():
    # min returns one of its arguments: here a temporary or the float
    src = f"{NP}def f(x):\n    t = min(x * 2.0, 1.0)\n    t *= 3.0\n    return t * x\n"
    _agrees(src, {"x": np.array(0.7)})
    _agrees(src, {"x": np.array(0.2)})
