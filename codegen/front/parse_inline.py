"""Calls to straight-line helpers of the same file, inlined: arguments bound
as Python binds them, the helper's body flattened into the caller's steps
under a prefix (``affine_out``), recursion and deep chains refused, and a
helper computing ``1 / (1 + exp(-x))`` recognised as the sigmoid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import libcst as cst

from codegen.core import ir
from codegen.core.sigmoid import sigmoid_input
from codegen.front.builder import _SIGMOID_OPS
from codegen.front.parse_statements import Statements, build_body
from codegen.front.signature import (
    checked_params,
)

#: Deepest chain of helpers calling one another that is inlined.
MAX_HELPER_DEPTH = 20


class Builder(Statements):
    """The whole parse builder: expressions, statements and inlined helpers."""

    def inline(self, helper: str, node: cst.Call, name: str | None) -> ir.Operand:
        """Inline a same-file straight-line helper (or recognise the sigmoid)."""
        if helper in self.chain:
            path = " -> ".join((*self.chain[self.chain.index(helper) :], helper))
            raise self.mod.error(
                f"'{helper}' calls itself ({path}): recursion is not supported", node
            )
        if len(self.chain) > MAX_HELPER_DEPTH:
            raise self.mod.error(
                f"helper calls nest more than {MAX_HELPER_DEPTH} deep"
                f" ({self.chain[0]} -> ... -> {self.chain[-1]} -> {helper})",
                node,
                f"at most {MAX_HELPER_DEPTH} helpers may call one another in a chain;"
                " merge some of them",
            )
        if self.mod.defs[helper].asynchronous is not None:
            raise self.mod.error(
                f"'{helper}' is an async function", node, "call plain functions only"
            )
        for arg in node.args:
            if arg.star:
                raise self.mod.error(
                    "star-arguments are not supported in helper calls",
                    arg,
                    "pass each argument by position or by name",
                )
        if helper in self.mod.rebound:
            raise self.mod.error(
                f"the helper '{helper}' is bound more than once in the file",
                node,
                "give each top-level function and value its own name",
            )
        fdef = self.mod.defs[helper]
        inner = Builder(self.mod, prefix=f"{helper}_", depth=self.depth + 1)
        inner.chain = (*self.chain, helper)
        inner.taken = self.taken
        inner.hidden = self.hidden
        inner.settings = self.settings
        inner.constants = self.constants
        inner.tuple_items = self.tuple_items
        inner.packed_lists = self.packed_lists
        inner.const_text = self.const_text
        inner.memory, inner.read_only, inner.parent = self.memory, self.read_only, self
        inner.external = self.external  # what the module or the caller holds
        params = checked_params(self.mod, fdef)  # defaults: literals, constants
        args = self.helper_arguments(helper, fdef, node, inner)
        for p, a in zip(params, args, strict=True):
            inner.env[p.name] = a
        result = build_body(inner, fdef)
        if _is_sigmoid(inner.steps, args):
            for s in inner.steps:
                self.taken.discard(s.target)
            scalar = any(s.scalar for s in inner.steps)  # math.exp, as written
            return self.emit("sigmoid", args, node, name, scalar=scalar)
        site = self.source
        for s in inner.steps:
            self.steps.append(
                replace(s, source=f"{s.source}  (in {helper}, called as: {site})")
            )
        return result

    def helper_arguments(
        self, helper: str, fdef: cst.FunctionDef, node: cst.Call, inner: Builder
    ) -> list[ir.Operand]:
        """The operand of each of `helper`'s parameters, bound as Python binds
        a call: by position, then by keyword, then the parameter's default,
        read by `inner` (the helper's builder, before any parameter is bound:
        a default sees module constants only, as in Python)."""
        params = (*fdef.params.params, *fdef.params.kwonly_params)
        names = [p.name.value for p in params]
        given: dict[str, ir.Operand] = {}
        positional = [a for a in node.args if a.keyword is None]
        if len(positional) > len(fdef.params.params):  # not past a '*'
            raise self.mod.error(
                f"'{helper}' takes {len(fdef.params.params)} positional argument(s),"
                f" got {len(positional)}",
                node,
            )
        for name, arg in zip(names, positional, strict=False):
            given[name] = self.expr(arg.value)
        for arg in node.args:
            if arg.keyword is None:
                continue
            key = arg.keyword.value
            if key not in names:
                raise self.mod.error(
                    f"'{helper}' has no parameter '{key}'",
                    arg,
                    f"its parameters: {', '.join(names) or 'none'}",
                )
            if key in given:
                raise self.mod.error(
                    f"'{helper}' got two values for its parameter '{key}'", arg
                )
            given[key] = self.expr(arg.value)
        for p in params:
            if p.name.value in given:
                continue
            if p.default is None:
                raise self.mod.error(
                    f"the call of '{helper}' gives no value for its parameter"
                    f" '{p.name.value}'",
                    node,
                    f"pass '{p.name.value}' or give it a default in '{helper}'",
                )
            given[p.name.value] = inner.expr(p.default)
        return [given[n] for n in names]


def _is_sigmoid(steps: Sequence[ir.Assign], args: Sequence[ir.Operand]) -> bool:
    """True when a helper computes 1 / (1 + exp(-x)) of its single argument."""
    if len(args) != 1 or tuple(s.op for s in steps) != _SIGMOID_OPS:
        return False
    found = sigmoid_input(steps[-1], {s.target: s for s in steps})
    return found is not None and found[0] == args[0]
