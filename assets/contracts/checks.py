"""Row checks shared by several contracts (bar shape, time order, no future timestamps)."""

import pandas as pd

# A row may be stamped at most this far ahead of "now", never later.
CLOCK_SKEW = pd.Timedelta(minutes=5)


def not_in_future(ts: pd.Series) -> pd.Series:
    """True where the time is not after now (plus a small clock skew)."""
    return ts <= pd.Timestamp.now(tz="UTC") + CLOCK_SKEW


def bar_high_is_highest(frame: pd.DataFrame) -> pd.Series:
    return frame["high"] >= frame[["open", "close"]].max(axis=1)


def bar_low_is_lowest(frame: pd.DataFrame) -> pd.Series:
    return frame["low"] <= frame[["open", "close"]].min(axis=1)


def increasing_within(
    frame: pd.DataFrame, keys: list[str], time_column: str, strict: bool = True
) -> pd.Series:
    """True where a row's time follows the previous row of the same key (rows must arrive sorted)."""
    previous = frame.groupby(keys, sort=False)[time_column].shift(1)
    after = frame[time_column] > previous if strict else frame[time_column] >= previous
    return previous.isna() | after
