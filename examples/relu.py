"""The ReLU layer: out = max(0, x), elementwise."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jaxtyping import Float


def relu(x: Float[np.ndarray, "..."]):
    out = np.maximum(0, x)
    return out
