"""Codegen's own speed work changes no result: the shortcuts agree with the
libcst walks they replace (speed figures are in benchmarks/scaling.py)."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from codegen.front.signature import bound_ids, bound_names
from codegen.front.source import _load_module

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

ODD = """
import numpy as np
S = 2.0


def f(x, y=1.0, *rest, k=3, **kw):
    a, (b, *c) = x, (y, y, y)
    [d] = [x]
    e = g = x * S
    h: float = e
    h += 1.0
    S = (lambda q, r=2: q)(h)
    for i in range(2):
        j = i
    return S
"""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_bound_ids_agree_with_the_libcst_visitor_on_examples(path: Path) -> None:
    mod = _load_module(path.read_text(), str(path))
    for fdef in mod.defs.values():
        assert bound_ids(mod, fdef) == {n.value for n in bound_names(fdef)}


def test_bound_ids_agree_on_every_kind_of_binding() -> None:
    mod = _load_module(ODD, "odd.py")
    fdef = mod.defs["f"]
    want = {n.value for n in bound_names(fdef)}
    assert bound_ids(mod, fdef) == want
    assert {"x", "y", "rest", "k", "kw", "a", "b", "c", "d", "e", "g"} <= want
    assert {"h", "S", "q", "r"} <= want and "j" in want


def test_positions_resolved_without_an_empty_walk(monkeypatch) -> None:
    """Resolving positions walks the tree once (to print it), not twice."""
    walks = []
    real = cst.Module.visit

    def counted(self, visitor):  # type: ignore[no-untyped-def]
        walks.append(type(visitor).__name__)
        return real(self, visitor)

    monkeypatch.setattr(cst.Module, "visit", counted)
    mod = _load_module(ODD, "odd.py")
    assert walks == []  # no visitor ran over the module
    fdef = mod.defs["f"]
    loc = mod.loc(fdef.name)
    assert (loc.line, loc.col) == (6, 4)


# ----- positions found only when read (codegen.front.positions) -----

TRICKY = '''"""Statements of every layout the line shortcut must get right."""
import math
import numpy as np

S = 2.0


def helper(a, b=S * 1.5):
    c = a * b  # a trailing comment
    return c + 1.0


async def shadow(x):
    return x


def one(x): return x * 2.0


def f(x, y):
    """Docstring."""
    # a comment line before a statement
    a = x * y; b = a + 1.0
    c = (a +
         b * 2.0)
    d = helper(c) + helper(a, b=2.0)

    e = math.sin(d) \\
        + math.cos(d)
    g = np.sum(np.tanh(x * e))
    return g * S + one(y)
'''


def _sources() -> list[tuple[str, str]]:
    found = [(p.read_text(), str(p)) for p in EXAMPLES]
    found += [
        (p.read_text(), str(p)) for p in sorted((ROOT / "tests" / "cases").glob("*.py"))
    ]
    found.append((TRICKY, "tricky.py"))
    found.append((TRICKY.replace("\n", "\r\n"), "tricky_crlf.py"))
    found.append(
        (
            TRICKY.replace("    d = helper", "    \ufb01 = 1.0\n    d = helper"),
            "nfkc.py",
        )
    )
    found.append(
        (
            TRICKY.replace("\n    a = x", "\n\ta = x").replace("\n    ", "\n\t"),
            "tabs.py",
        )
    )
    return found


def _parsed(source: str, filename: str, func: str) -> object:
    from codegen.errors import CodegenError
    from codegen.front.parse import parse

    try:
        return parse(source, filename, func, lazy=True)
    except CodegenError as err:
        return str(err)


@pytest.mark.parametrize(("source", "filename"), _sources(), ids=lambda s: s[-20:])
def test_step_locations_and_texts_equal_libcst_s_own(
    monkeypatch, source, filename
) -> None:
    """Every step's line, columns and statement text, with the shortcuts,
    equal what libcst's position provider and printer give (the shortcuts
    switched off), on every example and on statements of every layout."""
    import codegen.front.source as src_mod
    from codegen.front.parse import list_functions

    funcs = list_functions(source, filename)
    assert funcs
    fast = [_parsed(source, filename, f) for f in funcs]
    monkeypatch.setattr(src_mod, "statement_lines", lambda block, tree: {})
    slow = [_parsed(source, filename, f) for f in funcs]
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is type(b)
        if isinstance(a, str):
            assert a == b
            continue
        assert a == b  # type: ignore[comparison-overlap]
        for s, t in zip(a.body, b.body, strict=True):  # type: ignore[attr-defined]
            assert s.source == t.source
            assert (s.loc.line, s.loc.col, s.loc.end_line, s.loc.end_col) == (
                t.loc.line,
                t.loc.col,
                t.loc.end_line,
                t.loc.end_col,
            )
            assert s.loc.line == t.loc.resolved().line  # the known line, too


def test_the_tricky_program_takes_every_path() -> None:
    """The program above has statements on one line (known), several lines,
    after comment lines, and in a one-line def, so both paths run."""
    from codegen.front.parse import parse
    from codegen.front.positions import LazyLoc

    fn = parse(TRICKY, "tricky.py", "f", lazy=True)
    known = {s.loc._known_line for s in fn.body if isinstance(s.loc, LazyLoc)}
    assert {23, 26, 31} <= known and None in known
    texts = {s.source for s in fn.body}
    assert "c = (a +\n     b * 2.0)" in texts  # libcst's own print, dedented
    assert "# a comment line before a statement\na = x * y; b = a + 1.0" in texts


def test_a_clean_parse_never_runs_the_position_provider(monkeypatch) -> None:
    from codegen.front import positions
    from codegen.front.parse import parse

    calls = []
    real = positions.Positions.__call__

    def counted(self, node):  # type: ignore[no-untyped-def]
        calls.append(node)
        return real(self, node)

    monkeypatch.setattr(positions.Positions, "__call__", counted)
    text = (ROOT / "examples" / "neuron.py").read_text()
    fn = parse(text, "neuron.py", "neuron", lazy=True)
    from codegen import generate

    generate(text, "neuron.py", "neuron", parsed=fn)
    assert fn.body and calls == []
    assert fn.body[0].loc.col >= 0 and calls  # read: found


def test_an_error_in_a_one_line_statement_is_located_exactly() -> None:
    from codegen.errors import CodegenError
    from codegen.front.parse import parse

    source = "import numpy as np\n\n\ndef f(x):\n    y = x * 2.0\n    z = y.foo(1)\n    return z\n"
    with pytest.raises(CodegenError) as info:
        parse(source, "bad.py", "f")
    text = str(info.value)
    assert text.startswith("bad.py:6:")
    assert "    z = y.foo(1)" in text and "^" in text


def test_lazy_locations_equal_and_hash_as_plain_ones() -> None:
    from codegen.core import ir
    from codegen.front.positions import LazyLoc

    plain = ir.Loc(3, 4, 3, 9)
    lazy = LazyLoc(3, lambda: ir.Loc(3, 4, 3, 9))
    other = LazyLoc(None, lambda: ir.Loc(3, 4, 3, 10))
    assert lazy == plain and plain == lazy and hash(lazy) == hash(plain)
    assert other != plain and plain != other and other != lazy
    assert {plain: 1}[lazy] == 1 and repr(lazy) == repr(plain)


# ----- the format pass's line tests, against their first definitions -----

_OLD_PLAIN = None


def _old_balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _lines_to_test() -> list[str]:
    import random

    lines: list[str] = []
    for p in sorted((ROOT / "generated").glob("*.py")) + EXAMPLES:
        for line in p.read_text().split("\n"):
            lines += [line, "    " + line.strip(), "        " + line.strip()]
    rng = random.Random(0)
    tokens = [
        "a",
        "b1",
        "x.y",
        "np.sum",
        "1",
        "2.5",
        "1.5e-3",
        "-",
        "(",
        ")",
        " + ",
        " * ",
        " ** ",
        "**",
        " == ",
        ", ",
        " ",
        "_",
        ".",
        "\u00e9",
        "9a",
        "a.1",
    ]
    for _ in range(20000):
        head = (
            "    " + rng.choice(["g", "v_1", "x"]) + rng.choice([" = ", " += ", " -= "])
        )
        lines.append(
            head + "".join(rng.choice(tokens) for _ in range(rng.randint(1, 8)))
        )
    return lines


def test_plain_pattern_and_balance_agree_with_their_first_definitions() -> None:
    import re

    from codegen.back import format as fmt

    name, atom = fmt._NAME, fmt._ATOM
    old = re.compile(
        rf"^(?P<indent> {{4,8}})(?:{name} \+?= "
        rf"(?:{atom}\*\*-?{atom}|-?{atom}|-?\(|\)| [-+*/@<>] | [<>=!]= |, )+$"
        rf"|# \S.*)$"
    )
    lines = _lines_to_test()
    assert [bool(old.match(x)) for x in lines] == [
        bool(fmt._PLAIN.match(x)) for x in lines
    ]
    assert sum(bool(old.match(x)) for x in lines) > 1000  # both kinds are tested
    rhs = [x.split("= ", 1)[-1] for x in lines] + [
        "(",
        ")(",
        "(()",
        "())(",
        "((a))",
        "",
    ]
    assert [_old_balanced(r) for r in rhs] == [fmt._balanced(r) for r in rhs]


# ----- the gate's top level without the bodies' ast (codegen.project.toplevel) -----

_GOOD = '''"""Doc.

