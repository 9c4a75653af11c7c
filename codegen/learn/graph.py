"""Graph: the computational graph of a forward, drawn as the lectures draw it.

Contract:

* input: an `Explanation` (the parsed forward, its backward and every value
  recorded at one point); output: a `Graph` wrapping a `graphviz.Digraph`,
  left to right, with
  * one node per parameter the result uses (its name) and one per forward
    step (its op: ``+``, ``*``, ``exp``, ``σ``...), a constant operand folded
    into the label as the lectures do (``+1``, ``*-1``, ``1/x``), and one
    output node (the result's name);
  * one edge per use of a value, labelled with the value (green) above the
    gradient that use sends back (red): [downstream] = [local] x [upstream];
  * a value used more than once passes through a ``copy`` node: its incoming
    edge carries the sum of the gradients (a copy adds), each outgoing edge
    one contribution;
* `Graph.source` is the DOT text, written here (no package, no binary
  needed); `Graph.pipe` renders SVG, PNG or PDF with the Graphviz ``dot``
  binary and raises `GraphvizMissing`, whose message says how to install it,
  when the binary is absent; `Graph.digraph` rebuilds the graph as a
  `graphviz.Digraph` for further styling when the graphviz package is there.
"""

from __future__ import annotations

import html
import re
import subprocess
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from codegen.core import ir
from codegen.errors import CodegenError, InternalError
from codegen.learn.explain import Explanation, Target, explain, format_value

if TYPE_CHECKING:
    import graphviz

# The rule table is imported where used: `import codegen` stays quick.

#: Resolution of PNG output.
PNG_DPI = 144

#: Colours of the lectures' figures.
VALUE_COLOR, GRAD_COLOR, NAME_COLOR = "#1a7f37", "#cf222e", "#6e7781"


def _symbols() -> dict[str, str]:
    from codegen.core.rules import SYMBOLS as declared

    return dict(declared)


#: Node label of each op (from its declaration); binary ops with a constant
#: operand read ``+1``.
SYMBOLS: dict[str, str] = _symbols()

#: The rule input of a contribution the reverse pass combined (``x * x``).
_COMBINED = "same"

#: Ops whose operands can swap, so ``1 + x`` reads ``+1`` like ``x + 1``.
_COMMUTATIVE = {"add", "mul"}

INSTALL_HINT = (
    "install Graphviz to render SVG and PNG: apt-get install graphviz "
    "(Debian, Ubuntu), brew install graphviz (macOS) or conda install graphviz"
)


class GraphvizMissing(CodegenError):
    """The Graphviz ``dot`` binary is not installed."""


#: DOT keywords, quoted when used as an ID.
_KEYWORDS = frozenset({"node", "edge", "graph", "digraph", "subgraph", "strict"})
_PLAIN_ID = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)")


def _quote(text: str) -> str:
    """A DOT ID: plain identifiers and numbers as they are, HTML labels
    (``<...>``) as they are, anything else in double quotes."""
    if text.startswith("<") and text.endswith(">"):
        return text
    if _PLAIN_ID.fullmatch(text) and text.lower() not in _KEYWORDS:
        return text
    return '"' + text.replace('"', '\\"') + '"'


def _attrs(label: str | None = None, attrs: Mapping[str, str] | None = None) -> str:
    """``[label=... a=1 b=2]``: the label first, then the rest by name."""
    items = [] if label is None else [f"label={_quote(label)}"]
    items += [f"{k}={_quote(v)}" for k, v in sorted((attrs or {}).items())]
    return f" [{' '.join(items)}]" if items else ""


def _endpoint(node: str) -> str:
    name, sep, port = node.partition(":")
    return _quote(name) + (f":{port}" if sep else "")


