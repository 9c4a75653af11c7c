"""The format pass: black's exact output, with runs of lines black would keep
unchanged passed around it (codegen/format.py)."""

from __future__ import annotations

import black
from hypothesis import HealthCheck, given, settings

from codegen import generate
from codegen.back.format import MODE, _plain, format_code
from codegen.front.parse import parse
from codegen.back.render import render
from codegen.core.reverse import reverse
from conftest import ROOT
from fuzz_programs import array_programs, scalar_programs


def _rendered(source: str, filename: str, func: str | None = None) -> str:
    fn = parse(source, filename, func)
    return render(reverse(fn), f"{filename}:{fn.name}", "codegen grad")


def _same_as_black(code: str) -> None:
    assert format_code(code) == black.format_str(code, mode=MODE)


def test_every_example_formats_exactly_as_black():
    checked = 0
    for path in sorted((ROOT / "examples").glob("*.py")):
        if path.name.startswith(("_", "train_")):
            continue
        _same_as_black(_rendered(path.read_text(), str(path)))
        checked += 1
    assert checked >= 20


@settings(deadline=None, max_examples=30, suppress_health_check=list(HealthCheck))
@given(program=scalar_programs())
def test_random_scalar_programs_format_exactly_as_black(program):
    _same_as_black(_rendered(program.source(), "p.py", program.name))


@settings(deadline=None, max_examples=20, suppress_health_check=list(HealthCheck))
@given(program=array_programs())
def test_random_array_programs_format_exactly_as_black(program):
    _same_as_black(_rendered(program.source(), "p.py", program.name))


def test_plain_lines():
    assert _plain("    grad_w0 = grad_s0 * x0")
    assert _plain("    grad_x += -grad_y * (1 - L) * L")
    assert _plain("    # s3 = s2 + w2")
    assert not _plain("    y = x ** 2")  # black hugs simple powers
    assert not _plain("    y = np.sum(x, axis=1)")  # keywords
    assert not _plain("    y = x[0]")  # subscripts
    assert not _plain("    y = (a + b)")  # black drops parentheses around a whole value
    assert not _plain("    y = 'a'")  # strings
    assert not _plain("    y = 1E5")  # numbers black rewrites
    assert not _plain("    y = " + "a + " * 30 + "b")  # too long for one line


def test_lines_that_are_not_plain_are_rejected_quickly():
    # a regression guard: an ambiguous pattern made this backtrack for minutes
    assert not _plain("    x = " + "(" * 40 + "a" + ")" * 40 + " % b")
    assert not _plain("    x = " + "abcdefghij" * 7 + " % b")


def test_generate_output_is_stable_under_black():
    code = generate(
        (ROOT / "examples" / "two_layer_net.py").read_text(), "t.py", "two_layer_net"
    )
    assert black.format_str(code, mode=MODE) == code
