"""Market regimes from volatility, trend and volume, by one of two methods chosen by config.

- `gmm`: a Gaussian mixture over standardised (realised volatility, trend, volume z-score), fitted
  on the bars up to `fit_until` only; each bar's regime is then predicted from that bar's features
  alone and debounced causally (a switch counts once the new regime has held `min_run` bars), so a
  bar's label never depends on later bars.
- `changepoint`: PELT change points (ruptures, L2 cost) on the same standardised features; each
  segment takes the regime whose volatility band (quantiles over the fitting period) holds the
  segment's mean volatility. The segmentation is retrospective: PELT sees the whole series, so
  these labels are for building tasks and describing history, not for trading decisions.

Regimes are numbered by rising volatility (0 is the calmest), so labels mean the same across runs.
An episode is a maximal run of bars in one regime.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

REGIME_METHODS = ("gmm", "changepoint")
REGIME_INPUTS = ("realized_vol", "trend", "volume_z")


@dataclass(frozen=True)
class RegimeConfig:
    method: str = "gmm"
    regimes: int = 3
    min_run: int = 24  # bars a new regime must hold (gmm) / the shortest segment (changepoint)
    fit_until: pd.Timestamp | None = None  # fit on bars up to here; None = all
    penalty: float = 30.0  # PELT penalty (changepoint)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in REGIME_METHODS:
            raise ValueError(f"regime method {self.method!r}: expected one of {', '.join(REGIME_METHODS)}")
        if self.regimes < 2 or self.min_run < 1:
            raise ValueError("regimes must be >= 2 and min_run >= 1")


def segment(features: pd.DataFrame, config: RegimeConfig) -> pd.DataFrame:
    """ts, regime and episode for every bar with complete inputs (`features` sorted by ts)."""
    usable = features.dropna(subset=list(REGIME_INPUTS)).reset_index(drop=True)
    fitted = (
        usable["ts"] <= config.fit_until if config.fit_until is not None else pd.Series(True, usable.index)
    )
    if fitted.sum() < 10 * config.regimes:
        raise ValueError(f"regimes: only {int(fitted.sum())} bars to fit on before {config.fit_until}")
    inputs = usable[list(REGIME_INPUTS)].to_numpy(float)
    mean, spread = inputs[fitted].mean(0), inputs[fitted].std(0) + 1e-12
    scaled = (inputs - mean) / spread
    if config.method == "gmm":
        regime = _debounce(_mixture_labels(scaled, fitted.to_numpy(), config), config.min_run)
    else:
        regime = _changepoint_labels(
            scaled, usable["realized_vol"].to_numpy(float), fitted.to_numpy(), config
        )
    episode = np.r_[0, np.cumsum(regime[1:] != regime[:-1])]
    return pd.DataFrame({"ts": usable["ts"], "regime": regime, "episode": episode})


def _mixture_labels(scaled: np.ndarray, fitted: np.ndarray, config: RegimeConfig) -> np.ndarray:
    from sklearn.mixture import GaussianMixture  # a second to import; only this method needs it

    mixture = GaussianMixture(config.regimes, covariance_type="full", random_state=config.seed, n_init=3)
    mixture.fit(scaled[fitted])
    by_volatility = np.argsort(np.argsort(mixture.means_[:, 0]))  # component -> rank of its volatility
    return by_volatility[mixture.predict(scaled)]


def _debounce(labels: np.ndarray, min_run: int) -> np.ndarray:
    """Switch regime only once a new label has held `min_run` bars in a row (causal)."""
    smoothed = labels.copy()
    current, candidate, held = labels[0], labels[0], 0
    for index, label in enumerate(labels):
        if label == current:
            candidate, held = current, 0
        elif label == candidate:
            held += 1
        else:
            candidate, held = label, 1
        if candidate != current and held >= min_run:
            current = candidate
        smoothed[index] = current
    return smoothed


def _changepoint_labels(
    scaled: np.ndarray, volatility: np.ndarray, fitted: np.ndarray, config: RegimeConfig
) -> np.ndarray:
    import ruptures

    breaks = (
        ruptures.Pelt(model="l2", min_size=config.min_run, jump=config.min_run)
        .fit(scaled)
        .predict(pen=config.penalty)
    )
    bands = np.quantile(volatility[fitted], np.linspace(0, 1, config.regimes + 1)[1:-1])
    labels = np.empty(len(scaled), dtype=np.int64)
    start = 0
    for end in breaks:
        labels[start:end] = np.searchsorted(bands, volatility[start:end].mean())
        start = end
    return labels
