"""The function's signature and the names it binds, checked before its body
is flattened: parameters (no star, keyword-only or positional-only ones),
defaults (literals and module constants only, so the generated signature can
repeat them), and names that would shadow what generated modules define
(`np`, `math`, the runtime helpers, the three generated functions)."""

from __future__ import annotations

import ast
import builtins
from dataclasses import replace

import libcst as cst

from codegen.core import ir
from codegen.errors import CodegenError
from codegen.front.source import _is_int_annotation, _Module
from codegen.front.syntax import walked


def names_in(node: cst.BaseExpression) -> list[cst.Name]:
    if isinstance(node, cst.Name):
        return [node]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for el in node.elements for n in names_in(el.value)]
    return []


def read_params(mod: _Module, fdef: cst.FunctionDef) -> list[ir.Param]:
    p = fdef.params
    for bad in (p.star_arg, p.star_kwarg):
        if isinstance(bad, cst.Param):
            raise mod.error(
                "star-parameters are not supported", bad, "list every parameter"
            )
    if p.posonly_params:
        raise mod.error(
            "positional-only parameters are not supported",
            p.posonly_params[0],
            "drop the '/'",
        )
    out = []
    for k, param in enumerate((*p.params, *p.kwonly_params)):
        ann = (
            mod.module.code_for_node(param.annotation.annotation).strip()
            if param.annotation
            else None
        )
        default = (
            mod.module.code_for_node(param.default).strip() if param.default else None
        )
        only = k >= len(p.params)  # after '*'
        out.append(
            ir.Param(
                param.name.value,
                ann,
                _is_int_annotation(ann),
                default,
                keyword_only=only,
            )
        )
    return out


#: Module names generated code uses: a local of that name would hide them.
_MODULE_NAMES = frozenset({"np", "math"})


def _runtime_names() -> set[str]:
    from codegen.core.rules import templates_dir

    return {p.stem for p in (templates_dir() / "runtime").glob("_*.j2")}


def checked_params(mod: _Module, fdef: cst.FunctionDef) -> list[ir.Param]:
    """`read_params`, refusing what the generated signature cannot repeat safely:
    async functions and defaults that are not literals.
    A default naming a module constant gets the constant's value."""
    if fdef.asynchronous is not None:
        raise mod.error(
            "async functions are not supported",
            fdef.asynchronous,
            "differentiate a plain 'def'",
        )
    params = read_params(mod, fdef)  # a parameter named twice: source.py refuses
    return [
        replace(p, default=default_text(mod, node.default)) if node.default else p
        for p, node in zip(
            params, (*fdef.params.params, *fdef.params.kwonly_params), strict=True
        )
    ]


_DEFAULT_HINT = (
    "defaults may be numbers, strings, True, False, None, tuples of them,"
    " + - * / // % on numbers, and module constants bound to numbers"
)


