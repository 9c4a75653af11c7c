"""Presentation of an `Explanation` (codegen/learn/explain.py, read as `rows.Shown`): text tables with
values in green and gradients in red when colour is on (`render_text`), HTML
for Jupyter (`render_html`) and JSON for tools (`to_dict`). Arrays are shown
by shape, norm, min and max, never in full.

The text needs no package: columns are laid out here and coloured with ANSI
codes. Given a width (a terminal's), a table too wide for it is stacked, each
value on a labelled line of its own, so that no value is ever cut.
"""

from __future__ import annotations

import html
import math
import os
import textwrap
from collections.abc import Iterable, Sequence
from typing import IO, Any

import numpy as np

from codegen.learn.rows import Shown

#: Colours of the lectures' figures: values green, gradients red.
VALUE_COLOR, GRAD_COLOR = "green", "red"
_HTML_COLORS = {VALUE_COLOR: "#1a7f37", GRAD_COLOR: "#cf222e"}


def _is_shape(value: Any) -> bool:
    return isinstance(value, tuple) and all(
        isinstance(v, (int, np.integer)) for v in value
    )


def _is_number(value: Any) -> bool:
    """True for numbers and numeric arrays (not slices, strings, tuples of them)."""
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except (ValueError, TypeError):  # ragged sequences
        return False


