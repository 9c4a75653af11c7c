"""np.einsum's specs, read statically: the sublist form
(``np.einsum(x, (0, 1), (1, 0))``) written as a spec string, and every spec
made explicit (``'ij,jk'`` -> ``'ij,jk->ik'``, ``...`` kept) and checked as
NumPy checks it, so that the adjoints see one spelling."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

import libcst as cst

from codegen.core import ir

if TYPE_CHECKING:
    from codegen.front.source import _Module


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def einsum_sublists(
    mod: _Module, node: cst.Call
) -> tuple[str, list[cst.BaseExpression]] | None:
    """``np.einsum(x, (0, 1), y, (1, 2), (0, 2))``, the sublist form: its spec
    string (``"ab,bc->ac"``) and the operand expressions; None for the
    string form. Sublists must be literal tuples or lists of integers and
    ``...`` (or ``Ellipsis``)."""
    args = list(node.args)
    if not args or args[0].keyword is not None:
        return None
    if ir.is_string(mod.module.code_for_node(args[0].value)):
        return None
    if len(args) < 2 or not isinstance(args[1].value, (cst.Tuple, cst.List)):
        return None  # not a sublist: the spec check refuses it

    def letters(arg: cst.Arg) -> str:
        text = mod.module.code_for_node(arg.value)
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError:
            tree = None
        if isinstance(tree, (ast.Tuple, ast.List)):
            out = ""
            for el in tree.elts:
                if (
                    isinstance(el, ast.Constant)
                    and el.value is Ellipsis
                    or isinstance(el, ast.Name)
                    and el.id == "Ellipsis"
                ):
                    out += "..."
                elif (
                    isinstance(el, ast.Constant)
                    and isinstance(el.value, int)
                    and not isinstance(el.value, bool)
                    and 0 <= el.value < len(_LETTERS)
                ):
                    out += _LETTERS[el.value]
                else:
                    break
            else:
                return out
        raise mod.error(
            "an einsum sublist must be a literal tuple of axis numbers (0 to 51) "
            "and '...'",
            arg,
            "write the sublist out, as in np.einsum(x, (0, 1), (1, 0)), or give a "
            "spec string such as 'ij->ji'",
        )

    for arg in args:
        if arg.star or arg.keyword is not None:
            raise mod.error(
                "np.einsum in sublist form takes positional arguments only",
                arg,
                "write np.einsum(x, (0, 1), y, (1, 2), (0, 2)), or a spec string",
            )
    operands = [a.value for a in args[0::2]]
    ins = [letters(a) for a in args[1::2]]
    out = None
    if len(args) % 2:  # a trailing output sublist
        out, operands = letters(args[-1]), operands[:-1]
        ins = ins[: len(operands)]
    spec = ",".join(ins) + ("" if out is None else "->" + out)
    return spec, operands


def einsum_spec(mod: _Module, spec: ir.Operand, n: int, node: cst.CSTNode) -> str:
    """The explicit form of an einsum spec (``"ij,k->ijk"`` for ``"ij,k"``:
    the letters used once, sorted, after any ``...``), refusing what NumPy
    would refuse. Letters may repeat within an operand (a diagonal) or be
    summed within one operand only; ``...`` broadcasts."""
    hint = "write a spec like 'ij,jk->ik' (letters, '...', and one '->')"
    if not isinstance(spec, ir.Const) or not ir.is_string(spec.text):
        raise mod.error("the einsum spec must be a string literal", node, hint)
    text = str(ast.literal_eval(spec.text)).replace(" ", "")
    ins, arrow, out = text.partition("->")
    parts = ins.split(",")
    if len(parts) != n:
        raise mod.error(
            f"einsum spec {spec.text} names {len(parts)} operands, got {n}", node
        )
    for p in [*parts, out]:
        if p.count("...") > 1 or any(c not in _LETTERS for c in p.replace("...", "")):
            raise mod.error(
                f"einsum spec {spec.text}: '{p}' is not letters with at most one '...'",
                node,
                hint,
            )
    used = "".join(p.replace("...", "") for p in parts)
    if not arrow:
        once = sorted(c for c in set(used) if used.count(c) == 1)
        dots = "..." if any("..." in p for p in parts) else ""
        out = dots + "".join(once)
    letters = out.replace("...", "")
    if len(set(letters)) != len(letters) or any(c not in used for c in letters):
        raise mod.error(
            f"einsum spec {spec.text}: the output '{out}' repeats a letter or names "
            "one no operand has",
            node,
            hint,
        )
    if "..." in out and not any("..." in p for p in parts):
        raise mod.error(f"einsum spec {spec.text}: '...' in the output only", node)
    return ",".join(parts) + "->" + out
