"""codegen graph: the lectures' figures, checked in the graph and in the rendered SVG."""

from __future__ import annotations

import shutil
import sys
import textwrap
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from conftest import ROOT

import codegen
from codegen.cli import main
from codegen.learn.explain import explain_source, format_value
from codegen.learn.graph import GRAD_COLOR, VALUE_COLOR, build_graph

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot is missing"
)

NEURON = str(ROOT / "examples" / "neuron.py") + ":neuron"
CIRCUIT = str(ROOT / "examples" / "circuit.py") + ":circuit"
SLIDES = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
SVG = "{http://www.w3.org/2000/svg}"

#: The lectures' first neuron figure: the sigmoid written out in primitives.
NEURON_PRIMITIVES = (ROOT / "docs" / "neuron_primitives.py").read_text()


def _edges(graph):
    """{(tail label, head label, value name): (value, gradient)} rounded as drawn."""
    labels = graph.nodes
    return {
        (labels[e.tail], labels[e.head], e.name): (
            format_value(e.value),
            None if e.grad is None else format_value(e.grad),
        )
        for e in graph.edges
    }


def _texts(svg: bytes) -> list[tuple[str, str | None]]:
    """(text, fill colour) of every text element of an SVG."""
    root = ET.fromstring(svg)
    return [
        ("".join(t.itertext()).strip(), t.get("fill")) for t in root.iter(f"{SVG}text")
    ]


# ----- the graph -----


def test_neuron_graph_has_the_slides_values_and_gradients():
    g = codegen.graph(NEURON, SLIDES)
    assert sorted(g.nodes.values()) == sorted(
        ["w0", "x0", "w1", "x1", "w2", "*", "*", "+", "+", "σ", "L"]
    )
    edges = _edges(g)
    assert edges[("w0", "*", "w0")] == ("2.00", "-0.20")
    assert edges[("x0", "*", "x0")] == ("-1.00", "0.39")
    assert edges[("w1", "*", "w1")] == ("-3.00", "-0.39")
    assert edges[("x1", "*", "x1")] == ("-2.00", "-0.59")
    assert edges[("w2", "+", "w2")] == ("-3.00", "0.20")
    assert edges[("+", "σ", "s3")] == ("1.00", "0.20")
    assert edges[("σ", "L", "L")] == ("0.73", "1.00")


def test_expanded_sigmoid_matches_the_lecture_figure():
    # the lecture: *-1 gives -1.00 / -0.20, exp 0.37 / -0.53, +1 1.37 / -0.53, 1/x 0.73 / 1.00
    g = build_graph(explain_source(NEURON_PRIMITIVES, at=SLIDES))
    ops = [g.nodes[n] for n in g.nodes if n.startswith("op_")]
    assert ops[-4:] == ["*-1", "exp", "+1", "1/x"]
    edges = _edges(g)
    assert edges[("*-1", "exp", "L_neg")] == ("-1.00", "-0.20")
    assert edges[("exp", "+1", "L_exp")] == ("0.37", "-0.53")
    assert edges[("+1", "1/x", "L_add_2")] == ("1.37", "-0.53")
    assert edges[("1/x", "L", "L")] == ("0.73", "1.00")


def test_gate_patterns():
    src = textwrap.dedent("""
        def f(x, y, z, w):
            q = x + y
            m = q * z
            r = max(m, w)
            s = r + m
            return s
    """)
    g = build_graph(explain_source(src, at={"x": 1, "y": 2, "z": 3, "w": -1}))
    e = {(g.nodes[x.tail], g.nodes[x.head], x.name): x.grad for x in g.edges}
    # copy adds: m feeds max and +, so grad_m = 1 (through max) + 1 (through +)
    assert e[("*", "copy", "m")] == 2.0
    assert e[("copy", "max", "m")] == 1.0 and e[("copy", "+", "m")] == 1.0
    # max routes: the larger input m gets the gradient, w gets none
    assert e[("w", "max", "w")] == 0.0
    # mul swaps: grad_q = grad_m * z, grad_z = grad_m * q
    assert e[("+", "*", "q")] == 2.0 * 3 and e[("z", "*", "z")] == 2.0 * 3
    # add distributes: x and y both get grad_q
    assert e[("x", "+", "x")] == e[("y", "+", "y")] == 6.0


def test_a_combined_square_is_one_edge_with_the_whole_gradient():
    src = "import numpy as np\n\n\ndef f(x):\n    y = x * x\n    L = np.sum(y)\n    return L\n"
    x = np.array([1.0, -2.0, 0.5])
    g = build_graph(explain_source(src, at={"x": x}))
    into = [e for e in g.edges if e.head == "op_y"]
    if len(into) == 1:  # the reverse pass combined x * x into one contribution
        assert g.nodes["op_y"] == "x*x"
        np.testing.assert_allclose(into[0].grad, 2 * x)
    else:  # one contribution per use, through a copy node that adds them
        np.testing.assert_allclose(sum(e.grad for e in into), 2 * x)
        assert [e.grad for e in g.edges if e.head == "copy_x"][0] == pytest.approx(
            2 * x
        )


def test_dot_source_needs_no_binary():
    dot = codegen.graph(CIRCUIT, {"x": -2, "y": 5, "z": -4}).source
    assert dot.startswith("digraph circuit {") and "rankdir=LR" in dot
    assert (
        f'color="{VALUE_COLOR}">-12.00<' in dot
        and f'color="{GRAD_COLOR}">-4.00<' in dot
    )


