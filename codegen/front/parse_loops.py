"""``for`` loops and comprehensions whose items the source names, unrolled
by the parse pass.

``for t in range(3):`` (a count given as a number or a module constant), or
over a literal list or tuple, or over a tuple value, or ``zip`` and
``enumerate`` of those (``for W, b in zip([W1, W2], [b1, b2]):``): the body is flattened
once per item with the loop name bound to it, as Python runs it; after the
loop the name keeps the last item. Each step's comment quotes its line and
the item (``# h = np.tanh(h @ W + x[t])  # t = 2``), so the flat backward
reads as the unrolled loop. ``break``, ``continue``, ``else`` and ``return``
inside the loop are refused, as is a count known only at run time.
A list comprehension or generator over such items (``[x[t] for t in
range(3)]``, one or more ``for`` clauses, ``if`` clauses the source
decides: ``[x[i] for i in range(6) if i % 2 == 0]``) is the tuple of its
elements, for ``np.stack``, ``np.concatenate``, ``np.array`` and ``sum``.
An ``if`` statement or conditional expression whose condition the source
decides (numbers, module constants, loop items: ``if USE_BIAS:``, ``b if t
> 0 else h0``) is the branch it chooses; a condition on values is refused.
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst
import libcst.matchers as m

from codegen.core import ir

#: The most iterations one loop is unrolled to.
MAX_ITERATIONS = 1000


def unroll(b: Any, loop: cst.For) -> None:
    """Flatten `loop` into `b`, its body once per item."""
    if loop.orelse is not None or loop.asynchronous is not None:
        raise b.mod.error(
            "a 'for' loop with 'else' (or 'async for') is not supported",
            loop,
            "write the loop without its else clause",
        )
    items = _items(b, loop.iter)
    if isinstance(loop.body, cst.IndentedBlock):
        body = list(loop.body.body)
    else:
        body = [cst.SimpleStatementLine(body=loop.body.body)]  # type: ignore[arg-type]
    outer = b.loop_note
    try:
        for item in items:
            note = _bind(b, loop.target, item)
            b.loop_note = f"{outer}, {note}" if outer else note
            for stmt in body:
                if b.statement(stmt):
                    raise b.mod.error(
                        "'return' inside a 'for' loop is not supported",
                        stmt,
                        "return after the loop",
                    )
    finally:
        b.loop_note = outer


def _items(b: Any, node: cst.BaseExpression) -> list[ir.Operand]:
    """The items the loop runs over, known from the source."""
    called = _name(node.func) if isinstance(node, cst.Call) else ""
    if called not in b.env and b.mod.canonical(called) == "range":
        assert isinstance(node, cst.Call)
        return _range(b, node)
    if called == "reversed" and called not in b.env:  # reversed(range(T))
        assert isinstance(node, cst.Call)
        if len(node.args) != 1 or node.args[0].keyword is not None or node.args[0].star:
            raise b.mod.error("reversed() takes one sequence here", node)
        return _items(b, node.args[0].value)[::-1]
    if called in ("zip", "enumerate") and called not in b.env:
        assert isinstance(node, cst.Call)
        if any(a.keyword is not None or a.star for a in node.args) or not node.args:
            raise b.mod.error(f"{called}() takes sequences here", node)
        seqs = [_items(b, a.value) for a in node.args]
        if called == "enumerate":
            if len(seqs) != 1:
                raise b.mod.error("enumerate() takes one sequence here", node)
            seqs = [[ir.Const(str(k)) for k in range(len(seqs[0]))], seqs[0]]
        count = min(len(q) for q in seqs)  # zip stops at the shortest
        return [b.pack([q[k] for q in seqs], node) for k in range(count)]
    if isinstance(node, (cst.List, cst.Tuple)):
        return list(b.items(node))
    value = b.expr(node)
    if isinstance(value, ir.Var) and value.name in b.tuple_items:
        return list(b.tuple_items[value.name])
    written = ir.literal(value.text) if isinstance(value, ir.Const) else None
    if isinstance(written, (list, tuple)):  # SIZES = (1, 2, 3) at module level
        return [ir.Const(repr(v)) for v in written]
    raise b.mod.error(
        "codegen unrolls a 'for' loop, so it must see its items",
        node,
        "loop over range(3) with a number (or a module constant), or over a "
        "list or tuple written out",
    )


def _bind(b: Any, target: cst.BaseExpression, item: ir.Operand) -> str:
    """Bind the loop's target (a name, or names unpacking a tuple item) to
    `item`; the note naming the iteration (``t = 2``, ``w = W1, b = b1``)."""
    if isinstance(target, cst.Name):
        b.loop_names.add(target.value)
        b.env[target.value] = item
        return (
            f"{target.value} = {item.text if isinstance(item, ir.Const) else item.name}"
        )
    parts = None
    if isinstance(item, ir.Var):
        parts = b.tuple_items.get(item.name)
    elif isinstance(item, ir.Const):
        value = ir.literal(item.text)
        if isinstance(value, tuple):
            parts = tuple(ir.Const(repr(v)) for v in value)
    names = target.elements if isinstance(target, (cst.Tuple, cst.List)) else None
    if names is None or parts is None or len(parts) != len(names):
        raise b.mod.error(
            "a 'for' loop unpacks items of as many values as its names here",
            target,
            "loop over one name, or over tuples written out: for w, c in [(w1, 1.0)]",
        )
    return ", ".join(
        _bind(b, el.value, part) for el, part in zip(names, parts, strict=True)
    )


def _name(node: cst.BaseExpression) -> str:
    return node.value if isinstance(node, cst.Name) else ""


def _range(b: Any, node: cst.Call) -> list[ir.Operand]:
    bounds = []
    for arg in node.args:
        counted = _counted(b, arg.value)
        value = ir.Const(str(counted)) if counted is not None else b.expr(arg.value)
        number = _number(b, value.text) if isinstance(value, ir.Const) else None
        if arg.keyword is not None or not isinstance(number, int) or number is True:
            raise b.mod.error(
                "codegen unrolls a 'for' loop, so its count must be a number here",
                arg.value,
                "give range() numbers or module constants (range(T) with T = 8 at "
                "module level); a count known only at run time (x.shape[0]) cannot "
                "be unrolled",
            )
        bounds.append(number)
    if not 1 <= len(bounds) <= 3 or (len(bounds) == 3 and bounds[2] == 0):
        raise b.mod.error("range() takes one to three numbers, a nonzero step", node)
    values = range(*bounds)
    if len(values) > MAX_ITERATIONS:
        raise b.mod.error(
            f"a loop of {len(values)} iterations is too long to unroll "
            f"(at most {MAX_ITERATIONS})",
            node,
            "vectorize the loop over an axis",
        )
    return [ir.Const(str(v)) for v in values]


def _counted(b: Any, node: cst.BaseExpression) -> int | None:
    """``len(v)`` of a list or tuple whose items the source names (``ws =
    [W1, W2]``, ``SIZES = (1, 2)``): its length; else None."""
    if not (
        m.matches(node, m.Call(func=m.Name("len"), args=[m.Arg(value=m.Name())]))
        and "len" not in b.env
    ):
        return None
    assert isinstance(node, cst.Call)
    return _length(b, b.expr(node.args[0].value))


def static_number(b: Any, text: str) -> object:
    """The value of `text` when the source decides it (`_number`)."""
    return _number(b, text)


def _number(b: Any, text: str) -> object:
    """The value of a constant's text: numbers and module constants combined
    by arithmetic (``T - 1``), or None."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        return None
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name)
    allowed_parts = (ast.operator, ast.unaryop, ast.Load)
    if not all(isinstance(n, allowed + allowed_parts) for n in ast.walk(tree)):
        return None
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    if not names <= set(b.mod.literals):
        return None
    values = {k: ir.literal(b.mod.literals[k]) for k in names}
    try:  # arithmetic of numbers only (checked above)
        return eval(
            compile(tree, "<constant>", "eval"), {"__builtins__": {}}, values
        )  # noqa: S307
    except (ArithmeticError, TypeError, ValueError):
        return None