def default_text(mod: _Module, node: cst.BaseExpression) -> str:
    """The default's source with module constants replaced by their values;
    a located error for anything that would compute or look up at import."""
    numeric = (cst.Integer, cst.Float, cst.Imaginary)
    arith = (
        cst.Add,
        cst.Subtract,
        cst.Multiply,
        cst.Divide,
        cst.FloorDivide,
        cst.Modulo,
    )

    def number(n: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(n, numeric):
            return n
        if isinstance(n, cst.Name) and n.value in mod.literals:
            return cst.parse_expression(mod.literals[n.value])
        if isinstance(n, cst.UnaryOperation) and isinstance(
            n.operator, (cst.Minus, cst.Plus)
        ):
            inner = number(n.expression)
            return inner and n.with_changes(expression=inner)
        if isinstance(n, cst.BinaryOperation) and isinstance(n.operator, arith):
            left, right = number(n.left), number(n.right)
            return left and right and n.with_changes(left=left, right=right)
        return None

    def value(n: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(n, cst.SimpleString) or (
            isinstance(n, cst.Name) and n.value in ("True", "False", "None")
        ):
            return n
        if isinstance(n, cst.Name) and n.value in mod.sequences:  # AXES = (0, 1)
            return cst.parse_expression(mod.sequences[n.value])
        if isinstance(n, cst.Tuple):
            elements = [value(e.value) for e in n.elements]
            if all(elements) and not any(
                isinstance(e, cst.StarredElement) for e in n.elements
            ):
                return n.with_changes(
                    elements=[
                        e.with_changes(value=v)
                        for e, v in zip(n.elements, elements, strict=True)
                    ]
                )
            return None
        return number(n)

    done = value(node)
    if done is None:
        text = mod.module.code_for_node(node).strip().splitlines()[0]
        raise mod.error(f"the default '{text}' is not supported", node, _DEFAULT_HINT)
    return " ".join(mod.module.code_for_node(done).split())


def check_module_names(
    mod: _Module, fdef: cst.FunctionDef, name: str, constants: dict[str, str]
) -> None:
    """Refuse module constants the generated module's own definitions would
    hide (its three functions and codegen's runtime helpers), and those named
    as a builtin: repeated at its top, they would hide it from its helpers."""
    taken = {f"{name}_forward", f"{name}_backward", f"{name}_value_and_grad"}
    clash = sorted(set(constants) & (taken | _runtime_names() | _BUILTINS))
    if not clash:
        return

    class Find(cst.CSTVisitor):
        def __init__(self) -> None:
            self.found: cst.Name | None = None

        def visit_Name(self, node: cst.Name) -> None:
            if self.found is None and node.value == clash[0]:
                self.found = node

    finder = Find()
    fdef.visit(finder)
    what = (
        "a builtin"
        if clash[0] in _BUILTINS
        else "a function the generated module defines"
    )
    raise mod.error(
        f"the module constant '{clash[0]}' has the name of {what}",
        finder.found or fdef.name,
        "rename the constant",
    )


_BUILTINS = frozenset(dir(builtins))


def check_reserved(mod: _Module, fdef: cst.FunctionDef) -> None:
    """Refuse binding a name that generated modules define as a runtime helper
    (``_unbroadcast``) or use for a module (``np``, ``math``): a parameter or
    variable so named would shadow it."""
    reserved = _runtime_names() | _MODULE_NAMES
    clash: list[tuple[str, ir.Loc]] = []
    tree = mod.ast_def(fdef.name.value)
    if tree is not None:  # names bound, not calls: a backward calls them
        for node in walked(tree):
            if isinstance(node, ast.arg) and node.arg in reserved:
                clash.append((node.arg, mod.ast_loc(node, len(node.arg))))
            elif (
                isinstance(node, ast.Name)
                and isinstance(node.ctx, ast.Store)
                and node.id in reserved
            ):
                clash.append((node.id, mod.ast_loc(node, len(node.id))))
        clash.sort(key=lambda c: (c[1].line, c[1].col))
    else:
        clash = [
            (n.value, mod.loc(n)) for n in bound_names(fdef) if n.value in reserved
        ]
    if clash:
        name, loc = clash[0]
        what = (
            "for modules (generated modules import numpy as np and math)"
            if name in _MODULE_NAMES
            else "for codegen's runtime helpers"
        )
        raise CodegenError(
            f"the name '{name}' is reserved {what}",
            loc,
            "rename it",
            mod.filename,
            mod.source,
        )


def bound_names(fdef: cst.FunctionDef) -> list[cst.Name]:
    """Names `fdef` binds (parameters, assignment targets), by libcst."""
    names: list[cst.Name] = []

    class Find(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            names.append(node.name)

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            names.extend(names_in(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            names.extend(names_in(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            names.extend(names_in(node.target))

    fdef.visit(Find())
    return names


def bound_ids(mod: _Module, fdef: cst.FunctionDef) -> set[str]:
    """The values of `bound_names(fdef)`, read off the file's `ast` tree when
    it has one (a libcst visitor rebuilds every node of a long function)."""
    tree = mod.ast_def(fdef.name.value)
    if tree is None:
        return {n.value for n in bound_names(fdef)}
    found: set[str] = set()
    for node in walked(tree):
        if isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                found.update(_ast_names_in(target))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            found.update(_ast_names_in(node.target))
    return found


def _ast_names_in(node: ast.expr) -> list[str]:
    """`names_in` on an `ast` target (a starred element is its name)."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [
            n
            for el in node.elts
            for n in _ast_names_in(el.value if isinstance(el, ast.Starred) else el)
        ]
    return []


def _keyed_reads(body: cst.BaseSuite) -> list[cst.CSTNode]:
    """``p["key"]`` in `body`: names subscripted with one string literal, by
    libcst's matchers (imported only here: importing them takes a quarter of
    a second, and the parse uses them only for a file without an `ast`)."""
    import libcst.matchers as m

    keyed = m.Subscript(
        value=m.Name(),
        slice=[m.SubscriptElement(slice=m.Index(value=m.SimpleString()))],
    )
    return list(m.findall(body, keyed))


def settings_keys(mod: _Module, fdef: cst.FunctionDef) -> dict[str, tuple[str, ...]]:
    """Parameters the body reads with constant string keys (cs231n's
    ``conv_param["stride"]``) -> those keys, in order of first use. Read off
    the file's `ast` tree when it has one (libcst's matchers take a fifth of
    the parse on a long function), else with the matcher."""
    names = {p.name.value for p in fdef.params.params}
    found: list[tuple[tuple[int, int], str, str]] = []
    tree = mod.ast_def(fdef.name.value)
    if tree is not None:
        for node in walked(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id in names
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                at = (node.lineno, node.col_offset)
                found.append((at, node.value.id, node.slice.value))
    else:
        for k, hit in enumerate(_keyed_reads(fdef.body)):
            assert isinstance(hit, cst.Subscript) and isinstance(hit.value, cst.Name)
            index = hit.slice[0].slice
            assert isinstance(index, cst.Index)
            key = index.value.evaluated_value  # type: ignore[attr-defined]
            if hit.value.value in names and isinstance(key, str):
                found.append(((k, 0), hit.value.value, key))
    keys: dict[str, list[str]] = {}
    for _, name, key in sorted(found):
        if key not in keys.setdefault(name, []):
            keys[name].append(key)
    return {name: tuple(k) for name, k in keys.items()}
