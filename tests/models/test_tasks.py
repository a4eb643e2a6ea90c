"""Regime tasks: samples never see their target, tasks never straddle a split boundary."""

import numpy as np
import pandas as pd
import pytest

from models.tasks import INPUT_COLUMNS, TaskConfig, build_samples, build_tasks, materialize_tasks

CONFIG = TaskConfig(
    window=4,
    support=6,
    query=3,
    train_end=pd.Timestamp("2020-01-05 23:00", tz="UTC"),
    val_end=pd.Timestamp("2020-01-08 23:00", tz="UTC"),
)


def _features(bars: int = 24 * 12) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
    frame = pd.DataFrame({column: rng.normal(0, 1, bars) for column in INPUT_COLUMNS})
    frame["log_return"] = np.r_[np.nan, np.diff(np.log(close))]
    frame["ts"] = pd.date_range("2020-01-01", periods=bars, freq="h", tz="UTC")
    frame["close"] = close
    frame["sentiment"] = np.nan  # a stream with no data
    return frame


def test_samples_end_at_the_decision_bar_and_target_the_next_return():
    features = _features()
    samples = build_samples(features, CONFIG)
    index = 10
    decision = features.index[features["ts"] == samples.ts[index]][0]
    assert samples.targets[index].item() == pytest.approx(
        features["log_return"].iloc[decision + 1] * 100, rel=1e-5
    )
    assert samples.close[index] == features["close"].iloc[decision]
    # The newest input row is the decision bar's own, standardised with training-period statistics.
    train = features[features["ts"] <= CONFIG.train_end]
    column = INPUT_COLUMNS.index("rsi")
    expected = (features["rsi"].iloc[decision] - train["rsi"].mean()) / train["rsi"].std(ddof=0)
    assert samples.inputs[index, -1, column].item() == pytest.approx(expected, rel=1e-4)
    assert not np.isnan(samples.inputs.numpy()).any()  # the empty sentiment stream reads as 0


def test_one_task_per_long_episode_split_by_time():
    features = _features()
    samples = build_samples(features, CONFIG)
    episode = (np.arange(len(samples)) // 12).astype(int)  # an episode every 12 hours
    regimes = pd.DataFrame({"ts": samples.ts, "regime": episode % 2, "episode": episode})
    tasks = build_tasks(samples, regimes, CONFIG)
    assert (tasks["support_end"] < tasks["query_start"]).all()
    assert (tasks[tasks["split"] == "train"]["query_end"] < CONFIG.train_end).all()
    val = tasks[tasks["split"] == "val"]
    assert ((val["support_start"] > CONFIG.train_end) & (val["query_end"] < CONFIG.val_end)).all()
    assert (tasks[tasks["split"] == "test"]["support_start"] > CONFIG.val_end).all()
    assert set(tasks["split"]) == {"train", "val", "test"}
    built = materialize_tasks(samples, tasks)
    assert [len(task.support_y) for task in built] == [CONFIG.support] * len(tasks)
    assert [len(task.query_y) for task in built] == [CONFIG.query] * len(tasks)
