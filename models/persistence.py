"""Persistence forecast: tomorrow's close equals today's, the baseline every model must beat."""

from __future__ import annotations

import numpy as np


def persistence_forecast(close: np.ndarray, target_positions: np.ndarray) -> np.ndarray:
    """Forecast each target bar's close as the previous bar's close (known at forecast time)."""
    if np.any(target_positions < 1):
        raise ValueError("a persistence forecast needs the bar before each target; position 0 has none")
    return close[target_positions - 1]