class Dot:
    """A directed graph written as DOT text (the layout graphviz.Digraph
    writes); the calls are kept so that `Graph.digraph` can replay them."""

    def __init__(
        self,
        name: str,
        graph_attr: Mapping[str, str],
        node_attr: Mapping[str, str],
        edge_attr: Mapping[str, str],
    ) -> None:
        self.name = name
        self.graph_attr = dict(graph_attr)
        self.node_attr = dict(node_attr)
        self.edge_attr = dict(edge_attr)
        #: ("node", (id, label), attrs) or ("edge", (tail, head), attrs), in order.
        self.calls: list[tuple[str, tuple[str, str], dict[str, str]]] = []

    def node(self, name: str, label: str, **attrs: str) -> None:
        self.calls.append(("node", (name, label), attrs))

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        self.calls.append(("edge", (tail, head), attrs))

    def source(self, graph_attr: Mapping[str, str] | None = None) -> str:
        """The DOT text; `graph_attr` adds graph attributes (``dpi``)."""
        lines = [f"digraph {_quote(self.name)} {{"]
        for kind, attrs in (
            ("graph", {**self.graph_attr, **(graph_attr or {})}),
            ("node", self.node_attr),
            ("edge", self.edge_attr),
        ):
            if attrs:
                lines.append(f"\t{kind}{_attrs(None, attrs)}")
        for kind, (a, b), attrs in self.calls:
            if kind == "node":
                lines.append(f"\t{_quote(a)}{_attrs(b, attrs)}")
            else:
                lines.append(f"\t{_endpoint(a)} -> {_endpoint(b)}{_attrs(None, attrs)}")
        return "\n".join(lines) + "\n}\n"


def _const(text: str) -> str:
    """Constant text without its outer parentheses: ``(-1)`` -> ``-1``."""
    return text[1:-1] if re.fullmatch(r"\(-?[\w.]+\)", text) else text


def _fold(op: str, symbol: str, left: str | None, right: str | None) -> str:
    """Label of a binary op with one constant operand (the other one is None)."""
    c = left or right
    if op in ("getitem", "item", "slice") and right is not None:
        return f"x[{c}]"
    if op in ("maximum", "minimum", "max", "min"):
        return f"{symbol}\n{c}"
    if right is not None:
        return f"x{symbol}{c}" if op == "pow" else f"{symbol}{c}"
    return f"{symbol}{c}" if op in _COMMUTATIVE else f"{c}{symbol}x"


def op_label(step: ir.Assign, squared: bool = False) -> str:
    """The op's symbol, with constant operands folded in (``+1``, ``1/x``);
    ``x*x`` when `squared` (one operand drawn once for both inputs)."""
    symbol = SYMBOLS.get(step.op, step.op)
    consts = [None if isinstance(a, ir.Var) else _const(a.text) for a in step.args]
    if squared and len(consts) == 2:
        label = f"x{symbol}x"
    elif len(consts) == 2 and consts.count(None) == 1:
        label = _fold(step.op, symbol, *consts)
    elif any(c is not None for c in consts):
        label = f"{symbol}({', '.join(c or 'x' for c in consts)})"
    else:
        label = symbol
    kw = [
        f"{k}={_const(v.text) if isinstance(v, ir.Const) else v.name}"
        for k, v in step.kwargs
    ]
    return "\n".join([label, *kw])


def _label(name: str, value: Any, grad: Any, digits: int) -> str:
    """An HTML table: the name and the value (green) over a rule, the gradient
    (red) under it; the rule continues the edge, as in the lectures' figures."""
    value_text = html.escape(format_value(value, digits, short=True))
    grad_text = (
        "" if grad is None else html.escape(format_value(grad, digits, short=True))
    )
    name_font = f'<font color="{NAME_COLOR}" point-size="9">{html.escape(name)} </font>'
    return (
        '<<table border="0" cellborder="0" cellspacing="0" cellpadding="0">'
        f'<tr><td cellpadding="2">{name_font}<font color="{VALUE_COLOR}">{value_text}</font>'
        "</td></tr><hr/>"
        f'<tr><td cellpadding="2"><font color="{GRAD_COLOR}">{grad_text or " "}</font></td></tr>'
        "</table>>"
    )


