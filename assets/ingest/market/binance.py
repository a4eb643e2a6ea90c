"""Binance spot klines as `ohlcv` bars: the offline BTCUSDT hourly export and the public REST API.

Both paths give the same frame: `ts` is the bar's open time in UTC, `volume` the quote-asset volume
(USDT), which is what the contract means by volume in quote currency. Values stay as read, text
from the file and the strings Binance sends, so the contract decides which bars are acceptable and
a bad one is quarantined exactly as it came. Nothing is repaired here: the offline file's gaps,
exchange-maintenance bars and odd first bar (see `read_binance_hourly`) are kept as published.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from assets.ingest.http import HttpClient, HttpSourceError

BINANCE_BTCUSDT_HOURLY_FILE = "btcusdt_1h_binance_2017-08-17_2022-06-15.csv.gz"
FILE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume_btc", "volume_usdt", "trade_count")
PRICE_COLUMNS = ("open", "high", "low", "close")
# The leading fields of a /api/v3/klines row that we use (Binance sends 12).
KLINE_FIELDS = ("open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume")
MAX_PAGE_SIZE = 1000  # Binance's cap on `limit`
ISO_UTC = "%Y-%m-%dT%H:%M:%S+00:00"


def read_binance_hourly(path: Path) -> pd.DataFrame:
    """The CryptoDataDownload export of Binance BTCUSDT 1h bars (Unix-second open times) as bars.

    What the shipped file holds, kept as is: 42,287 hourly bars from 2017-08-17 04:00 to 2022-06-15
    00:00 UTC, sorted, with no duplicate hours but 22 hours missing in 10 gaps of 1 to 4 hours
    (the longest: 2017-09-22 20:00-23:00 and 2021-08-13 02:00-05:00); 117 flat zero-volume bars in
    23 runs, the exporter's filler for exchange outages such as the 2018-02-08/09 maintenance
    (33 hours); and a first bar whose open and high (16199.91) are far above every other price of
    that day (about 4,300), which passes the contract because high >= open.
    """
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [column for column in FILE_COLUMNS if column not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing columns {missing}; expected {list(FILE_COLUMNS)}")
    return _bars("BTCUSDT", "1h", raw["timestamp"], "s", raw, raw["volume_usdt"])


def fetch_binance_klines(
    client: HttpClient,
    base_url: str,
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    *,
    page_size: int = MAX_PAGE_SIZE,
) -> pd.DataFrame:
    """Closed bars of `symbol` opening in [`start`, `end`) (timezone-aware), paging by `startTime`.

    A bar still forming (close time not yet past) is dropped: its prices would change after we
    stored them.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be within 1..{MAX_PAGE_SIZE}, got {page_size}")
    url = f"{base_url}/api/v3/klines"
    start_ms, end_ms = _epoch_ms(start, "start"), _epoch_ms(end, "end")
    rows: list[list] = []
    cursor = start_ms
    while cursor < end_ms:
        params = {
            "symbol": symbol,
            "interval": interval,
            "startTime": cursor,
            "endTime": end_ms - 1,
            "limit": page_size,
        }
        page = _klines(url, client.get_json(url, params=params))
        rows.extend(page)
        if len(page) < page_size:
            break
        next_cursor = page[-1][0] + 1
        if next_cursor <= cursor:
            raise HttpSourceError(f"{url}: page starting at {cursor} did not move past it; stopping")
        cursor = next_cursor
    raw = pd.DataFrame([row[: len(KLINE_FIELDS)] for row in rows], columns=list(KLINE_FIELDS))
    closed = raw[raw["close_time"] < time.time() * 1000].astype(str)
    return _bars(symbol, interval, closed["open_time"], "ms", closed, closed["quote_volume"])


def _klines(url: str, payload: object) -> list[list]:
    """The page's rows, or a clear error (Binance's `{"code", "msg"}` included) if it is not klines."""
    if isinstance(payload, list) and all(_is_kline(row) for row in payload):
        return payload
    raise HttpSourceError(
        f"{url}: expected a JSON array of klines [openTime, open, high, low, close, volume, closeTime, "
        f"quoteAssetVolume, ...] with integer times, got {str(payload)[:200]!r}"
    )


def _is_kline(row: object) -> bool:
    return (
        isinstance(row, list)
        and len(row) >= len(KLINE_FIELDS)
        and isinstance(row[KLINE_FIELDS.index("open_time")], int)
        and isinstance(row[KLINE_FIELDS.index("close_time")], int)
    )


def _epoch_ms(moment: datetime, name: str) -> int:
    stamp = pd.Timestamp(moment)
    if stamp.tzinfo is None:
        raise ValueError(f"{name}={moment!r} is naive; expected a timezone-aware time (e.g. UTC)")
    return stamp.value // 1_000_000


def _bars(
    symbol: str, interval: str, open_time: pd.Series, unit: str, prices: pd.DataFrame, volume: pd.Series
) -> pd.DataFrame:
    """Bars sorted by open time. An unreadable open time stays as written, for validation to quarantine."""
    opened = pd.to_datetime(pd.to_numeric(open_time, errors="coerce"), unit=unit, utc=True)
    frame = pd.DataFrame(
        {
            "symbol": symbol,
            "interval": interval,
            "ts": opened.dt.strftime(ISO_UTC).where(opened.notna(), open_time),
            **{column: prices[column] for column in PRICE_COLUMNS},
            "volume": volume,
            "source": "binance",
        }
    )
    order = opened.sort_values(kind="stable", na_position="last").index
    return frame.loc[order].reset_index(drop=True)
