"""The distribution's name and version: the lowest module, so that the build
hash (codegen/project/stamp.py) reads the version without importing codegen."""

from __future__ import annotations

from importlib import metadata as _metadata

#: The distribution's name on the package index (the import package and the
#: command are `codegen`; the index's `codegen` is an unrelated project).
DISTRIBUTION = "codegen-grad"


def _installed_version() -> str:
    """The version pyproject.toml gives, as the installed metadata records it."""
    try:
        return _metadata.version(DISTRIBUTION)
    except _metadata.PackageNotFoundError:  # run from a checkout, not installed
        return "0+unknown"


__version__ = _installed_version()