@dataclass(frozen=True, slots=True)
class Edge:
    """One drawn edge: a value flowing from node `tail` to node `head`."""

    tail: str
    head: str
    #: The value's name, its value, and the gradient flowing back (None: none).
    name: str
    value: Any
    grad: Any


class _Drawing:
    """The digraph being drawn, with the nodes and edges it holds."""

    def __init__(self, g: Dot, digits: int) -> None:
        self.g, self.digits = g, digits
        self.nodes: dict[str, str] = {}
        self.edges: list[Edge] = []

    def node(self, node_id: str, label: str, **attrs: str) -> None:
        self.nodes[node_id] = label
        self.g.node(node_id, label, **attrs)

    def edge(self, tail: str, head: str, name: str, value: Any, grad: Any) -> None:
        """tail -> label -> head, the label node in the middle so that its
        rule continues the edge."""
        self.edges.append(Edge(tail, head, name, value, grad))
        mid = f"e{len(self.edges)}"
        self.g.node(
            mid,
            _label(name, value, grad, self.digits),
            shape="plaintext",
            margin="0",
            width="0",
            height="0",
        )
        self.g.edge(tail, f"{mid}:w", arrowhead="none")
        self.g.edge(f"{mid}:e", head)


class Graph:
    """A drawn computational graph; shows itself as SVG in Jupyter."""

    def __init__(self, dot: Dot, nodes: dict[str, str], edges: list[Edge]) -> None:
        #: The graph as drawn (DOT text through `source`).
        self.dot = dot
        #: Node id -> label (``op_s3`` -> ``+``, ``in_w0`` -> ``w0``).
        self.nodes = nodes
        #: The labelled edges, in drawing order.
        self.edges = edges

    @property
    def source(self) -> str:
        """The DOT text."""
        return self.dot.source()

    @property
    def digraph(self) -> graphviz.Digraph:
        """The graph as a `graphviz.Digraph`, for further styling or rendering.

        Raises:
            CodegenError: the graphviz package is not installed.
        """
        try:
            import graphviz
        except ImportError:
            raise CodegenError(
                "Graph.digraph needs the 'graphviz' package",
                None,
                "pip install graphviz; .source (DOT text) and .pipe(fmt) need no package",
                "codegen.graph",
            ) from None
        g = graphviz.Digraph(
            self.dot.name,
            graph_attr=self.dot.graph_attr,
            node_attr=self.dot.node_attr,
            edge_attr=self.dot.edge_attr,
        )
        for kind, args, attrs in self.dot.calls:
            getattr(g, kind)(*args, **attrs)
        return g

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<codegen.Graph: {len(self.nodes)} nodes, {len(self.edges)} edges>"

    def pipe(self, fmt: str) -> bytes:
        """The graph rendered as `fmt` ("svg", "png", ...) by Graphviz's dot.

        Raises:
            GraphvizMissing: the ``dot`` binary is not installed.
        """
        if fmt == "dot":
            return self.source.encode()
        extra = {"dpi": str(PNG_DPI)} if fmt == "png" else {}  # crisp on dense screens
        try:
            done = subprocess.run(
                ["dot", f"-T{fmt}"],
                input=self.dot.source(extra).encode(),
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise GraphvizMissing(
                f"cannot render {fmt.upper()}: the Graphviz 'dot' binary is not installed",
                None,
                INSTALL_HINT,
                "codegen graph",
            ) from None
        if done.returncode != 0:  # codegen wrote DOT that dot refuses: our bug
            raise InternalError(
                f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}"
            )
        return done.stdout

    def _repr_svg_(self) -> str | None:
        try:
            return self.pipe("svg").decode()
        except GraphvizMissing:
            return None  # Jupyter then shows the text repr


#: Gradients sent back, by (step, rule input, value), in order.
_Sent = dict[tuple[str, str, str], list[Any]]
#: (value, gradient) of each edge into a step.
_Inputs = list[tuple[str, Any]]


