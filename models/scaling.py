"""Min-max scaling fitted on the training samples only.

The published CryptoMamba code scales with the minimum and maximum of train, validation and test
together, which lets the test year's price range leak into training. Here the range comes from the
training split alone; later prices may fall outside [0, 1], as they would in production.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.samples import WindowSamples


@dataclass(frozen=True)
class MinMaxScaler:
    """Per-feature range; the target is scaled with its own feature's range (the close)."""

    minimum: np.ndarray  # (features,)
    maximum: np.ndarray  # (features,)
    target_index: int

    @classmethod
    def fit(cls, train: WindowSamples) -> MinMaxScaler:
        if len(train) == 0:
            raise ValueError("cannot fit a scaler on an empty training split")
        minimum = train.features.min(axis=(0, 2))
        maximum = train.features.max(axis=(0, 2))
        constant = maximum <= minimum
        if constant.any():
            names = [name for name, flat in zip(train.feature_names, constant, strict=True) if flat]
            raise ValueError(f"features {names} are constant over the training split; nothing to scale")
        return cls(minimum, maximum, train.target_index)

    @property
    def _span(self) -> np.ndarray:
        return self.maximum - self.minimum

    def features(self, features: np.ndarray) -> np.ndarray:
        return (features - self.minimum[None, :, None]) / self._span[None, :, None]

    def target(self, price: np.ndarray) -> np.ndarray:
        return (price - self.minimum[self.target_index]) / self._span[self.target_index]

    def price(self, scaled: np.ndarray) -> np.ndarray:
        """Inverse of `target`: a scaled forecast back in price units."""
        return scaled * self._span[self.target_index] + self.minimum[self.target_index]

    def to_dict(self) -> dict[str, object]:
        return {
            "minimum": self.minimum.tolist(),
            "maximum": self.maximum.tolist(),
            "target_index": self.target_index,
        }

    @classmethod
    def from_dict(cls, state: dict[str, object]) -> MinMaxScaler:
        return cls(np.asarray(state["minimum"]), np.asarray(state["maximum"]), int(state["target_index"]))
