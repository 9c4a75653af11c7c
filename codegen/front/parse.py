"""Parse pass: Python source -> `ir.Function`, statically, with libcst.

Contract:

* input: the text of one file and the name of a top-level ``def`` in it; the
  file is never imported or executed;
* output: an `ir.Function` whose body lists one primitive step per operation,
  in evaluation order, each carrying the location and the text of the user's
  statement; nested expressions become named intermediates (``L_sub`` for the
  subtraction inside ``L = ...``), re-bound names become SSA versions
  (``x_1``) and calls to straight-line helpers of the same file are inlined;
* errors: every unsupported construct in the function raises, together, as
  `CodegenErrors`, each located at its node with a hint naming what is
  supported instead.

The pass is in pieces, each a module of `codegen.front`: `source` reads the
file (imports, top-level names, syntax errors), `signature` the parameters and
names, `builder` flattens expressions (`spellings` maps operators to ops),
`parse_statements` the statements, `parse_inline` helper calls, and
`parse_arrays`, `parse_windows`, `parse_calls`, `parse_aliases` the NumPy
constructs, call signatures and in-place updates. An op this pass can emit is
always in `codegen.core.rules.RULES` (the table tests check it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from codegen.core import ir
from codegen.core.primitive import Primitive
from codegen.core.rules import RULES
from codegen.errors import CodegenError
from codegen.front.parse_inline import Builder
from codegen.front.parse_statements import build_body
from codegen.front.positions import LazyLoc
from codegen.front.signature import (
    bound_ids,
    check_module_names,
    check_reserved,
    checked_params,
    settings_keys,
)
from codegen.front.source import (  # noqa: F401 - list_functions is part of this module's API
    _default_function,
    _dotted,
    _is_int_annotation,
    _load_module,
    _Module,
    _user_names,
    list_functions,
)
from codegen.front.syntax import recursion_room


def parse(
    source: str,
    filename: str = "<string>",
    func: str | None = None,
    meanwhile: Callable[[], object] | None = None,
    lazy: bool = False,
) -> ir.Function:
    """Parse `func` (or the file's only public function) from `source`;
    `meanwhile` runs while libcst parses the text (`codegen grad` imports
    the rest of the pipeline then). With `lazy`, the steps' columns are
    found only when read (`codegen.front.positions`): the IR then keeps the
    libcst tree alive, which a short process with the collector off can
    afford (`codegen grad`); else they are found before returning.

    Raises:
        CodegenError: the source has a syntax error or `func` is missing.
        CodegenErrors: one or more constructs in the function are unsupported.
    """
    with recursion_room():
        fn = _parse(source, filename, func, meanwhile)
        return fn if lazy else replace(fn, body=tuple(map(_found, fn.body)))


def _found(step: ir.Assign) -> ir.Assign:
    """`step` with its location found (holding no libcst node)."""
    loc = step.loc
    return replace(step, loc=loc.resolved()) if isinstance(loc, LazyLoc) else step


def _parse(
    source: str,
    filename: str,
    func: str | None,
    meanwhile: Callable[[], object] | None = None,
) -> ir.Function:
    mod = _load_module(source, filename, meanwhile)
    name = func or _default_function(mod)
    fdef = mod.defs.get(name)
    if fdef is None and "." in name:
        raise CodegenError(
            f"'{name}' is not a function at the top level of {filename}",
            None,
            "codegen differentiates top-level functions: write the method's body "
            "as a function of its inputs (self's arrays as parameters)",
            filename,
            source,
        )
    if fdef is None:
        known = ", ".join(sorted(mod.defs)) or "none"
        raise CodegenError(
            f"no function '{name}' at the top level of {filename}",
            None,
            f"functions defined there: {known}",
            filename,
            source,
        )
    for deco in fdef.decorators:
        raise mod.error("decorated functions are not supported", deco)
    if name in mod.rebound:
        raise mod.error(
            f"the name '{name}' is bound more than once in the file",
            fdef.name,
            "give each top-level function and value its own name",
        )
    check_reserved(mod, fdef)
    b = Builder(mod)
    b.chain = (name,)
    keys = settings_keys(mod, fdef)
    params = [replace(p, keys=keys.get(p.name, ())) for p in checked_params(mod, fdef)]
    b.settings = set(keys)
    module_constants = {*mod.literals, *mod.arrays}
    b.taken = _user_names(fdef, mod) | {p.name for p in params} | module_constants
    b.hidden = frozenset(bound_ids(mod, fdef)) & module_constants
    for p in params:
        b.env[p.name] = ir.Var(p.name)
    b.bound = {p.name for p in params}  # del x; x = ...: a new name, not x
    b.params = tuple(params)  # their annotated ranks (np.gradient(x))
    b.external = {p.name for p in params}  # the caller holds them
    result = build_body(b, fdef)
    if isinstance(result, ir.Const):
        raise mod.error(
            "the function returns a constant: nothing to differentiate", fdef.name
        )
    check_module_names(mod, fdef, name, b.constants)
    doc = fdef.get_docstring()
    used = {a.op for a in b.steps}
    array = any(v.split(".")[0] == "numpy" for v in mod.aliases.values())
    fn = ir.Function(
        name=name,
        params=tuple(params),
        body=tuple(b.steps),
        result=result.name,
        outputs=b.several,
        text=source,
        imports=tuple(mod.imports),
        doc=doc,
        filename=filename,
        user_names=frozenset(b.taken),
        array=array or bool(used & _ARRAY_ONLY),
        constants=tuple(sorted(b.constants.items())),
        copies=frozenset(
            s.target
            for s in b.steps
            if s.op == "copy" and b.memory.get(s.target) == frozenset({s.target})
        ),
    )
    return fn


def _array_only(p: Primitive) -> bool:
    """True for an op no Python number has: NumPy-only functions and methods
    (``x.reshape``), ``@``, attributes (``x.T``) and subscripts. A function
    using one is array code even where its file does not import numpy (a
    scalar module would skip `_unbroadcast`: wrong gradient shapes)."""
    numpy_only = not p.forward and "np." in p.forward_np
    return (
        numpy_only
        or p.operator == "@"
        or bool(p.attributes)
        or p.op in ("getitem", "gather", "setitem")
    )


#: Ops that make a function array code (see `_array_only`).
_ARRAY_ONLY: frozenset[str] = frozenset(op for op, p in RULES.items() if _array_only(p))
