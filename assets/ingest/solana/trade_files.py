"""Import DEX trades exported elsewhere (CSV or Parquet) into the `dex_trades` contract's columns.

Values are handed over as read (text from CSV), so the contract validation of the caller decides
which rows are bad and quarantines them as they appeared in the file. The one exception is
`block_time`: coercion would read a time without a UTC offset as UTC, silently shifting every trade
of an export written in local time, so such times refuse the file instead of being guessed at.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from assets.ingest.solana.swaps import TRADE_COLUMNS

logger = logging.getLogger(__name__)

_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": lambda path: pd.read_csv(path, dtype=str, keep_default_na=False),
    ".parquet": pd.read_parquet,
}
_UNIX_SECONDS = re.compile(r"\d+")
_NO_ZONE = object()  # a readable time without a UTC offset


def read_trade_file(path: Path) -> pd.DataFrame:
    """The file's trades in the contract's columns; `block_time` as UTC where its zone is known."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(f"{path.name}: unsupported suffix {path.suffix!r}; expected one of {list(_READERS)}")
    raw = reader(path)
    missing = [column for column in TRADE_COLUMNS if column not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}; expected {list(TRADE_COLUMNS)}")
    extra = [column for column in raw.columns if column not in TRADE_COLUMNS]
    if extra:
        logger.info("%s: dropping columns %s, which the dex_trades contract does not have", path.name, extra)
    frame = raw[list(TRADE_COLUMNS)].copy()
    frame["block_time"] = _utc_block_times(frame["block_time"], path)
    return frame


def _utc_block_times(column: pd.Series, path: Path) -> pd.Series:
    """Unix seconds and times with an offset as UTC; unreadable values stay as read for validation.

    A naive datetime column (Parquet) is passed on untouched: the contract validation refuses it.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert("UTC")
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return pd.to_datetime(column, unit="s", utc=True)
    if pd.api.types.is_datetime64_dtype(column):
        return column
    times = column.map(_utc_time)
    naive = column[times.map(lambda value: value is _NO_ZONE)]
    if not naive.empty:
        raise ValueError(
            f"{path.name}: block_time without a UTC offset in {len(naive)} row(s), e.g. {naive.iloc[0]!r}; "
            "expected ISO 8601 times with an offset or Unix seconds"
        )
    if times.map(lambda value: isinstance(value, pd.Timestamp)).all():
        return pd.to_datetime(times, utc=True)
    return times


def _utc_time(value: object) -> object:
    """One `block_time` as a UTC Timestamp, `_NO_ZONE` for a zoneless time, else the value as read."""
    is_integer = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if is_integer or (isinstance(value, str) and _UNIX_SECONDS.fullmatch(value.strip())):
        return pd.Timestamp(int(value), unit="s", tz="UTC")
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return value
    if stamp is pd.NaT:
        return value
    return stamp.tz_convert("UTC") if stamp.tzinfo is not None else _NO_ZONE
