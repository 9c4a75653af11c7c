"""What Python itself refuses, located before libcst sees the file: syntax
errors (positions from `ast`, which are exact), what only the compiler
refuses, and nesting deeper than `MAX_NESTING` (libcst's native parser would
overflow the C stack on it); `recursion_room`, the room the recursive
passes need; and the literals module constants may be bound to (numbers,
lists and tuples of them, NumPy constructors of them)."""

from __future__ import annotations

import ast
import contextlib
import gc
import sys
import warnings
from collections.abc import Iterator

from codegen.core import ir
from codegen.errors import CodegenError


def syntax_error(source: str, filename: str, exc: Exception) -> CodegenError:
    """A located syntax error; positions come from `ast`, which are exact."""
    try:
        with warnings.catch_warnings():  # the error is the message, not warnings
            warnings.simplefilter("ignore")
            ast.parse(source, filename)
    except SyntaxError as err:
        line = err.lineno or 1
        col = max((err.offset or 1) - 1, 0)
        end = max((err.end_offset or err.offset or 1) - 1, col + 1)
        loc = ir.Loc(line, col, err.end_lineno or line, end)
        msg = (
            "invalid syntax"
            if err.msg == "invalid syntax"
            else f"invalid syntax: {err.msg}"
        )
        return CodegenError(msg, loc, "fix the syntax first", filename, source)
    except ValueError as err:  # null bytes and the like
        return CodegenError(f"cannot parse: {err}", None, None, filename, source)
    return CodegenError(
        f"cannot parse: {exc}", ir.Loc(1, 0, 1, 1), None, filename, source
    )


def compile_error(source: str, filename: str, exc: SyntaxError) -> CodegenError:
    """A located error for what `ast.parse` accepts but Python does not compile."""
    line = exc.lineno or 1
    col = max((exc.offset or 1) - 1, 0)
    end = max((exc.end_offset or exc.offset or 1) - 1, col + 1)
    end_line = exc.end_lineno or line
    if end_line != line:
        end_line, end = line, col + 1
    loc = ir.Loc(line, col, end_line, end)
    return CodegenError(
        f"invalid Python: {exc.msg}", loc, "fix the source first", filename, source
    )


#: Deepest expression nesting accepted. CPython's own parser stops near 3,000
#: levels (and at 200 brackets); libcst's native parser overflows the C stack,
#: a crash rather than an exception, on deeper input, so it never sees any.
MAX_NESTING = 2000
#: Python frames the passes use per level of nesting (libcst's position
#: metadata and the flattening recurse on the tree).
_FRAMES_PER_LEVEL = 12


@contextlib.contextmanager
def recursion_room() -> Iterator[None]:
    """Room for `MAX_NESTING` levels in the recursive passes, and no cyclic
    garbage collection meanwhile (each full collection walks the whole libcst
    tree, which made parsing grow faster than the file: a third of the time
    at 10,000 statements); both restored after."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, MAX_NESTING * _FRAMES_PER_LEVEL + 2000))
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
        if collecting:
            gc.enable()


def check_syntax(source: str, filename: str) -> ast.Module | None:
    """Refuse, located, what Python cannot parse or what nests deeper than
    `MAX_NESTING`, before libcst sees it. `and`/`or` chains count one level per
    operand, since libcst nests them."""
    text = source.removeprefix("\ufeff")  # a UTF-8 byte-order mark, as Python allows
    try:
        with warnings.catch_warnings():  # e.g. invalid escapes: not ours to report
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename)
    except SyntaxError as exc:
        raise syntax_error(text, filename, exc) from None
    except ValueError:  # null bytes: libcst reports them
        return None
    except (RecursionError, MemoryError):
        raise CodegenError(
            "the source is nested too deeply for Python's parser",
            None,
            "split deep expressions into several assignments",
            filename,
            source,
        ) from None
    try:  # what only the compiler refuses: a parameter named twice, a
        # misplaced `from __future__`, `return` outside a function, ...
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(tree, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise compile_error(text, filename, exc) from None
    except (RecursionError, MemoryError, ValueError):
        pass  # deep nesting is located below; null bytes by libcst
    lines = source.splitlines()
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    push, expr, node_type = stack.append, ast.expr, ast.AST
    while stack:
        node, depth = stack.pop()
        if isinstance(node, expr):
            depth += len(node.values) if isinstance(node, ast.BoolOp) else 1
        if depth > MAX_NESTING and isinstance(node, expr):
            line = lines[node.lineno - 1] if node.lineno <= len(lines) else ""
            col = len(
                line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")
            )
            raise CodegenError(
                f"expression is nested too deeply (more than {MAX_NESTING} levels)",
                ir.Loc(node.lineno, col, node.lineno, col + 1),
                "split it into several assignments",
                filename,
                source,
            )
        for name in node._fields:  # ast.iter_child_nodes, in its order, inline
            child = getattr(node, name, None)
            if isinstance(child, node_type):
                push((child, depth))
            elif isinstance(child, list):
                for item in child:
                    if isinstance(item, node_type):
                        push((item, depth))
    return tree


def walked(tree: ast.AST) -> list[ast.AST]:
    """`ast.walk(tree)` as a list, in its order; made once per tree and kept
    on it (the parse scans one function's tree five times over; the trees are
    never changed after parsing)."""
    found: list[ast.AST] | None = tree.__dict__.get("_codegen_walked")
    if found is None:
        found = list(ast.walk(tree))
        tree._codegen_walked = found  # type: ignore[attr-defined]
    return found


def _ast_identifiers(tree: ast.AST) -> set[str]:
    """Names, attributes, parameters, keywords and imported names in `tree`
    (found once per tree, and kept on it, like `walked`)."""
    kept: frozenset[str] | None = tree.__dict__.get("_codegen_identifiers")
    if kept is None:
        kept = frozenset(_identifiers(tree))
        tree._codegen_identifiers = kept  # type: ignore[attr-defined]
    return set(kept)


def _identifiers(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in walked(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.keyword):
            found.update([node.arg] if node.arg else [])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.alias):
            found.update(node.name.split("."))
            if node.asname:
                found.add(node.asname)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(node.module.split("."))
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            found.add(node.name)
    return found


def number_literal(node: ast.expr) -> bool:
    """A number literal, signed or not (``2``, ``-1.5``, ``+1e-3``)."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        return number_literal(node.operand)
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    )


def numbers_literal(node: ast.expr) -> bool:
    """A number, or a (nested) list or tuple of numbers, none empty."""
    if isinstance(node, (ast.List, ast.Tuple)):
        return bool(node.elts) and all(numbers_literal(e) for e in node.elts)
    return number_literal(node)


def array_literal(node: ast.expr, numpy: set[str]) -> bool:
    """A NumPy constructor of numbers (``np.array([[1.0, 2.0]])``,
    ``np.eye(3)``), nothing read from elsewhere."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ir.ARRAY_CONSTRUCTORS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in numpy
        and bool(node.args)
        and all(numbers_literal(a) for a in node.args)
        and all(k.arg and numbers_literal(k.value) for k in node.keywords)
    )
