"""Windowed samples in the CryptoMamba layout: `window` days of features, next day's close as target.

The published dataset gives each sample as a (features, window) matrix whose rows are Timestamp,
Open, High, Low, Close and optionally Volume, and the close of the following day as target. We keep
that layout (the faithful model scans over its feature axis) and the sample positions of
`models.splits.window_targets`, so every model is scored on exactly the paper's samples.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.splits import CRYPTOMAMBA_SPLITS, CRYPTOMAMBA_WINDOW, Split, window_targets

TIMESTAMP_FEATURE = "timestamp"  # Unix seconds of each day's open, as the published dataset has it
PRICE_FEATURES = (TIMESTAMP_FEATURE, "open", "high", "low", "close")
VOLUME_FEATURE = "volume"
TARGET_FEATURE = "close"


def feature_names(with_volume: bool) -> tuple[str, ...]:
    return (*PRICE_FEATURES, VOLUME_FEATURE) if with_volume else PRICE_FEATURES


@dataclass(frozen=True)
class WindowSamples:
    """Every sample of every split, in time order."""

    features: np.ndarray  # (samples, features, window), float64, unscaled
    target: np.ndarray  # (samples,): close of the target day
    previous_close: np.ndarray  # (samples,): close of the day before, known when forecasting
    ts: pd.DatetimeIndex  # open time of each target day, UTC
    split: np.ndarray  # split name per sample
    feature_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.target)

    def in_split(self, name: str) -> np.ndarray:
        return self.split == name

    def subset(self, mask: np.ndarray) -> WindowSamples:
        return WindowSamples(
            self.features[mask],
            self.target[mask],
            self.previous_close[mask],
            self.ts[mask],
            self.split[mask],
            self.feature_names,
        )

    @property
    def target_index(self) -> int:
        return self.feature_names.index(TARGET_FEATURE)

    def fingerprint(self) -> str:
        """Hash of the inputs and targets: a checkpoint trained on other data must not be resumed."""
        digest = hashlib.sha256()
        for part in (self.features, self.target, self.ts.asi8, self.split.astype(str)):
            digest.update(np.ascontiguousarray(part).tobytes())
        digest.update(",".join(self.feature_names).encode())
        return digest.hexdigest()[:16]


def latest_window(bars: pd.DataFrame, with_volume: bool, window: int = CRYPTOMAMBA_WINDOW) -> WindowSamples:
    """The one sample whose target is the bar after the last one stored: tomorrow's forecast.

    Its target is unknown (NaN) and its split is 'live'; it is what a signal is made from.
    """
    if len(bars) < window:
        raise ValueError(f"latest_window needs {window} bars, got {len(bars)}")
    recent = bars.iloc[-window:]
    names = feature_names(with_volume)
    matrix = np.stack([_feature_values(recent, name) for name in names])
    last_ts = pd.Timestamp(recent["ts"].iloc[-1])
    step = last_ts - pd.Timestamp(recent["ts"].iloc[-2]) if window > 1 else pd.Timedelta(days=1)
    return WindowSamples(
        features=matrix[None, :, :].astype(np.float64),
        target=np.array([np.nan]),
        previous_close=recent["close"].to_numpy(dtype=float)[-1:],
        ts=pd.DatetimeIndex([last_ts + step]).tz_convert("UTC"),
        split=np.array(["live"], dtype=object),
        feature_names=names,
    )


def _feature_values(bars: pd.DataFrame, name: str) -> np.ndarray:
    if name == TIMESTAMP_FEATURE:
        return (bars["ts"].astype("int64") // 10**9).to_numpy(dtype=float)
    return bars[name].to_numpy(dtype=float)


def build_window_samples(
    bars: pd.DataFrame,
    with_volume: bool,
    splits: tuple[Split, ...] = CRYPTOMAMBA_SPLITS,
    window: int = CRYPTOMAMBA_WINDOW,
) -> WindowSamples:
    """Samples from daily bars (`ts`, open, high, low, close, volume), sorted by `ts`."""
    names = feature_names(with_volume)
    matrix = np.stack([_feature_values(bars, name) for name in names])  # (features, days)
    targets = window_targets(bars["ts"], splits, window)
    positions = targets["position"].to_numpy()
    # Sample i's inputs are the `window` days before its target day.
    days = positions[:, None] - window + np.arange(window)[None, :]
    close = bars["close"].to_numpy(dtype=float)
    return WindowSamples(
        features=np.ascontiguousarray(matrix[:, days].transpose(1, 0, 2)),
        target=close[positions],
        previous_close=close[positions - 1],
        ts=pd.DatetimeIndex(bars["ts"].to_numpy()[positions]).tz_localize(None).tz_localize("UTC"),
        split=targets["split"].to_numpy(dtype=object),
        feature_names=names,
    )
