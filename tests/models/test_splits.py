from datetime import date

import pandas as pd
import pytest

from models.splits import Split, window_targets


def _days(first: str, count: int) -> pd.Series:
    return pd.Series(pd.date_range(first, periods=count, freq="D", tz="UTC"))


def test_samples_follow_the_published_dataset_length():
    ts = _days("2024-01-01", 10)
    split = Split("test", date(2024, 1, 1), date(2024, 1, 10))
    targets = window_targets(ts, (split,), window=3)
    # len - window - 1 samples: inputs [i, i+3), target i+3, never the split's last bar.
    assert targets["position"].tolist() == [3, 4, 5, 6, 7, 8]
    assert set(targets["split"]) == {"test"}


def test_each_split_windows_only_its_own_days():
    ts = _days("2024-01-01", 12)
    splits = (
        Split("train", date(2024, 1, 1), date(2024, 1, 6)),
        Split("val", date(2024, 1, 7), date(2024, 1, 12)),
    )
    targets = window_targets(ts, splits, window=2)
    assert targets[targets["split"] == "train"]["position"].tolist() == [2, 3, 4]
    assert targets[targets["split"] == "val"]["position"].tolist() == [8, 9, 10]


def test_split_shorter_than_a_window_has_no_samples():
    targets = window_targets(_days("2024-01-01", 3), (Split("test", date(2024, 1, 1), date(2024, 1, 3)),), 5)
    assert targets.empty


def test_gap_in_a_split_is_refused():
    ts = pd.concat([_days("2024-01-01", 3), _days("2024-01-05", 3)], ignore_index=True)
    with pytest.raises(ValueError, match="gap ends at 2024-01-05"):
        window_targets(ts, (Split("test", date(2024, 1, 1), date(2024, 1, 7)),), window=2)
