"""numpy helpers that keep numpy's slow-to-import corners out of a command's start.

``np.median`` imports ``numpy.ma`` on its first call (about a tenth of a
second on a busy machine); these give the same values by partition.
"""

from __future__ import annotations

import numpy as np


def medians(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=0)`` of values without NaN."""
    half = len(values) // 2
    if len(values) % 2:
        return np.asarray(np.partition(values, half, axis=0)[half])
    part = np.partition(values, (half - 1, half), axis=0)
    return np.asarray((part[half - 1] + part[half]) / 2)


def median(values: np.ndarray) -> float:
    """``np.median(values)`` of a column without NaN."""
    return float(medians(values))
