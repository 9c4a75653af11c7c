"""The command line's option values: NAME=VALUE pairs, --wrt lists, shapes,
--at values and seeds, each read into Python values or refused as a usage
error (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from codegen.errors import CodegenError


class UsageError(CodegenError):
    """A bad command-line value."""


def parse_assignments(items: Sequence[str], what: str) -> dict[str, str]:
    """``["a=1.0", "b=2"]`` -> ``{"a": "1.0", "b": "2"}``."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip().isidentifier() or not value.strip():
            raise UsageError(
                f"bad {what} '{item}': expected NAME=VALUE", None, None, "codegen"
            )
        if name.strip() in out:
            raise UsageError(
                f"{what} gives '{name.strip()}' twice: each name once",
                None,
                None,
                "codegen",
            )
        out[name.strip()] = value.strip()
    return out


def parse_wrt(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; a name given twice is a usage error."""
    names = [w.strip() for w in text.split(",") if w.strip()] if text else []
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(
            f"--wrt names {', '.join(twice)} twice: each parameter once",
            None,
            None,
            "codegen",
        )
    return names or None


def seed(text: str) -> int:
    """A --seed: a non-negative integer (NumPy's generators take no other)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a non-negative integer, got {text!r}"
        )
    return value


def parse_shapes(items: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """``["x=64,3072"]`` -> ``{"x": (64, 3072)}``."""
    shapes = {}
    for name, value in parse_assignments(items, "--shape").items():
        try:
            shapes[name] = tuple(int(d) for d in value.split(",") if d.strip())
        except ValueError:
            raise UsageError(
                f"bad --shape '{name}={value}': dimensions are integers",
                None,
                None,
                "codegen",
            ) from None
    return shapes


def parse_values(items: Sequence[str]) -> dict[str, Any]:
    """``--at a=1.5 n=3`` -> numbers (ints stay ints); ``--at p.stride=2``
    gives the entry 'stride' of ``p``, a dict of settings."""
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = (part.strip() for part in item.partition("="))
        outer, dot, key = name.partition(".")
        if (
            not sep
            or not text
            or not all(n.isidentifier() for n in (outer, key or outer))
        ):
            raise UsageError(
                f"bad --at '{item}': expected NAME=VALUE or NAME.KEY=VALUE",
                None,
                None,
                "codegen",
            )
        try:
            number = int(text) if text.lstrip("+-").isdigit() else float(text)
        except ValueError:
            raise UsageError(
                f"bad --at '{name}={text}': not a number", None, None, "codegen"
            ) from None
        held = values.get(outer)
        if held is not None and bool(dot) != isinstance(held, dict):  # p=1 p.s=2
            raise UsageError(
                f"--at gives '{outer}' both as a number and as settings",
                None,
                None,
                "codegen",
            )
        if name in values or (dot and isinstance(held, dict) and key in held):
            raise UsageError(
                f"--at gives '{name}' twice: each name once", None, None, "codegen"
            )
        if dot:
            values.setdefault(outer, {})[key] = number
        else:
            values[name] = number
    return values
