"""Regime tasks for meta-learning: each regime episode becomes a support set and a query set.

A sample at bar t is the `window` bars of standardised features up to t, with the next bar's log
return (in percent) as target; it belongs to the episode of bar t. A task is an episode's first
`support` samples (to adapt on) and the next `query` samples (to score the adapted model on).
Its embedding is the mean of the support bars' standardised context (volatility, trend, volume,
sentiment, macro): what the hypernetwork sees of the task before any gradient step.

Tasks are split by time: train tasks end by `train_end`, validation tasks lie in
(`train_end`, `val_end`], test tasks start after `val_end`; a task straddling a boundary is dropped
rather than let it leak across. The feature scaler is fitted on the bars up to `train_end` only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from assets.features.technical import CONTEXT_COLUMNS, INDICATOR_COLUMNS

INPUT_COLUMNS = (*INDICATOR_COLUMNS, *CONTEXT_COLUMNS)
EMBEDDING_COLUMNS = ("realized_vol", "trend", "volume_z", "sentiment", "fear_greed", "cpi_yoy", "eur_usd")
TASK_SPLITS = ("train", "val", "test")
# For the shipped Binance hourly file (2017-08..2022-06): test tasks are the last nine months.
TRAIN_END = pd.Timestamp("2020-12-31 23:00", tz="UTC")
VAL_END = pd.Timestamp("2021-08-31 23:00", tz="UTC")


@dataclass(frozen=True)
class TaskConfig:
    window: int = 24
    support: int = 48
    query: int = 24
    train_end: pd.Timestamp = TRAIN_END
    val_end: pd.Timestamp = VAL_END


@dataclass(frozen=True)
class RegimeSamples:
    """Every sample of one series, in time order."""

    inputs: torch.Tensor  # (samples, window, features), float32, standardised
    targets: torch.Tensor  # (samples,): next bar's log return, percent
    close: np.ndarray  # (samples,): close of the decision bar
    ts: pd.DatetimeIndex  # decision bar of each sample
    embedding: np.ndarray  # (samples, embedding columns): standardised context at the decision bar

    def __len__(self) -> int:
        return len(self.targets)


def build_samples(features: pd.DataFrame, config: TaskConfig) -> RegimeSamples:
    """Samples from one series' `features` rows (sorted by ts)."""
    frame = features.reset_index(drop=True)
    fitted = frame["ts"] <= config.train_end
    values = frame[list(INPUT_COLUMNS)].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a context stream with no data: all NaN, filled 0
        mean = np.nanmean(values[fitted.to_numpy()], axis=0)
        spread = np.nanstd(values[fitted.to_numpy()], axis=0)
    scaled = np.nan_to_num((values - np.nan_to_num(mean)) / np.where(spread > 0, spread, 1.0))
    complete = frame[list(INDICATOR_COLUMNS)].notna().all(axis=1).to_numpy()
    next_return = np.r_[frame["log_return"].to_numpy(float)[1:], np.nan] * 100.0
    first = int(np.argmax(complete)) + config.window - 1
    decisions = np.arange(first, len(frame) - 1)
    decisions = decisions[complete[decisions] & np.isfinite(next_return[decisions])]
    rows = decisions[:, None] - config.window + 1 + np.arange(config.window)[None, :]
    embedding_index = [INPUT_COLUMNS.index(name) for name in EMBEDDING_COLUMNS]
    return RegimeSamples(
        inputs=torch.as_tensor(scaled[rows], dtype=torch.float32),
        targets=torch.as_tensor(next_return[decisions], dtype=torch.float32),
        close=frame["close"].to_numpy(float)[decisions],
        ts=pd.DatetimeIndex(frame["ts"].iloc[decisions]),
        embedding=scaled[decisions][:, embedding_index],
    )


def build_tasks(samples: RegimeSamples, regimes: pd.DataFrame, config: TaskConfig) -> pd.DataFrame:
    """One task per episode long enough for support + query; `regimes`: ts, regime, episode."""
    labelled = pd.DataFrame({"ts": samples.ts, "sample": np.arange(len(samples))}).merge(regimes, on="ts")
    rows = []
    for episode, group in labelled.groupby("episode", sort=True):
        indices = group["sample"].to_numpy()
        if len(indices) < config.support + config.query:
            continue
        support, query = indices[: config.support], indices[config.support : config.support + config.query]
        split = _split_of(samples.ts[support[0]], samples.ts[query[-1]], config)
        if split is None:
            continue
        rows.append(
            {
                "task_id": int(episode),
                "regime": int(group["regime"].iloc[0]),
                "episode": int(episode),
                "split": split,
                "support_start": samples.ts[support[0]],
                "support_end": samples.ts[support[-1]],
                "query_start": samples.ts[query[0]],
                "query_end": samples.ts[query[-1]],
                **{
                    f"e_{name}": float(value)
                    for name, value in zip(EMBEDDING_COLUMNS, samples.embedding[support].mean(0), strict=True)
                },
            }
        )
    return pd.DataFrame(rows)


def _split_of(first: pd.Timestamp, last: pd.Timestamp, config: TaskConfig) -> str | None:
    # A query's last target is the bar after its last decision, so it must end an hour (a bar) early.
    if last < config.train_end:
        return "train"
    if first > config.train_end and last < config.val_end:
        return "val"
    if first > config.val_end:
        return "test"
    return None


@dataclass(frozen=True)
class Task:
    """One task's tensors."""

    task_id: int
    embedding: torch.Tensor  # (embedding columns,)
    support_x: torch.Tensor
    support_y: torch.Tensor
    query_x: torch.Tensor
    query_y: torch.Tensor
    query_close: np.ndarray


def materialize_tasks(samples: RegimeSamples, tasks: pd.DataFrame) -> list[Task]:
    """The tensors of each row of a `tasks` table (looked up by its support and query time ranges)."""
    position = pd.Series(np.arange(len(samples)), index=samples.ts)
    built = []
    for row in tasks.itertuples(index=False):
        support = position.loc[row.support_start : row.support_end].to_numpy()
        query = position.loc[row.query_start : row.query_end].to_numpy()
        embedding = [getattr(row, f"e_{name}") for name in EMBEDDING_COLUMNS]
        built.append(
            Task(
                task_id=int(row.task_id),
                embedding=torch.tensor(embedding, dtype=torch.float32),
                support_x=samples.inputs[support],
                support_y=samples.targets[support],
                query_x=samples.inputs[query],
                query_y=samples.targets[query],
                query_close=samples.close[query],
            )
        )
    return built