More doc.
"""

import math

S = 2.0


def _helper(x, eps=1e-3):
    return x + eps


def f_forward(x, y=1.0):
    """Compute f.

    The cache holds what f_backward reads.
    """
    a = math.sin(x)
    return a, (a,)


def f_backward(
    grad_a,
    cache,
):
    """Gradients."""
    (a,) = cache
    return grad_a * math.cos(a)


def f_value_and_grad(x, y=1.0):
    return 1.0, 2.0
'''

_BODY_END = "    return 1.0, 2.0\n"

#: Modules the cut must read exactly or hand to the full parse: strings that
#: span lines with lines at column 0, statements after a body, decorators,
#: classes, line continuations, other line ends.
_ODD_MODULES = [
    _GOOD,
    _GOOD + "print(1)\n",
    _GOOD + "X = 1.0\nY = np.eye(2)\n",
    _GOOD.replace(
        "    a = math.sin(x)\n",
        '    s = """\nimport os\nprint(1)\n"""\n    a = math.sin(x)\n',
    ),
    _GOOD.replace(
        "    a = math.sin(x)\n", '    s = """\nX = 1\n    """\n    a = math.sin(x)\n'
    ),
    _GOOD.replace(
        "    a = math.sin(x)\n", "    s = '''\nX = 1\n'''\n    a = math.sin(x)\n"
    ),
    _GOOD.replace("    a = math.sin(x)\n", "    a = math.sin(\nx)\n"),
    _GOOD.replace("    a = math.sin(x)\n", "    a = math.sin(x) + \\\n1.0\n"),
    _GOOD.replace(
        "    a = math.sin(x)\n", "# a comment at column 0\n    a = math.sin(x)\n"
    ),
    _GOOD.replace('    """Gradients."""\n', '    """Grad\\\\ients."""\n'),
    _GOOD.replace(
        '    """Gradients."""\n', '    """Gradients.\ndef f_value_and_grad(x):\n"""\n'
    ),
    _GOOD.replace("def _helper", "@staticmethod\ndef _helper"),
    _GOOD.replace("def _helper(x, eps=1e-3)", "def _helper(x, eps=print())"),
    _GOOD.replace("def _helper(x, eps=1e-3)", "def _helper(\n    x,\n    eps=':',\n)"),
    _GOOD.replace(
        "def _helper(x, eps=1e-3):\n    return x + eps\n", "def _helper(x): return x\n"
    ),
    _GOOD.replace("def _helper", "async def _helper"),
    _GOOD + "class C:\n    def f_forward(self):\n        pass\n",
    _GOOD + "def f_extra(x):\n    return x\n",
    _GOOD.replace(_BODY_END, _BODY_END + "import os\n"),
    _GOOD.replace("\n", "\r\n"),
    _GOOD.replace("S = 2.0\n", "S = 2.0\n\x0cT = 1.0\n"),
    _GOOD.replace("S = 2.0", "S = 2.0; import os"),
    _GOOD.replace('"""Doc.', '"""Doc.\ndef f_forward(x):'),
]


def _old_gate(text: str, func: str) -> str:
    """The gate's first definition: the ast of the whole text."""
    import ast

    from codegen.project import stamp

    try:
        tree = ast.parse(text, "<generated>")
        compile(tree, "<generated>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"<generated>: the generated module does not compile: {exc}"
    return stamp._fault(tree.body, func)


def _gate(text: str, func: str) -> str:
    from codegen.errors import InternalError
    from codegen.project import stamp

    try:
        stamp.check_generated(text, func)
    except InternalError as err:
        return str(err).removeprefix("<generated>")
    return ""


@pytest.mark.parametrize("text", _ODD_MODULES, ids=range(len(_ODD_MODULES)))
def test_the_gate_says_what_the_whole_ast_says(text: str) -> None:
    old = _old_gate(text, "f")
    assert _gate(text, "f") == old.removeprefix("<generated>")


def test_the_odd_modules_are_refused_or_read_exactly() -> None:
    """Which of them pass at all (so the test above tests both ways)."""
    verdicts = [_gate(t, "f") == "" for t in _ODD_MODULES]
    assert verdicts[0] and not all(verdicts) and sum(verdicts) >= 8


def _without_bodies(nodes: list) -> list[str]:
    import ast

    out = []
    for n in nodes:
        if isinstance(n, ast.FunctionDef):
            n = ast.FunctionDef(
                n.name,
                n.args,
                [],
                n.decorator_list,
                n.returns,
                n.type_comment,
                lineno=n.lineno,
                col_offset=n.col_offset,
            )
        out.append(f"{n.lineno}: {ast.dump(n)}")
    return out


@pytest.mark.parametrize("text", _ODD_MODULES, ids=range(len(_ODD_MODULES)))
def test_the_cut_gives_the_whole_ast_s_top_level_or_nothing(text: str) -> None:
    import ast

    from codegen.project.toplevel import top_level

    try:
        full = ast.parse(text).body
    except SyntaxError:
        return
    cut = top_level(text)
    if cut is not None:
        assert _without_bodies(cut) == _without_bodies(full)


def test_the_cut_reads_every_generated_module() -> None:
    import ast

    from codegen.project.toplevel import top_level

    paths = sorted((ROOT / "generated").glob("*.py"))
    assert paths
    for path in paths:
        text = path.read_text()
        cut = top_level(text)
        assert cut is not None, path
        assert _without_bodies(cut) == _without_bodies(ast.parse(text).body)
    assert top_level(_GOOD) is not None


# ----- libcst's parse in a second thread (codegen.front.positions.parse_meanwhile) -----


def test_the_parse_meanwhile_gives_libcst_s_tree_and_runs_the_other_work() -> None:
    from codegen.front.positions import parse_meanwhile

    ran = []
    tree = parse_meanwhile(ODD, lambda: ran.append(1))
    assert ran == [1]
    assert tree.code == ODD and tree.deep_equals(cst.parse_module(ODD))


def test_the_parse_meanwhile_raises_libcst_s_error_after_the_other_work() -> None:
    from codegen.front.positions import parse_meanwhile

    ran = []
    with pytest.raises(cst.ParserSyntaxError):
        parse_meanwhile("def f(:\n", lambda: ran.append(1))
    assert ran == [1]


def test_a_syntax_error_is_located_as_before_with_the_parse_in_a_thread() -> None:
    from codegen.errors import CodegenError
    from codegen.front.parse import parse

    with pytest.raises(CodegenError) as info:
        parse(
            "def f(x):\n    y = (x +\n    return y\n",
            "bad.py",
            "f",
            meanwhile=lambda: None,
        )
    assert str(info.value).startswith("bad.py:2:")


def test_positions_read_after_the_parse_of_a_deep_expression() -> None:
    """Columns read later (a pass, an error of the reverse pass) are found
    with the parse's room for recursion, as when they were found eagerly."""
    from codegen.front.parse import parse

    fn = parse(
        "def f(x):\n    return x * " + "-" * 1000 + "1.5\n", "deep.py", "f", lazy=True
    )
    assert all(s.loc.col >= 0 and s.loc.line == 2 for s in fn.body)


def test_forward_expressions_are_cached_without_the_steps() -> None:
    """The render cache keys on what it reads: it keeps no step, so no
    step's libcst tree, alive, and never compares two steps' locations."""
    from codegen.back import render
    from codegen.core import passes

    passes._step_expr.cache_clear()
    fn = _parsed((ROOT / "examples" / "neuron.py").read_text(), "neuron.py", "neuron")
    for step in fn.body:  # type: ignore[attr-defined]
        render.forward_expr(step, "math")
    assert passes._step_expr.cache_info().currsize > 0
    from codegen.core import ir

    with pytest.raises(TypeError):
        passes._step_expr(fn.body[0], "math")  # type: ignore[attr-defined,call-arg]
    keys = _cache_keys(passes._step_expr)
    assert "mul" in keys  # the keys are found, and hold operands ...
    assert not any(isinstance(a, ir.Assign) for a in keys)  # ... and no step


def _cache_keys(cached: object) -> list[object]:
    import gc

    found = []
    for obj in gc.get_referents(cached):
        if isinstance(obj, dict):
            for key in obj:
                found += list(key) if isinstance(key, (list, tuple)) else [key]
    return found


@pytest.mark.parametrize("path", EXAMPLES[:8], ids=lambda p: p.name)
def test_an_eager_parse_holds_plain_locations_equal_to_the_lazy_ones(
    path: Path,
) -> None:
    """Without `lazy`, the parse returns steps whose locations are plain
    `ir.Loc` (no libcst tree kept alive), equal to the lazy ones."""
    from codegen.core import ir
    from codegen.front.parse import list_functions, parse

    text = path.read_text()
    for func in list_functions(text, str(path)):
        lazy, eager = _parsed(text, str(path), func), None
        try:
            eager = parse(text, str(path), func)
        except Exception as err:  # noqa: BLE001 - the same refusal both ways
            assert str(err) == lazy
            continue
        assert all(type(s.loc) is ir.Loc for s in eager.body)
        assert eager == lazy


def test_the_nesting_check_reports_the_node_the_ast_walk_reaches_first() -> None:
    """The check visits children as `ast.iter_child_nodes` yields them (its
    loop is inlined): of several expressions too deep, the same is named."""
    import ast

    from codegen.errors import CodegenError
    from codegen.front.syntax import MAX_NESTING, check_syntax

    deep = "+".join(["x"] * (MAX_NESTING + 5))
    source = f"def f(x):\n    a = {deep}\n    b = [{deep}, -({deep})]\n    return a\n"
    with pytest.raises(CodegenError) as info:
        check_syntax(source, "deep.py")

    def first_too_deep(tree: ast.AST) -> ast.AST:
        stack = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if isinstance(node, ast.expr):
                depth += len(node.values) if isinstance(node, ast.BoolOp) else 1
                if depth > MAX_NESTING:
                    return node
            stack.extend((c, depth) for c in ast.iter_child_nodes(node))
        raise AssertionError("nothing too deep")

    want = first_too_deep(ast.parse(source))
    assert (info.value.loc.line, info.value.loc.col) == (want.lineno, want.col_offset)
    assert info.value.loc.line == 3  # the later statement: the walk pops it first
