"""What every macro reader shares: reading a source table as text, the `macro` layout, release times.

Release times are where look-ahead bias hides, so they are computed one way for every source: a
wall-clock time in the publisher's own time zone (daylight saving included), converted to UTC.
Values and period dates stay text, so the contract rather than the reader decides which rows are
acceptable and a bad one is quarantined exactly as the source wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import StringIO
from pathlib import Path

import pandas as pd


def read_text_table(source: Path | StringIO, expected: Sequence[str], name: str) -> pd.DataFrame:
    """A CSV with every cell as text (empty cells as ""), refusing it if an expected column is absent."""
    raw = pd.read_csv(source, dtype=str, keep_default_na=False)
    missing = [column for column in expected if column not in raw.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; expected {list(expected)}")
    return raw


def macro_frame(
    series_id: str | pd.Series, period_day: pd.Series, value: pd.Series, released_at: pd.Series, source: str
) -> pd.DataFrame:
    """The `macro` contract's columns; `period_day` (YYYY-MM-DD text) becomes midnight UTC, as text."""
    frame = pd.DataFrame(
        {
            "series_id": series_id,
            "period_start": period_day + "T00:00:00+00:00",
            "value": value,
            "released_at": released_at,
            "source": source,
        }
    )
    return frame.reset_index(drop=True)


def parse_days(text: pd.Series) -> pd.Series:
    """YYYY-MM-DD text as naive midnights; NaT where malformed, so only that row fails validation."""
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def wall_clock_in_utc(day: pd.Series, time_of_day: pd.Timedelta, zone: str) -> pd.Series:
    """The moment a clock in `zone` shows `time_of_day` on each (naive) day, in UTC."""
    return (day + time_of_day).dt.tz_localize(zone).dt.tz_convert("UTC")
