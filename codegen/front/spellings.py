"""Operator spellings: which libcst operator node is which primitive; and
NumPy 2's other names for NumPy functions.

The symbol of each node (``+``, ``@``, ``<``) names its primitive through
the declarations (`codegen.core.rules.OPERATORS`); the parse builder reads
these tables, and the table tests check every op they name is declared.
"""

from __future__ import annotations

import libcst as cst

from codegen.core.rules import OPERATORS

_BINARY_SYMBOLS: dict[type[cst.BaseBinaryOp], str] = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.Power: "**",
    cst.MatrixMultiply: "@",
    cst.FloorDivide: "//",  # integer sizes only: no gradient
    cst.Modulo: "%",
    cst.BitAnd: "&",  # masks: no gradient
    cst.BitOr: "|",
    cst.BitXor: "^",
}
_AUGMENTED_SYMBOLS: dict[type[cst.BaseAugOp], str] = {
    cst.AddAssign: "+",
    cst.SubtractAssign: "-",
    cst.MultiplyAssign: "*",
    cst.DivideAssign: "/",
    cst.PowerAssign: "**",
    cst.MatrixMultiplyAssign: "@",
    cst.ModuloAssign: "%",
    cst.FloorDivideAssign: "//",
    cst.BitAndAssign: "&",
    cst.BitOrAssign: "|",
    cst.BitXorAssign: "^",
}
_COMPARE_SYMBOLS: dict[type[cst.BaseCompOp], str] = {
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.Equal: "==",
    cst.NotEqual: "!=",
}
BINARY_OPS = {k: OPERATORS[s] for k, s in _BINARY_SYMBOLS.items()}
AUGMENTED_OPS = {k: OPERATORS[s] for k, s in _AUGMENTED_SYMBOLS.items()}
COMPARE_OPS = {k: OPERATORS[s] for k, s in _COMPARE_SYMBOLS.items()}

#: NumPy 2 names -> the name NumPy also has (and had before 2.0) for them.
RENAMED: dict[str, str] = {
    "numpy.concat": "numpy.concatenate",
    "numpy.pow": "numpy.power",
    "numpy.permute_dims": "numpy.transpose",
    "numpy.linalg.matmul": "numpy.matmul",
    "numpy.linalg.tensordot": "numpy.tensordot",
    "numpy.linalg.outer": "numpy.outer",
    "numpy.linalg.cross": "numpy.cross",
    **{
        f"numpy.{short}": f"numpy.arc{short[1:]}"
        for short in ("acos", "asin", "atan", "acosh", "asinh", "atanh", "atan2")
    },
}
