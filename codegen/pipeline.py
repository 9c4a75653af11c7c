"""The pipeline: parse -> reverse -> render -> format, composed and nothing else.

`codegen check` on fresh modules never imports this module, so it never pays
for libcst, jinja2 and black.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Sequence
from dataclasses import replace

from codegen.back.format import format_code
from codegen.back.render import render
from codegen.core import ir
from codegen.core.add_matmul import accumulate_by_rows
from codegen.core.alias_lean import alias_in_place
from codegen.core.conv_lean import drop_equal_unbroadcast
from codegen.core.conv_masks import cache_masks
from codegen.core.flat_over import flat_over
from codegen.core.forward_in_place import update_in_place
from codegen.core.gather_lean import (
    arange_again,
    column_gather,
    distinct_scatter,
    scatter_in_place,
    sparse_last,
)
from codegen.core.in_place import mask_from_output, write_over
from codegen.core.late_grads import parameters_last
from codegen.core.lean import lean_normalisation, reshape_matmul
from codegen.core.norm_buffers import closed_form_in_place, share_norm_sums
from codegen.core.norm_forward import divide_in_place, variance_from_centred
from codegen.core.norm_lean import closed_form_normalisation
from codegen.core.params import docstring_note, resolve_wrt
from codegen.core.passes import (
    accumulate_in_place,
    cache_shapes,
    fuse_sum_of_squares,
    share,
)
from codegen.core.reverse import Backward, reverse
from codegen.core.scalar_lean import flat_blocks, lean_scalar
from codegen.core.setitem_lean import fold_masked_setitem
from codegen.core.shift import shift_invariant
from codegen.core.sigmoid import fuse_sigmoid
from codegen.core.softmax_lean import closed_form_softmax, scale_after_matmul
from codegen.core.sum_lean import sum_unbroadcast
from codegen.core.twin import float_twin, integer_params
from codegen.errors import CodegenError
from codegen.front.parse import parse


def generate(
    source: str,
    filename: str = "<string>",
    func: str | None = None,
    wrt: Sequence[str] | None = None,
    command: str | None = None,
    header_extra: Sequence[str] = (),
    check_finite: bool = False,
    parsed: ir.Function | None = None,
) -> str:
    """Return the black-formatted backward module for `func` in `source`.

    Args:
        source: text of the file holding the forward function (never executed).
        filename: path shown in errors and in the generated header.
        func: the function to differentiate; default: the file's only entry point.
        wrt: parameters to differentiate, in output order; default: every
            parameter that is not an integer and has no default value (one
            with a default, ``eps=1e-5``, is a hyperparameter; see
            `codegen.core.params`). The module's docstring names the others.
        command: the regenerate command quoted in the header.
        header_extra: further header comment lines.
        check_finite: make the backward raise FloatingPointError naming the
            forward line whose gradient first became NaN or Inf.
        parsed: `func` already parsed from `source` (`codegen grad` parses
            once, for this and for the lint).

    Raises:
        CodegenError: the input is not supported (located, with a hint).
    """
    if parsed is None:
        parsed = parse(source, filename, func)
    fn = fuse_sigmoid(fuse_sum_of_squares(share(parsed)))
    chosen = resolve_wrt(fn, wrt)
    # NumPy-spelled code run as scalar code gets the lean value-and-grad;
    # code written with math keeps the lectures' form (codegen.core.scalar_lean)
    bwd = _backward(fn, chosen, (), parsed.array and not check_finite)
    scalar = None if check_finite else float_twin(fn)
    twin = None
    if scalar is not None:
        floats = [p.name for p in fn.params if p.name not in integer_params(fn)]
        twin = _backward(scalar, chosen, floats, True)
    origin = f"{filename}:{fn.name}"
    cmd = command or f"codegen grad {origin}"
    note = docstring_note(fn, chosen)
    text = render(
        bwd,
        origin,
        cmd,
        header_extra,
        check_finite=check_finite,
        note=note,
        twin=twin,
        twin_ints=integer_params(fn),
    )
    code = format_code(text)
    _refuse_shadowed_builtins(fn, code)
    return code


def _refuse_shadowed_builtins(fn: ir.Function, code: str) -> None:
    """A name the forward binds that is also a builtin the generated
    functions use (``type = x * y`` beside the float test ``type(x) is
    float``): Python would find the local there, or find it unbound."""
    bound: dict[str, ir.Loc | None] = {p.name: None for p in fn.params}
    bound |= {s.target: s.loc for s in fn.body if not s.intermediate}
    clash = {n for n in bound if n in _BUILTINS}
    if not clash:
        return
    used: set[str] = set()  # called, or the type an `is` test names
    for top in ast.parse(code).body:
        if not isinstance(top, ast.FunctionDef) or (
            top.name.startswith("_") and not top.name.endswith("_floats")
        ):
            continue  # a helper's own scope
        for node in ast.walk(top):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                used.add(node.func.id)
            elif isinstance(node, ast.Compare):  # type(x) is float
                used |= {
                    c.id
                    for op, c in zip(node.ops, node.comparators, strict=True)
                    if isinstance(op, (ast.Is, ast.IsNot)) and isinstance(c, ast.Name)
                }
    for name in sorted(clash & used):
        raise CodegenError(
            f"'{name}' is a builtin the generated code uses; a name the forward "
            "binds would hide it there",
            bound[name],
            f"rename '{name}' (to '{name}_' for instance)",
            fn.filename,
            fn.text,
        )


_BUILTINS = frozenset(dir(builtins))


def _backward(
    fn: ir.Function, wrt: Sequence[str], floats: Sequence[str], lean: bool
) -> Backward:
    """reverse, then the backward IR passes; `floats` are the parameters
    known to be Python floats (those of a float twin); `lean` (off under
    check_finite): scalar code gets the lean value-and-grad, NumPy code
    writes over its dead temporaries (`codegen.core.in_place`)."""
    # the max shift is proven on fn; column_gather changes no value of it
    bwd = reverse(column_gather(fn), wrt, shift_invariant(fn))
    bwd = closed_form_softmax(closed_form_normalisation(bwd))
    bwd = mask_from_output(reshape_matmul(lean_normalisation(bwd)))
    bwd = cache_masks(sum_unbroadcast(drop_equal_unbroadcast(bwd)))
    bwd = sparse_last(distinct_scatter(scale_after_matmul(bwd)))
    bwd = alias_in_place(accumulate_in_place(fold_masked_setitem(bwd)))
    bwd = cache_shapes(arange_again(scatter_in_place(bwd)))
    # last: the forward's variance changes the steps the shape passes read
    bwd = closed_form_in_place(share_norm_sums(bwd))
    bwd = variance_from_centred(update_in_place(divide_in_place(bwd)))
    if not lean:  # check_finite: every gradient stays its own array to check
        return bwd
    if bwd.lib != "math":
        return accumulate_by_rows(flat_over(parameters_last(write_over(bwd))))
    bwd = lean_scalar(bwd, floats)
    return replace(bwd, flat=flat_blocks(bwd, floats))
