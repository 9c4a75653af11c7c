"""Every refusal: message, location (line:col, 1-based), caret and hint."""

from __future__ import annotations

import pytest

from codegen import generate
from codegen.errors import CodegenError, CodegenErrors

CASES = [
    # (body line, message fragment, column of the caret)
    ("    y = math.gamma(x)", "no adjoint rule for 'math.gamma'", 9),
    ("    y = foo(x)", "no adjoint rule for 'foo'", 9),
    (
        "    y = x if x else x",
        "a conditional expression whose condition is known only",
        14,
    ),
    ("    y = x << 2", "operator '<<' is not supported", 11),
    ("    y = [x, x] * 2", "a tuple of values is not an array here", 9),
    ("    y = x.imag", "attribute 'x.imag' is not supported", 9),
    ("    y = lambda: x", "(Lambda) is not supported", 9),
    ("    y = a", "name 'a' is not defined", 9),
    ("    y = math.exp(*x)", "star-arguments are not supported", 18),
    ("    y = x in (1, 2)", "this comparison is not supported", 11),
    ("    y = z[0] = x", "chained assignment is supported to plain names only", 5),
    ("    y = x\n    y <<= 2", "augmented assignment 'LeftShiftAssign'", 7),
]

STATEMENTS = [
    ("    for i in range(x):\n        x = x + 1", "its count must be a number"),
    (
        "    if x > 0:\n        x = -x",
        "an 'if' whose condition is known only at run time",
    ),
    ("    while x:\n        x = x - 1", "'while' loops are not supported"),
    ("    global g\n    g = x", "'global' statements are not supported"),
    ("    x.attr = 1", "assignment to 'x.attr' is not supported"),
    ("    print(x)", "expression statements are not supported"),
    ("    import os", "imports inside the function are not supported"),
]


def _source(body: str, ret: str = "    return y\n") -> str:
    return f"import math\n\n\ndef f(x):\n{body}\n{ret}"


def _errors(source: str) -> list[CodegenError]:
    with pytest.raises(CodegenError) as info:
        generate(source, "bad.py", "f")
    err = info.value
    return err.errors if isinstance(err, CodegenErrors) else [err]


@pytest.mark.parametrize("body,message,col", CASES)
def test_unsupported_expression_is_located(body, message, col):
    (err,) = _errors(_source(body))
    text = str(err)
    first = text.splitlines()[0]
    line = 5 + body.count("\n")
    assert first.startswith(f"bad.py:{line}:{col}: error: "), text
    assert message in first
    caret = text.splitlines()[2]
    assert caret.index("^") - 4 == col - 1
    assert "hint:" in text or "star" in message or "chained" in message


@pytest.mark.parametrize("body,message", STATEMENTS)
def test_unsupported_statement_is_refused(body, message):
    errs = _errors(_source(body, "    return x\n"))
    assert any(message in e.message for e in errs), [str(e) for e in errs]
    assert all(e.loc is not None for e in errs)


def test_every_error_in_the_function_is_reported():
    src = _source(
        "    a = foo(x)\n    for i in x:\n        pass\n    b = x << 3\n    y = a + b"
    )
    errs = _errors(src)
    assert [e.loc.line for e in errs] == [5, 6, 8]


def test_no_cascade_after_a_failed_assignment():
    errs = _errors(_source("    a = foo(x)\n    y = a * 2"))
    assert len(errs) == 1


def test_missing_return():
    errs = _errors("def f(x):\n    y = x\n")
    assert "no final 'return'" in errs[0].message


def test_several_returns_and_tuple_returns():
    assert (
        "code after 'return'"
        in _errors("def f(x):\n    return x\n    return x\n")[0].message
    )
    # several outputs are supported (tests/test_several_outputs.py), each once
    assert "returned twice" in _errors("def f(x):\n    return x, x\n")[0].message
    # a helper's tuple is its caller's to unpack (tests/test_helper_arguments.py)
    helper = "def g(a):\n    return a, a\n\ndef f(x):\n    return g(x)\n"
    assert "must hold distinct computed values" in _errors(helper)[0].message


def test_star_parameters():
    assert "star-parameters" in _errors("def f(*x):\n    return x\n")[0].message


def test_syntax_error_has_an_exact_position():
    (err,) = _errors("def f(x):\n    y = x +\n    return y\n")
    assert str(err).startswith("bad.py:2:12: error: invalid syntax")


def test_missing_function_names_the_ones_there():
    with pytest.raises(CodegenError) as info:
        generate("def g(x):\n    return x\n", "m.py", "f")
    assert "no function 'f'" in str(info.value)
    assert "functions defined there: g" in str(info.value)


