"""Numerics lint: located warnings on forward patterns the lectures call unstable.

Contract:

* input: a parsed `ir.Function` (or source text, parsed here); nothing runs;
* output: a list of `CodegenWarning`, in source order, one per offending step,
  each located at the step's expression with a hint giving the stable form;
* a warning never stops generation: ``codegen grad`` prints them to stderr and
  still exits 0.

Patterns, read from the IR's op names:

* ``exp`` whose result is summed (softmax, log-sum-exp) while its input is not
  shifted by a max (``s - np.max(s, axis=..., keepdims=True)``): exp overflows
  for scores above ~709;
* ``log`` of a probability, i.e. of a quotient by a sum of exps (softmax) or of
  a sigmoid, or of one minus it (``np.log(1 - p)`` of a cross-entropy), not
  clipped (``np.clip``) nor offset (``+ eps``) on the way: the probability can
  round to 0 (or 1), and log(0) is -inf. The hint gives the stable form of
  that kind: log-probabilities for a softmax, the log-sigmoid of the logits
  for a sigmoid.
"""

from __future__ import annotations

from collections.abc import Iterator

from codegen.core import ir
from codegen.core.rules import PASS_THROUGH
from codegen.errors import CodegenWarning

#: Ops that move or select values without changing them.
_PASS_THROUGH = PASS_THROUGH
#: Ops through which an exp still reaches a sum as a sum of exps.
_CARRY = _PASS_THROUGH | {"mul", "div"}


class _Graph:
    """Definitions and uses of the SSA names of one function."""

    def __init__(self, fn: ir.Function) -> None:
        self.defs = {s.target: s for s in fn.body}
        self.uses: dict[str, list[ir.Assign]] = {}
        for s in fn.body:
            for a in s.args:
                if isinstance(a, ir.Var):
                    self.uses.setdefault(a.name, []).append(s)

    def source_of(self, operand: ir.Operand) -> ir.Assign | None:
        """The step producing `operand`, looking through pass-through ops."""
        seen: set[str] = set()
        while isinstance(operand, ir.Var) and operand.name in self.defs:
            if operand.name in seen:
                return None
            seen.add(operand.name)
            step = self.defs[operand.name]
            if step.op not in _PASS_THROUGH or not step.args:
                return step
            operand = step.args[0]
        return None

    def is_op(self, operand: ir.Operand, op: str) -> bool:
        step = self.source_of(operand)
        return step is not None and step.op == op

    def summed(self, step: ir.Assign) -> bool:
        """True when `step`'s value reaches a sum (or mean) through `_CARRY` ops."""
        todo, seen = [step.target], set()
        while todo:
            name = todo.pop()
            for user in self.uses.get(name, []):
                if user.op in ("sum", "mean"):
                    return True
                if user.op in _CARRY and user.target not in seen:
                    seen.add(user.target)
                    todo.append(user.target)
        return False

    def shifted(self, operand: ir.Operand) -> bool:
        """True for ``s - max(s)``-like inputs (or a negated, bounded value)."""
        step = self.source_of(operand)
        if step is None:
            return False
        if step.op == "sub" and len(step.args) == 2:
            return self.is_op(step.args[1], "amax")
        return step.op in ("neg", "tanh", "sin", "cos", "sigmoid", "log", "log1p")

    def probability(self, operand: ir.Operand) -> str | None:
        """ "softmax" for ``e / sum(e)``, "sigmoid" for ``1 / (1 + exp(-x))``
        (or the recognised sigmoid); the same with "1 - " before it for their
        complements ``1 - p``; None for anything else."""
        step = self.source_of(operand)
        if step is None:
            return None
        if step.op == "sub" and len(step.args) == 2 and _is_one(step.args[0]):
            kind = self.probability(step.args[1])
            return f"1 - {kind}" if kind and not kind.startswith("1 - ") else None
        if step.op == "sigmoid":
            return "sigmoid"
        if step.op != "div" or len(step.args) != 2:
            return None
        den = self.source_of(step.args[1])
        if den is None:
            return None
        if den.op == "sum" and any(self.is_op(a, "exp") for a in den.args[:1]):
            return "softmax"
        if den.op == "add" and any(self.is_op(a, "exp") for a in den.args):
            return "sigmoid"  # 1 + exp(-x), the sigmoid written inline
        return None


def _is_one(operand: ir.Operand) -> bool:
    return isinstance(operand, ir.Const) and operand.text.strip("()") in ("1", "1.0")


#: The stable form of the log of each kind of probability.
_LOG_HINTS = {
    "softmax": "clip it: np.log(np.clip(p, 1e-12, 1.0)), or take log-probabilities "
    "directly: shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
    "1 - softmax": "clip it: np.log(np.clip(1 - p, 1e-12, 1.0))",
    "sigmoid": "clip it: np.log(np.clip(p, 1e-12, 1.0)), or take the log-sigmoid "
    "of the logits z directly: np.minimum(z, 0) - np.log1p(np.exp(-np.abs(z)))",
    "1 - sigmoid": "clip it: np.log(np.clip(1 - p, 1e-12, 1.0)), or take "
    "log(1 - sigmoid(z)) directly: np.minimum(-z, 0) - np.log1p(np.exp(-np.abs(z)))",
}


def _warnings(fn: ir.Function, source: str) -> Iterator[CodegenWarning]:
    graph = _Graph(fn)
    for step in fn.body:
        if step.op == "exp" and graph.summed(step) and not graph.shifted(step.args[0]):
            yield CodegenWarning(
                "exp of scores without the max shift can overflow (softmax, log-sum-exp)",
                step.loc,
                "subtract the max first: shifted = s - np.max(s, axis=1, keepdims=True), "
                "then np.exp(shifted)",
                fn.filename,
                source,
            )
        elif step.op == "log" and step.args:
            kind = graph.probability(step.args[0])
            if kind is None:
                continue
            what = "a probability" if kind[:1] != "1" else "one minus a probability"
            yield CodegenWarning(
                f"log of {what} that can round to 0 gives -inf",
                step.loc,
                _LOG_HINTS[kind],
                fn.filename,
                source,
            )


def lint(fn: ir.Function, source: str = "") -> list[CodegenWarning]:
    """Warnings for the numerically fragile steps of `fn`, in source order.

    Args:
        fn: the parsed forward function.
        source: its file's text, shown under each warning.
    """
    seen: set[tuple[int, int]] = set()
    out = []
    for w in _warnings(fn, source):
        key = (w.loc.line, w.loc.col) if w.loc else (0, 0)
        if key not in seen:  # one warning per expression
            seen.add(key)
            out.append(w)
    return out


def lint_source(
    source: str, filename: str = "<string>", func: str | None = None
) -> list[CodegenWarning]:
    """Parse `func` from `source` (never running it) and lint it.

    Raises:
        CodegenError: as `codegen.front.parse.parse` does.
    """
    from codegen.front.parse import parse

    return lint(parse(source, filename, func), source)
