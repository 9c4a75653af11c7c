"""Group wrong and crashing programs by cause: the first rule whose pattern
the (minimised) source matches. Numbers are issue 13's list; "new" causes were
found by this harness. A failure no rule matches is "unclassified": read it."""

from __future__ import annotations

import re

from .check import Outcome

WRONG = ("wrong-value", "wrong-gradient")
CRASH = ("crash",)
ANY = WRONG + CRASH


def _has(pat: str):
    rx = re.compile(pat, re.MULTILINE)
    return lambda src, out: bool(rx.search(src))


def _crash(text: str, pat: str | None = None):
    rx = re.compile(pat, re.MULTILINE) if pat else None
    return lambda src, out: text in (out.cause + " " + out.detail) and (
        rx is None or bool(rx.search(src))
    )


#: (id, issue item or "new", classes, predicate, description), most specific first.
RULES = [
    (
        "output-aliases-cache",
        "20",
        WRONG,
        _crash("aliases the cache"),
        "the returned value is a cache entry: a caller's in-place update changes the backward",
    ),
    (
        "broadcast-view-gradient",
        "new",
        WRONG,
        _crash("shares memory with the upstream"),
        "concatenate, x[None], identity broadcast_to: a returned gradient is a view of the upstream gradient",
    ),
    (
        "gradient-shares-memory",
        "new",
        WRONG,
        _crash("a gradient shares memory"),
        "a returned gradient shares memory with the upstream gradient, an input or another gradient",
    ),
    (
        "rebound-constant",
        "7",
        WRONG,
        _has(r"^(\w+) = [^\n]*\n\1 (\+=|= \1)|^\w+, \w+ = "),
        "a module-level constant the file re-binds is read at its first value",
    ),
    (
        "einsum-broadcast",
        "new",
        ANY,
        lambda src, out: out.cause == "gradient shape"
        and bool(re.search(r"einsum\('(ij,jk->ik|i,i->|ij,ij->i)'", src)),
        "einsum where NumPy broadcasts a size-1 axis: the longer operand's gradient gets the short shape",
    ),
    (
        "method-minmax-positional-axis",
        "new",
        ANY,
        _has(r"\.(max|min)\(-?\d"),
        "x.max(1) / x.min(0): the positional axis of the method form is dropped (global max)",
    ),
    (
        "dot-3d",
        "10",
        ANY,
        lambda src, out: bool(re.search(r"(np\.dot\(|\.dot\()", src))
        and (
            out.cls == "wrong-value" or "matmul" in out.detail or "for @" in out.detail
        ),
        "np.dot emitted as @ (wrong for 3-d operands; 0-d operands crash)",
    ),
    (
        "stack-concat-positional-axis",
        "12",
        ANY,
        _has(r"np\.(concatenate|stack)\((\[[^\]]*\]|\([^)]*\)), -?\d\)"),
        "positional axis of np.concatenate/np.stack taken as an operand (0-d operands: a wrong value)",
    ),
    ("clip-none", "13", CRASH, _has(r"clip\([^)]*None"), "np.clip with a None bound"),
    (
        "python-float",
        "14",
        CRASH,
        _crash("'float' object"),
        "a Python float where the backward expects an array",
    ),
    (
        "python-float-matmul",
        "14",
        CRASH,
        _crash("for @"),
        "a Python float in np.dot / @",
    ),
    (
        "view-alias",
        "11",
        WRONG,
        _has(r"(tail\(|einsum\('ij->ji'|= min\(\w+, 0\.0\)\n\s+\w+ \*=)"),
        "a view from a helper/einsum/min updated in place",
    ),
    (
        "clip-array-bound",
        "5",
        ANY,
        _has(r"clip\(\w+, (?!-?\d|None|a_min)"),
        "np.clip with an array bound (main: where lo > hi NumPy returns hi, the gradient goes to lo)",
    ),
    (
        "setitem-repeated",
        "2",
        ANY,
        _has(r"\w\[(np\.arange\(\d+\) // 2|\[|:, \[)[^\n]*\] [-+*]?= "),
        "functional setitem with repeated positions",
    ),
    (
        "list-index-repeat",
        "1",
        ANY,
        _has(r"\w\[(\[|:, \[)"),
        "list-literal index with repeats treated as basic indexing",
    ),
    (
        "transpose-negative-axes",
        "3",
        ANY,
        _has(r"transpose\([^)]*-\d"),
        "negative transpose axes",
    ),
    (
        "tuple-operand",
        "6",
        ANY,
        _has(r"(np\.(mean|sum|max|min)\(\(|, \w+\)\[-?\d\]|= \w+, \w+\n)"),
        "tuples as operands are constants",
    ),
    ("x-plus-x", "4", ANY, _has(r"= (\w+) \+ \1\b"), "x + x (the _same shortcut)"),
    ("bool-mask", "15", ANY, _has(r"\[\w+ > 0\]"), "boolean-mask indexing"),
]


def classify(src: str, out: Outcome) -> tuple[str, str, str]:
    """(rule id, issue item, description) of a failure."""
    for rid, issue, classes, pred, desc in RULES:
        if out.cls in classes and pred(src, out):
            return rid, issue, desc
    return "unclassified", "?", out.cause