def _operands(step: ir.Assign, sent: _Sent) -> _Inputs:
    """(value, gradient sent back) per edge into `step`, in argument order; an
    operand the reverse pass combined (``x * x`` -> one contribution) is one edge."""
    from codegen.core.rules import RULES, bind

    edges: _Inputs = []
    combined: set[str] = set()
    for name, arg, _ in bind(RULES[step.op], step.args):
        if not isinstance(arg, ir.Var) or arg.name in combined:
            continue
        same = sent.get((step.target, _COMBINED, arg.name))
        if same:
            combined.add(arg.name)
        grads = same or sent.get((step.target, name, arg.name))
        edges.append((arg.name, grads.pop(0) if grads else None))
    return edges


def _contributions(ex: Explanation) -> _Sent:
    """Gradients sent back along each (step, rule input, value), in order."""
    sent: _Sent = {}
    for r in ex.backward:
        sent.setdefault((r.step, r.input, r.var), []).append(r.downstream)
    return sent


def _producers(
    ex: Explanation, d: _Drawing, edges: dict[str, _Inputs]
) -> dict[str, str]:
    """Add parameter, op and copy nodes; map each value to the node its edges leave."""
    uses = Counter(var for pairs in edges.values() for var, _ in pairs)
    producer: dict[str, str] = {}
    params = {p.name for p in ex.fn.params}
    for name in [*uses, ex.fn.result]:
        if name in params and name not in producer:
            d.node(f"in_{name}", name, shape="plaintext", fontsize="14")
            producer[name] = f"in_{name}"
    for step in ex.bwd.forward:
        variables = sum(isinstance(a, ir.Var) for a in step.args)
        label = op_label(step, squared=len(edges[step.target]) < variables)
        shape = "circle" if len(label) <= 4 else "ellipse"  # long labels: keep it flat
        d.node(
            f"op_{step.target}",
            label,
            shape=shape,
            width="0.5",
            height="0.5",
            margin="0.04",
            fontsize="13",
        )
        for t in (step.target, *step.extra_targets):
            producer[t] = f"op_{step.target}"
    for name, count in uses.items():
        if count > 1 and name in producer:  # the copy gate: gradients add
            d.node(
                f"copy_{name}",
                "copy",
                shape="circle",
                width="0.35",
                fixedsize="true",
                fontsize="8",
                fontcolor=NAME_COLOR,
            )
            d.edge(
                producer[name],
                f"copy_{name}",
                name,
                ex.values[name],
                ex.grads.get(name),
            )
            producer[name] = f"copy_{name}"
    return producer


def build_graph(ex: Explanation) -> Graph:
    """The computational graph of `ex`, labelled with its values and gradients."""
    d = _Drawing(
        Dot(
            ex.fn.name,
            graph_attr={
                "rankdir": "LR",
                "ordering": "in",
                "nodesep": "0.15",
                "ranksep": "0.15",
            },
            node_attr={"fontname": "Helvetica", "fontsize": "11"},
            edge_attr={"arrowsize": "0.6"},
        ),
        ex.digits,
    )
    sent = _contributions(ex)
    edges = {step.target: _operands(step, sent) for step in ex.bwd.forward}
    producer = _producers(ex, d, edges)
    for step in ex.bwd.forward:
        for var, grad in edges[step.target]:
            d.edge(producer[var], f"op_{step.target}", var, ex.values[var], grad)
    result = ex.fn.result
    d.node("out", result, shape="plaintext", fontsize="14")
    d.edge(producer[result], "out", result, ex.result, ex.grads.get(result))
    return Graph(d.g, d.nodes, d.edges)


def graph(
    target: Target,
    at: Mapping[str, Any] | None = None,
    *,
    func: str | None = None,
    wrt: Sequence[str] | None = None,
    shapes: Mapping[str, tuple[int, ...]] | None = None,
    seed: int = 0,
    digits: int = 2,
) -> Graph:
    """The computational graph of `target` at `at`, values above the edges and
    gradients below; shows as SVG in Jupyter, prints as DOT.

    The arguments are those of `codegen.learn.explain`.
    """
    return build_graph(
        explain(target, at, func=func, wrt=wrt, shapes=shapes, seed=seed, digits=digits)
    )
