"""Windowed samples: the paper's layout, sample counts and no peeking at the target day."""

import numpy as np
import pandas as pd

from models.samples import build_window_samples, latest_window
from models.scaling import MinMaxScaler


def test_layout_and_counts_follow_the_published_dataset(samples_with_volume):
    samples = samples_with_volume
    assert samples.feature_names == ("timestamp", "open", "high", "low", "close", "volume")
    assert samples.features.shape == (1446 + 350 + 350, 6, 14)
    assert [int(samples.in_split(name).sum()) for name in ("train", "val", "test")] == [1446, 350, 350]
    assert samples.ts[samples.in_split("test")][0] == pd.Timestamp("2023-10-01", tz="UTC")


def test_inputs_end_the_day_before_the_target(daily_bars, samples_with_volume):
    samples = samples_with_volume
    close = daily_bars.set_index("ts")["close"]
    for index in (0, 700, len(samples) - 1):
        target_day = samples.ts[index]
        window = samples.features[index, samples.target_index]
        expected = close.loc[target_day - pd.Timedelta(days=14) : target_day - pd.Timedelta(days=1)]
        np.testing.assert_array_equal(window, expected.to_numpy())
        assert samples.target[index] == close.loc[target_day]
        assert samples.previous_close[index] == window[-1]


def test_without_volume_drops_only_volume(daily_bars):
    samples = build_window_samples(daily_bars, with_volume=False)
    assert samples.feature_names == ("timestamp", "open", "high", "low", "close")
    assert samples.features.shape[1] == 5


def test_scaler_sees_only_the_training_split(samples_with_volume):
    train = samples_with_volume.subset(samples_with_volume.in_split("train"))
    scaler = MinMaxScaler.fit(train)
    scaled = scaler.features(train.features)
    assert scaled.min() == 0.0 and scaled.max() == 1.0
    test = samples_with_volume.subset(samples_with_volume.in_split("test"))
    # 2024 closes passed the 2021 high: the test year lies partly above the training range.
    assert scaler.target(test.target).max() > 1.0
    np.testing.assert_allclose(scaler.price(scaler.target(test.target)), test.target)


def test_fingerprint_changes_with_the_data(samples_with_volume):
    changed = samples_with_volume.features.copy()
    changed[0, 0, 0] += 1
    altered = samples_with_volume.__class__(
        changed,
        *(getattr(samples_with_volume, name) for name in ("target", "previous_close", "ts", "split")),
        samples_with_volume.feature_names,
    )
    assert altered.fingerprint() != samples_with_volume.fingerprint()


def test_latest_window_is_the_sample_of_the_day_after_the_last_bar(daily_bars, samples_with_volume):
    index = 1000
    target_day = samples_with_volume.ts[index]
    known = daily_bars[daily_bars["ts"] < target_day]
    live = latest_window(known, with_volume=True)
    np.testing.assert_array_equal(live.features[0], samples_with_volume.features[index])
    assert live.ts[0] == target_day
    assert live.previous_close[0] == samples_with_volume.previous_close[index]
    assert np.isnan(live.target[0]) and live.split[0] == "live"
