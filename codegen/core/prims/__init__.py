"""The primitive declarations, one module per family.

Importing this package declares every primitive into
`codegen.core.primitive.PRIMITIVES`; `FAMILIES` records which module (family)
declared which ops, in import order, for the README's table.
"""

from __future__ import annotations

import importlib

from codegen.core.primitive import PRIMITIVES

#: Family title -> the ops its module declares, in declaration order.
FAMILIES: dict[str, tuple[str, ...]] = {}

for _module, _title in (
    ("arithmetic", "Arithmetic and routers"),
    ("elementwise", "Elementwise functions"),
    ("reductions", "Reductions"),
    ("linalg", "Linear algebra"),
    ("shaping", "Shapes"),
    ("indexing", "Indexing"),
    ("windows", "Convolution and pooling"),
    ("breadth", "NumPy breadth: mod, prod, moving and copying entries"),
    ("functions", "More functions: hyperbolic, inverse trigonometric, cross, kron"),
    ("linalg_more", "Linear algebra: inv, solve, det, cholesky, norm"),
    ("linalg_decomp", "Linear algebra: svd, eigh, slogdet, pinv"),
    (
        "breadth_more",
        "NumPy breadth: fmax, fmin, rollaxis, sinc, nan_to_num, conj of reals, pad modes",
    ),
    ("stacking", "Splitting, stacking, differences and sorting"),
    (
        "statistics",
        "Statistics: nan-reductions, median, quantiles, cumprod; heaviside, copysign",
    ),
    ("scalars", "Python and math on numbers: fsum, hypot, log to a base, erf, round"),
    ("nograd", "No gradient"),
):
    _before = set(PRIMITIVES)
    importlib.import_module(f"codegen.core.prims.{_module}")
    FAMILIES[_title] = tuple(op for op in PRIMITIVES if op not in _before)
