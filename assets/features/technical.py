"""Indicators and as-of joined context for each bar, all known at the bar's close.

Indicators come from the `ta` library (RSI, MACD, Bollinger %B, ADX, ATR, OBV), turned scale-free
where they are in price or volume units (ATR and the MACD histogram over the close, OBV's change over
the window's volume), so one model can read every price level. Realised volatility, trend and a
volume z-score use the same trailing window.

Context series are joined as of the bar's *close* (open time + interval) by the time each value
became known: macro values by their release time, sentiment buckets and DEX bars by their end.
A value released after the close never reaches the bar (DESIGN.md: no look-ahead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import ta

INTERVALS = {"1h": pd.Timedelta(hours=1), "1d": pd.Timedelta(days=1)}
# Trailing window of the indicators per bar interval: a day of hours, two weeks of days.
WINDOWS = {"1h": 24, "1d": 14}
INDICATOR_COLUMNS = (
    "log_return", "realized_vol", "trend", "volume_z", "rsi", "macd_hist", "bollinger_b", "adx", "atr",
    "obv_slope",
)  # fmt: skip
CONTEXT_COLUMNS = ("eur_usd", "cpi_yoy", "sentiment", "fear_greed", "dex_cvd")
EUR_USD_SERIES = "ECB:EURUSD"
CPI_SERIES = "BLS:CUSR0000SA0"


def indicators(bars: pd.DataFrame, window: int) -> pd.DataFrame:
    """Scale-free indicators of one series' bars (ts, open, high, low, close, volume), sorted by ts."""
    close, high, low, volume = (bars[c].astype(float) for c in ("close", "high", "low", "volume"))
    log_return = np.log(close).diff()
    position = np.arange(len(bars))
    # `ta` writes 0, not NaN, where ATR (its first window - 1 bars) and ADX (2 * window - 1) are not
    # defined yet; a 0 would pass for the calmest market on record.
    atr = ta.volatility.AverageTrueRange(high, low, close, window=window).average_true_range()
    adx = ta.trend.ADXIndicator(high, low, close, window=window).adx()
    volume_mean = volume.rolling(window).mean()
    obv = ta.volume.OnBalanceVolumeIndicator(close, volume).on_balance_volume()
    return pd.DataFrame(
        {
            "log_return": log_return,
            "realized_vol": log_return.rolling(window).std(),
            "trend": log_return.rolling(window).mean(),
            "volume_z": (volume - volume_mean) / volume.rolling(window).std(),
            "rsi": ta.momentum.RSIIndicator(close, window=window).rsi() / 100.0,
            "macd_hist": ta.trend.MACD(close).macd_diff() / close,
            "bollinger_b": ta.volatility.BollingerBands(close, window=20).bollinger_pband(),
            "adx": adx.where(position >= 2 * window - 1) / 100.0,
            "atr": atr.where(position >= window - 1) / close,
            "obv_slope": obv.diff(window) / volume.rolling(window).sum(),
        },
        index=bars.index,
    )


def asof_context(
    bar_close: pd.Series, macro: pd.DataFrame, sentiment: pd.DataFrame, fear_greed: pd.DataFrame,
    dex: pd.DataFrame,
) -> pd.DataFrame:  # fmt: skip
    """The newest value of each context series known at each bar's close (NaN before the first).

    `macro`: series_id, period_start, value, released_at. `sentiment`: known_at, vader_mean.
    `fear_greed`: released_at, value. `dex`: known_at, cvd.
    """
    frame = pd.DataFrame({"known_at": bar_close.to_numpy()})
    frame["_order"] = np.arange(len(frame))
    joined = frame.sort_values("known_at")
    eur_usd = macro[macro["series_id"] == EUR_USD_SERIES][["released_at", "value"]]
    cpi = macro[macro["series_id"] == CPI_SERIES].sort_values("period_start")
    cpi = cpi.assign(value=cpi["value"] / cpi["value"].shift(12) - 1.0)[["released_at", "value"]].dropna()
    for column, series, time_column, value_column in (
        ("eur_usd", eur_usd, "released_at", "value"),
        ("cpi_yoy", cpi, "released_at", "value"),
        ("sentiment", sentiment, "known_at", "vader_mean"),
        ("fear_greed", fear_greed, "released_at", "value"),
        ("dex_cvd", dex, "known_at", "cvd"),
    ):
        right = series[[time_column, value_column]].rename(columns={time_column: "_at", value_column: column})
        right = right.dropna().sort_values("_at")
        right["_at"] = pd.to_datetime(right["_at"], utc=True).astype(joined["known_at"].dtype)
        right[column] = right[column].astype(float)
        joined = pd.merge_asof(joined, right, left_on="known_at", right_on="_at", direction="backward")
        joined = joined.drop(columns="_at")
    return joined.sort_values("_order").drop(columns=["_order", "known_at"]).reset_index(drop=True)