def comprehension(b: Any, node: cst.ListComp | cst.GeneratorExp) -> ir.Operand:
    """``[x[i] * w for i in range(3)]`` (or a generator, for ``sum(...)``,
    ``np.stack(...)``): the element once per item, as a tuple of values; the
    names it binds stay inside it, as in Python."""
    elements: list[ir.Operand] = []
    clauses: list[cst.CompFor] = []
    clause: cst.CompFor | None = node.for_in
    while clause is not None:
        if clause.asynchronous is not None:
            raise b.mod.error("an 'async for' comprehension is not supported", clause)
        clauses.append(clause)
        clause = clause.inner_for_in
    names = [n for c in clauses for n in m.findall(c.target, m.Name())]
    bound = [n.value for n in names if isinstance(n, cst.Name)]
    saved = {name: b.env.get(name) for name in bound}
    outer = b.loop_note
    try:
        _expand(b, node.elt, clauses, elements, outer)
    finally:
        b.loop_note = outer
        for key, value in saved.items():
            if value is None:
                b.env.pop(key, None)
            else:
                b.env[key] = value
    if isinstance(node, cst.ListComp):  # a list, as Python makes: items assignable
        if all(isinstance(e, ir.Const) for e in elements):
            return ir.Const("[" + ", ".join(e.text for e in elements) + "]")  # type: ignore[union-attr]
        packed = b.pack(elements, node)
        if isinstance(packed, ir.Var):
            b.packed_lists.add(packed.name)
        return packed
    return b.pack(elements, node)


