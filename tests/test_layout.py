"""The package layout: no import cycles, small modules, a light `import codegen`.

Every import counts, including the ones inside functions: a late import that
hides a cycle is still a cycle in the design. Imports under
``if TYPE_CHECKING:`` are annotations only and never run.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "codegen"
#: "No module over about 400 lines" (issue 12): 400 with room for a docstring.
MAX_LINES = 460


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(path: Path, known: set[str], typing: bool = False) -> set[str]:
    """The codegen modules `path` imports, anywhere in its text (and, with
    `typing`, under ``if TYPE_CHECKING:`` too)."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = (
        {
            id(n)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
            for stmt in block.body
            for n in ast.walk(stmt)
        }
        if not typing
        else set()
    )
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {n for n in names if n in known}
    return found


def _graph(typing: bool = False) -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {}
    for name, path in mods.items():
        deps = _imports(path, known, typing)
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    assert _cycles(_graph()) == []


def test_no_cycles_even_for_type_checking():
    """Annotations name modules below only: a module's types never need the
    module that uses it (the parse builder's mixins take Protocols)."""
    assert _cycles(_graph(typing=True)) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def test_pipeline_stages_are_subpackages():
    for stage in ("front", "core", "back", "checks", "learn", "project"):
        assert (PACKAGE / stage / "__init__.py").is_file(), stage


def test_core_does_not_reach_up():
    """The AD core and the front end never import the views, the build
    workflow or the command line."""
    graph = _graph()
    upper = ("codegen.learn", "codegen.project", "codegen.cli", "codegen.buildcli")
    for name, deps in graph.items():
        if name.startswith(("codegen.core", "codegen.front", "codegen.back")):
            bad = sorted(d for d in deps if d.startswith(upper))
            assert not bad, f"{name} imports {bad}"


def test_import_codegen_is_light():
    code = (
        "import sys, codegen; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('numpy', 'libcst', 'jinja2', 'black')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_no_module_is_much_over_400_lines():
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines())
        for name, path in _modules().items()
    }
    assert {n: k for n, k in sizes.items() if k > MAX_LINES} == {}
