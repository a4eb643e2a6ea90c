"""Reader for Yahoo Finance daily bars in the CSV layout published with the CryptoMamba code."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EXPECTED_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def read_yahoo_daily(path: Path, symbol: str) -> pd.DataFrame:
    """Load the file into the `ohlcv` contract's columns, sorted by time.

    `ts` comes from the `date` column (midnight UTC, the day Yahoo's crypto bars cover). The file's
    own `timestamp` column is that midnight in US/Pacific (07:00 UTC), an artefact of the machine
    that downloaded it, so it is not used. Values are left as read: the contract, not this reader,
    decides which rows are acceptable, so values stay text until it coerces them and a bad one is
    quarantined exactly as it appeared in the file.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [column for column in EXPECTED_COLUMNS if column not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}; expected {list(EXPECTED_COLUMNS)}")
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": "1d",
            "ts": raw["date"] + "T00:00:00+00:00",
            **{column: raw[column] for column in EXPECTED_COLUMNS[1:]},
            "source": "yahoo",
        }
    )
    day = pd.to_datetime(raw["date"], format="%Y-%m-%d", utc=True, errors="coerce")
    ordered = frame.assign(_day=day).sort_values("_day", kind="stable", na_position="last")
    return ordered.drop(columns="_day").reset_index(drop=True)
