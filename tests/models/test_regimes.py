"""Regime segmentation: calm and volatile stretches are told apart, and gmm labels are causal."""

import numpy as np
import pandas as pd
import pytest

from models.regimes import RegimeConfig, segment


def _features(volatile_from: int = 300, bars: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    calm = np.arange(bars) < volatile_from
    return pd.DataFrame(
        {
            "ts": pd.date_range("2020-01-01", periods=bars, freq="h", tz="UTC"),
            "realized_vol": np.where(calm, 0.01, 0.05) + rng.normal(0, 0.002, bars),
            "trend": rng.normal(0, 0.001, bars),
            "volume_z": rng.normal(0, 1, bars),
        }
    )


@pytest.mark.parametrize("method", ["gmm", "changepoint"])
def test_calm_and_volatile_stretches_get_rising_labels(method):
    labels = segment(_features(), RegimeConfig(method=method, regimes=2, min_run=12))
    assert (labels["regime"].iloc[:280] == 0).mean() > 0.95
    assert (labels["regime"].iloc[330:] == 1).mean() > 0.95
    assert labels["episode"].is_monotonic_increasing


def test_gmm_labels_of_the_past_ignore_the_future():
    features = _features()
    fit_until = features["ts"].iloc[250]
    config = RegimeConfig(method="gmm", regimes=2, min_run=12, fit_until=fit_until)
    before = segment(features, config)
    changed = features.copy()
    changed.loc[400:, "realized_vol"] *= 3
    after = segment(changed, config)
    pd.testing.assert_series_equal(before["regime"].iloc[:400], after["regime"].iloc[:400])


def test_debounce_needs_min_run_bars_to_switch():
    features = _features(volatile_from=300)
    features.loc[100:104, "realized_vol"] = 0.05  # a five-bar spike inside the calm stretch
    labels = segment(features, RegimeConfig(method="gmm", regimes=2, min_run=12))
    assert (labels["regime"].iloc[95:115] == 0).all()


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="regime method 'kmeans'"):
        RegimeConfig(method="kmeans")
