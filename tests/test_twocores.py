"""Compiling a long generated module on two cores gives compile's verdict."""

from __future__ import annotations

import pytest

from codegen.project import twocores


def _module(n_defs: int, body_lines: int) -> str:
    parts = ['"""A long module."""', "", "import math", ""]
    for k in range(n_defs):
        parts += ["", f"def f{k}(x):"]
        parts += [f"    v{i} = math.sin(x) + {i}" for i in range(body_lines)]
        parts += ["    return v0", ""]
    return "\n".join(parts) + "\n"


LONG = _module(4, 12_000)


def test_a_long_module_is_cut_at_a_def_and_compiles():
    assert len(LONG) >= twocores.SPLIT_AT
    cut = twocores._cut(LONG)
    assert cut is not None and LONG.startswith("def ", cut)
    twocores.compile_module(LONG, "<long>")  # raises on a wrong verdict


@pytest.mark.parametrize("where", [0.25, 0.75])  # first piece, second piece
def test_a_syntax_error_in_either_piece_is_reported_where_it_is(where):
    lines = LONG.split("\n")
    at = next(
        i for i in range(int(len(lines) * where), len(lines)) if "v5 =" in lines[i]
    )
    lines[at] = "    v5 = (math.sin(x) +"  # an unclosed bracket
    text = "\n".join(lines)
    with pytest.raises(SyntaxError) as one_core:
        compile(text, "<long>", "exec", dont_inherit=True)
    with pytest.raises(SyntaxError) as two_cores:
        twocores.compile_module(text, "<long>")
    assert two_cores.value.lineno == one_core.value.lineno
    assert two_cores.value.msg == one_core.value.msg


def test_a_string_spanning_the_cut_is_compiled_whole():
    # the cut lands inside a triple-quoted string: the first piece does not
    # compile on its own, and the verdict is the whole module's
    filler = "x = 1\n" * (twocores.SPLIT_AT // 11)
    text = filler + 's = """\n' + "def g():\n" + '"""\n' + filler
    assert len(text) >= twocores.SPLIT_AT and twocores._cut(text) == text.index("def g")
    twocores.compile_module(text, "<long>")


def test_a_return_outside_a_function_in_the_second_piece_is_an_error():
    text = LONG + "return 1\n"
    with pytest.raises(SyntaxError, match="outside function"):
        twocores.compile_module(text, "<long>")
