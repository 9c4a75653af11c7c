"""The README's table of supported primitives is the declarations' own."""

from __future__ import annotations

from codegen.core.rules import supported_table
from conftest import ROOT

START, END = "<!-- primitives:start -->\n", "<!-- primitives:end -->"


def test_readme_lists_exactly_the_declared_primitives():
    text = (ROOT / "README.md").read_text()
    table = text[text.index(START) + len(START) : text.index(END)]
    assert table == supported_table(), (
        "the README's primitive table is stale; regenerate it with\n"
        "  python -c 'from codegen.core.rules import supported_table as t; print(t())'"
    )
