"""Where inputs leave the training range: on the paper's Yahoo samples, whose dates are known."""

import numpy as np

from models.samples import TIMESTAMP_FEATURE, build_window_samples, latest_window
from models.training_range import (
    closes_above,
    timestamps_held_at,
    training_end,
    training_high,
    window_ends,
)
from orchestration.settings import Settings
from orchestration.table_iv import paper_daily_bars


def test_the_training_high_is_2021s_and_the_live_window_lies_two_years_past_training(settings: Settings):
    bars = paper_daily_bars(settings.data_dir)
    samples = build_window_samples(bars, with_volume=True)
    assert training_high(samples) == 67566.83  # the close of 2021-11-08
    # the split ends on 2022-09-16, its last target is 2022-09-15 and that window ends on 2022-09-14
    assert training_end(samples) == 1663113600.0
    live = latest_window(bars, with_volume=True)
    assert (window_ends(live)[0] - training_end(samples)) / 86400 == 732  # to 2024-09-15, over a leap day
    assert not closes_above(live, training_high(samples))[0]
    assert closes_above(live, float(live.features[0, live.target_index, :].min()))[0]


def test_held_timestamps_end_every_later_window_on_the_last_training_day(settings: Settings):
    samples = build_window_samples(paper_daily_bars(settings.data_dir), with_volume=False)
    held = timestamps_held_at(samples, training_end(samples))
    stamp = samples.feature_names.index(TIMESTAMP_FEATURE)
    train = samples.in_split("train")
    last_training_day = 1663113600.0  # 2022-09-14, the last training window's last day
    np.testing.assert_array_equal(held.features[train], samples.features[train])
    later = ~train
    assert (held.features[later, stamp, -1] == last_training_day).all()
    np.testing.assert_array_equal(  # the days keep their spacing
        np.diff(held.features[later, stamp, :], axis=1), np.diff(samples.features[later, stamp, :], axis=1)
    )
    others = [i for i in range(len(samples.feature_names)) if i != stamp]
    np.testing.assert_array_equal(held.features[:, others, :], samples.features[:, others, :])
    assert samples.features[later, stamp, -1].min() > last_training_day  # the original is untouched
