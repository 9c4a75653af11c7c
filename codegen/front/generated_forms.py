"""The statements of a generated module that its forward steps skip or read
as one step when the module is read again (second order): the check of its
inputs ``_real(x, w)`` and ``_shapes(...)``, ``_add_matmul(g, a, b)`` and the dispatch to a float
twin. Matched with libcst's matchers, imported when first needed: importing
them takes 0.3 s, and a user's forward (assignments and a return) never
needs them."""

from __future__ import annotations

from functools import cache
from types import SimpleNamespace

import libcst as cst


@cache
def _forms() -> SimpleNamespace:
    """The matchers, made on first use."""
    import libcst.matchers as m

    twin_call = m.SimpleStatementLine(  # return _f_value_and_grad_floats(...)
        body=[
            m.Return(
                value=m.Call(
                    func=m.Name(value=m.MatchRegex(r"_\w+_value_and_grad_floats"))
                )
            )
        ]
    )
    return SimpleNamespace(
        m=m,
        # type(x) is float (or int), a test of a float twin's dispatch
        type_is=m.Comparison(
            left=m.Call(func=m.Name("type"), args=[m.Arg(value=m.Name())]),
            comparisons=[m.ComparisonTarget(m.Is(), m.Name("float") | m.Name("int"))],
        ),
        # try: return _f_value_and_grad_floats(...) except (...): pass
        twin_try=m.Try(
            body=m.IndentedBlock(body=[twin_call]),
            handlers=[
                m.ZeroOrMore(
                    m.ExceptHandler(
                        body=m.IndentedBlock(body=[m.SimpleStatementLine([m.Pass()])])
                    )
                )
            ],
            orelse=None,
            finalbody=None,
        ),
        # _real(x, w): a generated module's refusal of complex inputs
        real=m.Call(
            func=m.Name("_real"),
            args=[m.ZeroOrMore(m.Arg(value=m.Name(), keyword=None))],
        ),
        # _shapes(("x", x, "N D"), ...): its check of annotated shapes
        shapes=m.Call(
            func=m.Name("_shapes"),
            args=[
                m.ZeroOrMore(
                    m.Arg(
                        value=m.Tuple(
                            [m.Element(m.SimpleString()), m.Element(m.Name())]
                            + [m.Element(m.SimpleString())]
                        ),
                        keyword=None,
                    )
                )
            ],
        ),
        # _add_matmul(name, a, b): three plain positional arguments
        add_matmul=m.Call(
            func=m.Name("_add_matmul"),
            args=[m.Arg(value=m.Name(), keyword=None, star="")]
            + [m.Arg(keyword=None, star="")] * 2,
        ),
    )


def _matches(node: cst.CSTNode, form: str) -> bool:
    """`node` matches the generated form `form` of `_forms`; only calls of a
    name and statements that no forward writes are matched at all."""
    if form in ("real", "shapes", "add_matmul") and not (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name)
    ):
        return False
    forms = _forms()
    return bool(forms.m.matches(node, getattr(forms, form)))


def add_matmul_call(node: cst.BaseExpression) -> bool:
    """``_add_matmul(g, a, b)`` (`codegen.core.add_matmul`)."""
    return _matches(node, "add_matmul")


def real_check(node: cst.BaseExpression) -> bool:
    """``_real(x, w)`` or ``_shapes(("x", x, "N D"))``, a generated forward's
    checks of its inputs."""
    return _matches(node, "real") or _matches(node, "shapes")


def float_dispatch(stmt: cst.BaseStatement) -> bool:
    """A generated value-and-grad's dispatch to its float twin
    (`codegen.core.twin`): ``if type(x) is float ...: try: return
    _f_value_and_grad_floats(...) except (...): pass``. Read again (second
    order), it is skipped: the twin computes what the NumPy steps after it do."""
    if not (
        isinstance(stmt, cst.If) and stmt.orelse is None and _type_tests(stmt.test)
    ):
        return False
    block = stmt.body
    if not (isinstance(block, cst.IndentedBlock) and len(block.body) == 1):
        return False
    (inner,) = block.body
    return _matches(inner, "twin_try")


def _type_tests(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _type_tests(test.left) and _type_tests(test.right)
    return _matches(test, "type_is")
