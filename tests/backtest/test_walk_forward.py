"""Walk-forward plans: consecutive windows, and a purged gap between fitted and tested days."""

from datetime import date, timedelta

import pandas as pd
import pytest

from backtest.walk_forward import WalkForwardPlan
from models.splits import window_targets

PLAN = WalkForwardPlan(first_test_day=date(2023, 1, 1), last_day=date(2023, 4, 15), step_days=30, gap_days=14)


def test_windows_step_until_the_data_ends():
    assert PLAN.test_starts() == [date(2023, 1, 1), date(2023, 1, 31), date(2023, 3, 2), date(2023, 4, 1)]


def test_targets_of_a_window_and_the_purged_gap():
    days = pd.Series(pd.date_range("2020-01-01", "2023-04-15", freq="D", tz="UTC"))
    splits = PLAN.splits(date(2020, 1, 1), date(2023, 1, 31))
    targets = window_targets(days, splits, PLAN.window)
    target_days = {name: days.iloc[group["position"]].dt.date for name, group in targets.groupby("split")}
    assert target_days["test"].min() == date(2023, 1, 31)
    assert target_days["test"].max() == date(2023, 3, 1)  # 30 test days
    assert len(target_days["val"]) == PLAN.val_days
    fitted_until = max(target_days["train"].max(), target_days["val"].max())
    first_test_input = date(2023, 1, 31) - timedelta(days=PLAN.window)
    assert (first_test_input - fitted_until).days > PLAN.gap_days


def test_the_last_window_is_cut_at_the_data_end():
    days = pd.Series(pd.date_range("2020-01-01", "2023-04-15", freq="D", tz="UTC"))
    targets = window_targets(days, PLAN.splits(date(2020, 1, 1), date(2023, 4, 1)), PLAN.window)
    test = targets[targets["split"] == "test"]
    assert days.iloc[test["position"]].dt.date.max() == date(2023, 4, 14)


def test_too_little_history_is_refused():
    with pytest.raises(ValueError, match="training days"):
        PLAN.splits(date(2022, 8, 1), date(2023, 1, 1))
