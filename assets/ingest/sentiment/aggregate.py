"""Scored items → mean sentiment per source (and across all sources) per hourly or daily bar."""

from __future__ import annotations

import pandas as pd

ALL_SOURCES = "all"
SERIES_COLUMNS = ["source", "interval", "ts", "item_count", "vader_mean", "lm_polarity_mean"]

# Contract interval names → pandas offset aliases.
_BAR_LENGTHS = {"1h": "h", "1d": "D"}


def aggregate_sentiment(items: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Mean scores of the items published in each bar, in `SentimentSeriesTable` columns.

    An item counts towards the bar that contains its `published_at` (floored to the bar, UTC), so
    `ts` is the bar's open time. A bar's value is only known at its close: a consumer must join it
    at `ts + interval`, never at `ts`, or it uses news published after the moment it predicts
    from. Rows come per source and for all sources together (`source="all"`), only for bars that
    have items, sorted by source then time.
    """
    if interval not in _BAR_LENGTHS:
        raise ValueError(f"interval: expected one of {sorted(_BAR_LENGTHS)}, got {interval!r}")
    if (items["source"] == ALL_SOURCES).any():
        raise ValueError(f"source: {ALL_SOURCES!r} is reserved for the all-sources aggregate")
    bars = items.assign(ts=items["published_at"].dt.floor(_BAR_LENGTHS[interval]))
    both = pd.concat([bars, bars.assign(source=ALL_SOURCES)], ignore_index=True)
    series = (
        both.groupby(["source", "ts"], sort=True)
        .agg(
            item_count=("item_id", "size"),
            vader_mean=("vader_compound", "mean"),
            lm_polarity_mean=("lm_polarity", "mean"),
        )
        .reset_index()
        .assign(interval=interval)
    )
    return series[SERIES_COLUMNS]
