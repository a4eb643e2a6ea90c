"""Where a sample's inputs leave the range its model was trained on.

Scalers are fitted on the training split only (models/scaling.py), so later inputs can fall outside
their range: the timestamp feature does in every window after the training split, and the close does
once the price passes the training split's high. `orchestration.extrapolation` measures what that
does to Table IV's forecasts; the training assets report it for each live forecast.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from models.samples import TIMESTAMP_FEATURE, WindowSamples


def training_high(samples: WindowSamples) -> float:
    """The highest close in the training split's windows."""
    return float(samples.features[samples.in_split("train"), samples.target_index, :].max())


def closes_above(samples: WindowSamples, high: float) -> np.ndarray:
    """Per sample: does its window hold a close above `high`?"""
    return samples.features[:, samples.target_index, :].max(axis=1) > high


def window_ends(samples: WindowSamples) -> np.ndarray:
    """Per sample: the timestamp feature (Unix seconds) of its window's last day."""
    return samples.features[:, samples.feature_names.index(TIMESTAMP_FEATURE), -1]


def training_end(samples: WindowSamples) -> float:
    """The timestamp feature of the training split's last window day."""
    return float(window_ends(samples)[samples.in_split("train")].max())


def timestamps_held_at(samples: WindowSamples, end: float) -> WindowSamples:
    """The samples with each window that ends past `end` moved back in time to end on it, its days'
    spacing kept; every other feature unchanged."""
    position = samples.feature_names.index(TIMESTAMP_FEATURE)
    features = samples.features.copy()
    features[:, position, :] -= np.maximum(window_ends(samples) - end, 0.0)[:, None]
    return replace(samples, features=features)