# ----- the rendered pictures -----


@needs_dot
def test_neuron_svg_shows_nodes_values_and_gradients_in_colour():
    svg = codegen.graph(NEURON, SLIDES).pipe("svg")
    texts = _texts(svg)
    words = {t for t, _ in texts}
    assert {"w0", "x0", "w1", "x1", "w2", "*", "+", "σ", "L"} <= words
    green = {t for t, c in texts if c == VALUE_COLOR}
    red = {t for t, c in texts if c == GRAD_COLOR}
    assert {"0.73", "1.00", "2.00", "-1.00", "-3.00", "-2.00", "4.00", "6.00"} <= green
    assert {"0.20", "-0.20", "0.39", "-0.39", "-0.59", "1.00"} <= red


@needs_dot
def test_repr_svg_for_jupyter():
    svg = codegen.graph(CIRCUIT, {"x": -2, "y": 5, "z": -4})._repr_svg_()
    assert svg is not None and "<svg" in svg
    assert ("-12.00", VALUE_COLOR) in _texts(svg.encode())


@needs_dot
@pytest.mark.parametrize("suffix", ["svg", "png", "dot"])
def test_cli_writes_the_picture(tmp_path, capsys, suffix):
    out = tmp_path / f"circuit.{suffix}"
    assert main(["graph", CIRCUIT, "--at", "x=-2", "y=5", "z=-4", "-o", str(out)]) == 0
    data = out.read_bytes()
    if suffix == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    elif suffix == "svg":
        assert ("-12.00", VALUE_COLOR) in _texts(data) and (
            "3.00",
            GRAD_COLOR,
        ) in _texts(data)
    else:
        assert data.startswith(b"digraph circuit {")
    assert f"wrote {out}" in capsys.readouterr().err


def test_cli_without_output_prints_dot(capsys):
    assert main(["graph", CIRCUIT, "--at", "x=-2", "y=5", "z=-4"]) == 0
    assert capsys.readouterr().out.startswith("digraph circuit {")


def test_missing_graphviz_still_writes_the_dot_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no dot on the path
    out = tmp_path / "neuron.svg"
    assert (
        main(["graph", NEURON, "-o", str(out)]) == 2
    )  # a missing tool, not a failed check
    err = capsys.readouterr().err
    assert "the Graphviz 'dot' binary is not installed" in err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert not out.exists()
    assert (tmp_path / "neuron.dot").read_text().startswith("digraph neuron {")


def test_unknown_picture_format(tmp_path, capsys):
    assert main(["graph", CIRCUIT, "-o", str(tmp_path / "c.jpeg")]) == 2
    assert "cannot tell the picture format" in capsys.readouterr().err


@needs_dot
def test_jupyter_displays_the_graph_as_svg_and_the_tables_as_html():
    formatters = pytest.importorskip("IPython.core.formatters")
    display = formatters.DisplayFormatter()
    data, _ = display.format(codegen.graph(CIRCUIT, {"x": -2, "y": 5, "z": -4}))
    assert ("3.00", GRAD_COLOR) in _texts(data["image/svg+xml"].encode())
    data, _ = display.format(codegen.explain(CIRCUIT, {"x": -2, "y": 5, "z": -4}))
    assert "<code>grad_z = grad_f * q</code>" in data["text/html"]


# ----- the core install: no graphviz package -----


def test_dot_text_is_written_without_the_graphviz_package(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # `import graphviz` fails
    out = tmp_path / "circuit.dot"
    assert main(["graph", CIRCUIT, "--at", "x=-2", "y=5", "z=-4", "-o", str(out)]) == 0
    dot = out.read_text()
    assert dot.startswith("digraph circuit {") and dot.endswith("}\n")
    assert (
        f'color="{VALUE_COLOR}">-12.00<' in dot and f'color="{GRAD_COLOR}">3.00<' in dot
    )
    with pytest.raises(codegen.CodegenError, match="needs the 'graphviz' package"):
        codegen.graph(CIRCUIT, {"x": -2, "y": 5, "z": -4}).digraph


@pytest.mark.parametrize(
    "target", [NEURON, CIRCUIT, str(ROOT / "examples" / "conv.py")]
)
def test_the_dot_text_is_the_one_graphviz_writes(target):
    """codegen writes DOT itself; replayed into a graphviz.Digraph it is the same text."""
    pytest.importorskip("graphviz")
    g = codegen.graph(target)
    assert g.digraph.source == g.source


def test_dot_quotes_what_is_not_an_identifier():
    from codegen.learn.graph import Dot

    d = Dot("graph", {}, {}, {})
    d.node("a", 'say "hi"', shape="box")
    d.node("b", "<<b>html</b>>")
    d.edge("a:e", "b")
    assert d.source() == (
        'digraph "graph" {\n\ta [label="say \\"hi\\"" shape=box]\n'
        "\tb [label=<<b>html</b>>]\n\ta:e -> b\n}\n"
    )


@needs_dot
def test_the_dot_binary_reads_the_written_text():
    svg = codegen.graph(str(ROOT / "examples" / "attention.py")).pipe("svg")
    assert b"<svg" in svg
