"""The primitive declarations, one module per family.

Importing this package declares every primitive into
`codegen.core.primitive.PRIMITIVES`; the order of the imports is the order of
the README's table.
"""

from codegen.core.prims import (  # noqa: F401 - each module declares its primitives
    arithmetic,
    elementwise,
    indexing,
    linalg,
    nograd,
    reductions,
    shaping,
    windows,
)