def _expand(
    b: Any,
    elt: cst.BaseExpression,
    clauses: list[cst.CompFor],
    out: list[ir.Operand],
    note: str,
) -> None:
    first, rest = clauses[0], clauses[1:]
    for item in _items(b, first.iter):
        bound = _bind(b, first.target, item)
        b.loop_note = f"{note}, {bound}" if note else bound
        if not all(_decided(b, c.test, "a comprehension 'if'") for c in first.ifs):
            continue
        if rest:
            _expand(b, elt, rest, out, b.loop_note)
        else:
            out.append(b.expr(elt))


# ----- if statements and conditional expressions decided in the source -----

_NOT_STATIC = object()
#: The Python a condition decided in the source is written in.
_CONDITION_NODES: tuple[type, ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Constant,
    ast.Name,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.Load,
)


def static_value(b: Any, node: cst.BaseExpression) -> object:
    """The value of `node` when the source decides it: numbers, True/False,
    module constants, loop items and names bound to those, combined by
    arithmetic, comparisons, and/or/not; else `_NOT_STATIC`."""
    try:
        tree = ast.parse(b.mod.module.code_for_node(node).strip(), mode="eval")
    except SyntaxError:
        return _NOT_STATIC
    sized = _sized(b, tree)  # len(hs) of a list the source builds
    if sized is None:
        return _NOT_STATIC
    values: dict[str, object] = dict(sized)
    for name in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - set(sized):
        bound = b.env.get(name)
        if isinstance(bound, ir.Const):
            text: str | None = bound.text
        elif isinstance(bound, ir.Var):
            text = b.const_text.get(bound.name)
        else:
            text = b.mod.literals.get(name, b.mod.flags.get(name))
        value = None if text is None else _number(b, text)
        if value is None and text not in ("True", "False"):
            return _NOT_STATIC
        values[name] = value if value is not None else text == "True"
    try:  # of numbers and booleans only (checked above)
        return eval(
            compile(tree, "<condition>", "eval"), {"__builtins__": {}}, values
        )  # noqa: S307
    except (ArithmeticError, TypeError, ValueError):
        return _NOT_STATIC


def _sized(b: Any, tree: ast.Expression) -> dict[str, object] | None:
    """Values for the names of `tree` read only as ``len(name)`` (a
    sequence of that length, and ``len`` itself), or None when `tree` has
    more than `_CONDITION_NODES` and such calls."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    inside = {id(p) for c in calls for p in ast.walk(c)}
    rest = [n for n in ast.walk(tree) if id(n) not in inside]
    if not all(isinstance(n, _CONDITION_NODES) for n in rest):
        return None
    values: dict[str, object] = {"len": len} if calls else {}
    for call in calls:
        arg = call.args[0] if len(call.args) == 1 and not call.keywords else None
        if not (
            isinstance(call.func, ast.Name)
            and call.func.id == "len"
            and "len" not in b.env
            and isinstance(arg, ast.Name)
        ):
            return None
        count = _length(b, b.expr(cst.Name(arg.id)))
        if count is None:
            return None
        values[arg.id] = [None] * count
    return values


def _length(b: Any, value: ir.Operand) -> int | None:
    """The length of a list or tuple the source builds, else None."""
    found = b.sequence_items(value)  # codegen.front.parse_lists
    return None if found is None else len(found[1])


def _decided(b: Any, test: cst.BaseExpression, what: str) -> bool:
    value = static_value(b, test)
    if value is _NOT_STATIC:
        raise b.mod.error(
            f"{what} whose condition is known only at run time is not supported",
            test,
            "the forward must be straight-line: a condition of numbers and module "
            "constants is decided here; for values, use np.where(cond, a, b)",
        )
    return bool(value)


def branch(b: Any, stmt: cst.If) -> None:
    """``if FLAG:`` ... ``elif`` ... ``else``: the branch the source chooses."""
    chosen: cst.BaseSuite | None = None
    node: cst.If | cst.Else | None = stmt
    while isinstance(node, cst.If):
        if _decided(b, node.test, "an 'if'"):
            chosen = node.body
            break
        node = node.orelse
    if chosen is None and isinstance(node, cst.Else):
        chosen = node.body
    if chosen is None:
        return
    if isinstance(chosen, cst.IndentedBlock):
        body = list(chosen.body)
    else:
        body = [cst.SimpleStatementLine(body=chosen.body)]  # type: ignore[arg-type]
    for inner in body:
        if b.statement(inner):
            raise b.mod.error(
                "'return' inside an 'if' is not supported", inner, "return after it"
            )


def choose(b: Any, node: cst.IfExp, name: str | None) -> ir.Operand:
    """``a if FLAG else b``: the side the source chooses."""
    side = (
        node.body if _decided(b, node.test, "a conditional expression") else node.orelse
    )
    return b.expr(side, name)