def test_a_tab_is_one_column_and_the_caret_lines_up():
    """Columns count characters, as Python, ruff and mypy do; the line is
    shown with tabs expanded and the caret under the call."""
    src = "import math\ndef f(x):\n\ty = math.gamma(x)\n\treturn y\n"
    (err,) = _errors(src)
    text = str(err)
    assert text.startswith("bad.py:3:6:")
    shown, caret = text.splitlines()[1:3]
    assert shown[caret.index("^") :].startswith("math.gamma(x)")


def test_recursion_in_helpers_is_refused():
    src = "def g(x):\n    return g(x)\n\ndef f(x):\n    y = g(x)\n    return y\n"
    errs = _errors(src)
    assert any("recursion" in e.message for e in errs)


def test_deeply_nested_expression_is_handled():
    expr = "(" * 1000 + "x" + ")" * 1000
    src = f"def f(x):\n    y = {expr} * 2\n    return y\n"
    try:
        code = generate(src, "deep.py", "f")
    except CodegenError as err:
        assert err.loc is not None or err.filename == "deep.py"
    else:
        assert "y = x * 2" in code


HINTS = [
    # (call, what the hint must say): the closest supported spellings ...
    ("np.cumsun(x)", "did you mean np.cumsum?"),
    ("np.linalg.sum(x)", "did you mean np.sum"),
    ("math.cosine(x)", "did you mean math.copysign?"),
    ("x.flaten()", "did you mean .flatten()?"),
    # ... the rewrite for what does not belong in a forward ...
    ("np.random.randn(3) * x", "pass them in as a parameter"),
    # ... and no far-fetched guess where nothing is close.
    ("math.gamma(x)", "every supported call is listed in the README"),
]


@pytest.mark.parametrize("call, hint", HINTS)
def test_unknown_call_hint_names_the_closest_spellings(call, hint):
    source = f"import math\nimport numpy as np\n\n\ndef f(x):\n    y = {call}\n    return y\n"
    with pytest.raises(CodegenError) as err:
        generate(source, "hint.py", "f")
    text = str(err.value)
    assert f"hint: {hint}" in text or hint in text.split("hint: ")[1]
    assert "did you mean" not in text or "math.gamma" not in call
    assert len(text.split("hint: ")[1]) < 200  # no list of every name


def test_np_take_mode_must_be_a_literal_string():
    source = (
        "import numpy as np\n\n\ndef f(x, m):\n    return np.take(x, [1], mode=m)\n"
    )
    (err,) = _errors(source)
    assert str(err).startswith("bad.py:5:33: error: np.take's mode must be the string")


@pytest.mark.parametrize(
    "call, message",
    [
        ("x.reshape(3, 2, order='A')", "order= must be the string 'C' or 'F' here"),
        (
            "x.reshape(np.shape(x), order='F')",
            "reshape with order='F' needs its shape written out here",
        ),
    ],
)
def test_reshape_orders_codegen_cannot_see_are_refused(call, message):
    source = f"import numpy as np\n\n\ndef f(x):\n    return {call}\n"
    (err,) = _errors(source)
    assert str(err).startswith(f"bad.py:5:12: error: {message}")


@pytest.mark.parametrize(
    "body,name",
    [
        ("type = x * y\n    return np.exp(type)", "type"),
        ("float = np.exp(x)\n    return float * y", "float"),
        ("abs = x * 2\n    return np.abs(y) * abs", "abs"),
        ("round = x * 2\n    return math.remainder(y, x) * round", "round"),
    ],
)
def test_a_local_hiding_a_builtin_the_generated_code_uses_is_refused(body, name):
    # type(x) is float (the float test), abs and round in adjoints: a local of
    # that name would be found there instead (or unbound)
    source = f"import math\nimport numpy as np\n\n\ndef f(x, y):\n    {body}\n"
    with pytest.raises(
        CodegenError, match=rf"<test>:6:\d+: error: '{name}' is a builtin"
    ):
        generate(source, "<test>", "f")


@pytest.mark.parametrize("name", ["sum", "max", "id", "input"])
def test_a_local_named_as_a_builtin_the_generated_code_does_not_use_is_fine(name):
    source = f"import numpy as np\n\n\ndef f(x, y):\n    {name} = np.max(x)\n    return np.exp(y) * {name}\n"
    code = generate(source, "<test>", "f")
    assert f"{name} = np.max(x)" in code


@pytest.mark.parametrize("name", ["type", "sum", "len", "float"])
def test_a_module_constant_named_as_a_builtin_is_refused(name):
    # repeated at the generated module's top, it would hide the builtin from
    # the runtime helpers (_real calls type, _scatter_add sum)
    source = (
        f"import numpy as np\n\n{name} = 2.0\n\n\ndef f(x):\n    return x * {name}\n"
    )
    with pytest.raises(
        CodegenError, match=f"the module constant '{name}' has the name"
    ):
        generate(source, "<test>", "f")