def _other(value: Any) -> str:
    """A short repr of a value that is not a number (a slice, an index tuple)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _scalar(x: Any, digits: int) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))  # sizes and labels
    x = float(x)
    if x == 0:
        return f"{0.0:.{digits}f}"  # never "-0.00"
    if not math.isfinite(x) or 10**-digits <= abs(x) < 1e6:
        return f"{x:.{digits}f}"
    return f"{x:.{digits}e}"


def format_value(value: Any, digits: int = 2, short: bool = False) -> str:
    """A float to `digits` places, an integer or a shape as it is, or an array
    as shape, norm, min and max (shape and norm only when `short`)."""
    if value is None:
        return ""
    if _is_shape(value):
        return str(tuple(int(v) for v in value))
    if not _is_number(value):
        return _other(value)
    if np.ndim(value) == 0:
        return _scalar(value, digits)
    a = np.asarray(value, dtype=float)
    shape = "x".join(map(str, a.shape))
    if a.size == 0:
        return f"array[{shape}] (empty)"
    stats = (np.linalg.norm(a), a.min(), a.max())
    norm, low, high = (_scalar(v, digits) for v in stats)
    if short:
        return f"[{shape}] norm {norm}"
    return f"array[{shape}] norm {norm}, min {low}, max {high}"


def json_value(value: Any) -> Any:
    """A number (a shape as a list), or {"shape", "norm", "min", "max"} for an
    array; non-finite numbers as the strings "nan", "inf", "-inf"."""
    if value is None:
        return None
    if _is_shape(value):
        return [int(v) for v in value]
    if not _is_number(value):
        return _other(value)
    if np.ndim(value) == 0:
        if isinstance(value, (bool, np.bool_, int, np.integer)):
            return value.item() if isinstance(value, np.generic) else value
        x = float(value)
        return x if math.isfinite(x) else str(x)
    a = np.asarray(value, dtype=float)
    stats = (np.linalg.norm(a), a.min(), a.max()) if a.size else (0.0, None, None)
    return {
        "shape": list(a.shape),
        **{
            k: json_value(v) for k, v in zip(("norm", "min", "max"), stats, strict=True)
        },
    }


def to_dict(ex: Shown) -> dict[str, Any]:
    """The explanation as plain JSON-ready data."""
    return {
        "function": ex.fn.name,
        "file": ex.fn.filename,
        "point": {k: json_value(v) for k, v in ex.point.items()},
        "drawn": list(ex.drawn),
        "seed": ex.seed,
        "result": (
            {
                "name": ", ".join(ex.fn.outputs),
                "value": [json_value(v) for v in ex.result],
            }
            if ex.fn.outputs
            else {"name": ex.fn.result, "value": json_value(ex.result)}
        ),
        "forward": [
            {
                "line": r.line,
                "source": r.source,
                "code": r.code,
                "name": r.name,
                "value": json_value(r.value),
            }
            for r in ex.forward
        ],
        "backward": [
            {
                "line": r.line,
                "source": r.source,
                "code": r.code,
                "grad": r.grad,
                "var": r.var,
                "step": r.step,
                "op": r.op,
                "upstream": r.upstream,
                "upstream_value": json_value(r.upstream_value),
                "local": json_value(r.local),
                "downstream": json_value(r.downstream),
                "accumulate": r.accumulate,
                "total": json_value(r.total),
            }
            for r in ex.backward
        ],
        "gradients": {
            p: {"name": g, "value": json_value(v)} for p, g, v in ex.gradients
        },
    }


def _forward_cells(ex: Shown) -> list[tuple[str, str, str]]:
    """(line, code, value) rows; a flattened statement is quoted first."""
    cells = []
    for r in ex.forward:
        value = format_value(r.value, ex.digits)
        group = [f for f in ex.forward if f.source == r.source]
        if r.first and (len(group) > 1 or r.code != r.source):
            cells.append((str(r.line), f"# {' '.join(r.source.split())}", ""))
            cells.append(("", r.code, value))
        else:
            cells.append(("" if not r.first else str(r.line), r.code, value))
    return cells


def _backward_cells(ex: Shown) -> list[tuple[str, ...]]:
    """(line, code, upstream, local, downstream, sum) rows, blocks quoted."""
    d = ex.digits
    cells: list[tuple[str, ...]] = []
    for r in ex.backward:
        if r.first:
            cells.append(
                (str(r.line), f"# {' '.join(r.source.split())}", "", "", "", "")
            )
        total = f"{r.grad} = {format_value(r.total, d)}" if r.accumulate else ""
        local = format_value(r.local, d) if r.local is not None else "n/a"
        cells.append(
            (
                "",
                r.code,
                f"{r.upstream} = {format_value(r.upstream_value, d)}",
                local,
                format_value(r.downstream, d),
                total,
            )
        )
    return cells


#: Columns holding bare numbers, right-aligned so that signs line up.
_NUMERIC = ("value", "local", "downstream")

_BACKWARD_COLUMNS = ("line", "backward pass", "upstream", "local", "downstream", "sum")

#: ANSI codes of the styles (colour needs no package: plain escape codes).
_ANSI = {VALUE_COLOR: "32", GRAD_COLOR: "31", "bold": "1", "dim": "2"}

#: Gap between columns.
_GAP = 2

#: A table cell: its text, and the style of the text after `split` characters
#: (``grad_s1 = 0.20`` colours only the number).
_Cell = tuple[str, str | None, int]


def _paint(text: str, style: str | None, color: bool) -> str:
    return f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if color and style and text else text


def _cell(text: str, style: str | None = None, whole: bool = True) -> _Cell:
    """A cell styled whole, or (``name = number``) only after the last ' = '."""
    if whole or " = " not in text:
        return text, style, 0
    return text, style, text.rindex(" = ") + 3


def _show(cell: _Cell, color: bool, width: int = 0, right: bool = False) -> str:
    text, style, split = cell
    pad = " " * max(0, width - len(text))
    shown = text[:split] + _paint(text[split:], style, color)
    return pad + shown if right else shown + pad


def _columns(
    header: Sequence[str], rows: Sequence[Sequence[_Cell]], color: bool
) -> list[str]:
    """The table as aligned columns, numbers right-aligned."""
    widths = [
        max([len(h), *(len(r[i][0]) for r in rows)]) for i, h in enumerate(header)
    ]
    lines = []
    for row in [[(h, "bold", 0) for h in header], *rows]:
        cells = [
            _show(c, color, w, right=h in _NUMERIC and row is not rows)
            for c, w, h in zip(row, widths, header, strict=True)
        ]
        lines.append((" " * _GAP).join(cells).rstrip())
    return lines


def _width(header: Sequence[str], rows: Sequence[Sequence[_Cell]]) -> int:
    widths = [
        max([len(h), *(len(r[i][0]) for r in rows)]) for i, h in enumerate(header)
    ]
    return sum(widths) + _GAP * (len(widths) - 1)


def _stacked(
    header: Sequence[str], rows: Sequence[Sequence[_Cell]], color: bool
) -> list[str]:
    """The table for a narrow terminal: line and code as columns, every further
    cell on a line of its own under the code, labelled with its column."""
    lead = max(len(header[0]), *(len(r[0][0]) for r in rows)) + _GAP
    label = max(len(h) for h in header[2:]) + _GAP
    head = [(h, "bold", 0) for h in header[:2]]
    lines = [_show(head[0], color, lead) + _show(head[1], color)]
    for row in rows:
        lines.append((_show(row[0], color, lead) + _show(row[1], color)).rstrip())
        for h, c in zip(header[2:], row[2:], strict=True):
            if c[0]:
                lines.append(" " * (lead + 2) + h.ljust(label) + _show(c, color))
    return lines


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[_Cell]],
    color: bool,
    width: int | None,
) -> list[str]:
    """Columns when they fit in `width` (or no width is given), else stacked:
    a value is never cut."""
    if width is None or _width(header, rows) <= width:
        return _columns(header, rows, color)
    return _stacked(header, rows, color)


def _tables(ex: Shown, color: bool, width: int | None) -> list[list[str]]:
    v, g = VALUE_COLOR, GRAD_COLOR
    fwd = [
        [_cell(line), _cell(code), _cell(value, v)]
        for line, code, value in _forward_cells(ex)
    ]
    n = 6 if _branches(ex) else 5
    bwd = [
        [
            _cell(line),
            _cell(code),
            _cell(up, g, whole=False),
            _cell(local),
            _cell(down, g),
            _cell(total, g, whole=False),
        ][:n]
        for line, code, up, local, down, total in _backward_cells(ex)
    ]
    grads = [
        [_cell(name), _cell(format_value(value, ex.digits), g)]
        for _, name, value in ex.gradients
    ]
    return [
        _table(("line", "forward pass", "value"), fwd, color, width),
        _table(_BACKWARD_COLUMNS[:n], bwd, color, width),
        _table(("gradient", "value"), grads, color, width),
    ]


def _branches(ex: Shown) -> bool:
    """True when some value is used twice, so its gradients add."""
    return any(r.accumulate for r in ex.backward)


def _notes(ex: Shown) -> list[str]:
    notes = ["downstream = local x upstream"]
    if _branches(ex):
        notes[0] += "; 'sum' adds up the gradients of a value used more than once"
    if ex.drawn:
        notes.append(
            f"drawn at random (seed {ex.seed}): {', '.join(ex.drawn)}; "
            "set them with --at NAME=VALUE"
        )
    return notes


def _packed(pieces: Sequence[str], indent: int, width: int | None) -> str:
    """`pieces` joined by spaces, broken between pieces to fit `width`; lines
    after the first are indented by `indent`."""
    if width is None:
        return " ".join(pieces)
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) > width:
            lines.append(" " * indent + piece)
        else:
            lines[-1] += " " + piece
    return "\n".join(lines)


def _headline(ex: Shown, width: int | None = None) -> str:
    args = [f"{k}={format_value(v, ex.digits)}" for k, v in ex.point.items()]
    pieces = [a + "," for a in args[:-1]] + args[-1:]
    pieces = [f"{ex.fn.name}(" + (pieces[0] if pieces else ""), *pieces[1:]]
    pieces[-1] += ")"
    if isinstance(ex.result, tuple):  # several outputs: as the forward returns them
        shown = [format_value(v, ex.digits) for v in ex.result]
        pieces.append("= (" + ", ".join(shown) + ("," if len(shown) == 1 else "") + ")")
    else:
        pieces.append(f"= {format_value(ex.result, ex.digits)}")
    return _packed(pieces, len(ex.fn.name) + 1, width)


def render_text(ex: Shown, color: bool = False, width: int | None = None) -> str:
    """The explanation as text tables; ANSI colours only when `color`.

    With a `width` (a terminal's), a table too wide for it is stacked: each
    value goes on a line of its own under its code, so every value shows.
    """
    out = [_paint(line, "bold", color) for line in _headline(ex, width).split("\n")]
    for table in _tables(ex, color, width):
        out += ["", *table]
    out.append("")
    for note in _notes(ex):
        wrapped = textwrap.wrap(note, width) if width else [note]
        out += [_paint(line, "dim", color) for line in wrapped]
    return "\n".join(out) + "\n"


def _html_rows(
    header: Sequence[str], rows: Iterable[Sequence[str]], colors: Sequence[str]
) -> str:
    def cell(text: str, color: str) -> str:
        style = f' style="color:{_HTML_COLORS[color]}"' if color and text else ""
        return f"<td{style}><code>{html.escape(text)}</code></td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(cell(t, c) for t, c in zip(row, colors, strict=True)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(ex: Shown) -> str:
    """The explanation as HTML tables, coloured as the lectures' figures."""
    g, v = GRAD_COLOR, VALUE_COLOR
    n = 6 if _branches(ex) else 5
    parts = [
        f"<p><b><code>{html.escape(_headline(ex))}</code></b></p>",
        _html_rows(("line", "forward pass", "value"), _forward_cells(ex), ("", "", v)),
        _html_rows(
            _BACKWARD_COLUMNS[:n],
            [c[:n] for c in _backward_cells(ex)],
            ("", "", g, "", g, g)[:n],
        ),
        _html_rows(
            ("gradient", "value"),
            [(n, format_value(x, ex.digits)) for _, n, x in ex.gradients],
            ("", g),
        ),
    ]
    parts += [f"<p><small>{html.escape(n)}</small></p>" for n in _notes(ex)]
    return "<div>" + "".join(parts) + "</div>"


def use_color(stream: IO[str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set or TERM=dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(
        isatty
        and isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM") != "dumb"
    )


# ----- the Python API -----
