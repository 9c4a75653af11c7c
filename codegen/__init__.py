"""codegen: static source-to-source gradients for straight-line Python and NumPy.

The pipeline is parse -> reverse -> render -> format (-> verify), one
subpackage a stage: `codegen.front` (source to IR), `codegen.core` (the
primitives, the reverse pass, shapes), `codegen.back` (render, format),
`codegen.checks` (verify, lint), `codegen.learn` (explain, graph, notebook),
`codegen.project` (pyproject configuration, build and check).
`codegen.pipeline.generate` composes the first four.

`import codegen` is light: the functions below are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codegen.errors import CodegenError, CodegenErrors, InternalError
from codegen.version import DISTRIBUTION, __version__

if TYPE_CHECKING:
    from codegen.learn.explain import explain
    from codegen.learn.graph import graph
    from codegen.learn.notebook import show
    from codegen.pipeline import generate
    from codegen.project.workflow import build, check

__all__ = [
    "DISTRIBUTION",
    "CodegenError",
    "CodegenErrors",
    "InternalError",
    "build",
    "check",
    "explain",
    "generate",
    "graph",
    "show",
    "__version__",
]

#: Public functions by name -> the module defining them.
_LAZY = {
    "generate": "codegen.pipeline",
    "explain": "codegen.learn.explain",
    "graph": "codegen.learn.graph",
    "show": "codegen.learn.notebook",
    "build": "codegen.project.workflow",
    "check": "codegen.project.workflow",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'codegen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
