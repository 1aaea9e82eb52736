"""Risk bands: the names managers see for ranges of churn probability."""

from __future__ import annotations

import numpy as np


def band(probability: np.ndarray, bands: dict[str, float]) -> np.ndarray:
    """The band whose lower bound is the highest one at or below the probability."""
    names = sorted(bands, key=bands.get)
    bounds = np.array([bands[n] for n in names])
    return np.array(names, dtype=object)[np.searchsorted(bounds, probability, side="right") - 1]
