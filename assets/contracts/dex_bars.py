"""Contract of the `dex_bars` table: bars built from the swaps in `dex_trades`."""

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts import checks
from assets.contracts.types import Text, UtcTimestamp


class DexBarsTable(pa.DataFrameModel):
    """One bar per (pool, interval, ts) with order-flow columns; bars exist only where trades happened."""

    pool: Text = pa.Field(str_length={"min_value": 32, "max_value": 44})
    interval: Text = pa.Field(isin=["1m", "1h", "1d"])
    ts: UtcTimestamp = pa.Field(description="bar open time, UTC")
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    vwap: Series[float] = pa.Field(gt=0, description="quote volume / base volume")
    base_volume: Series[float] = pa.Field(gt=0)
    quote_volume: Series[float] = pa.Field(gt=0)
    trade_count: Series[int] = pa.Field(gt=0)
    buy_base_volume: Series[float] = pa.Field(ge=0, description="base bought by traders")
    sell_base_volume: Series[float] = pa.Field(ge=0, description="base sold by traders")
    cvd: Series[float] = pa.Field(description="cumulative (buy - sell) base volume since 00:00 UTC")

    class Config:
        strict = True
        coerce = True
        unique = ["pool", "interval", "ts"]

    @pa.dataframe_check(error="high >= max(open, close)")
    def high_is_highest(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.bar_high_is_highest(frame)

    @pa.dataframe_check(error="low <= min(open, close)")
    def low_is_lowest(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.bar_low_is_lowest(frame)

    @pa.dataframe_check(error="low <= vwap <= high")
    def vwap_inside_range(cls, frame: pd.DataFrame) -> Series[bool]:
        slack = 1e-9 * frame["high"]
        return (frame["vwap"] >= frame["low"] - slack) & (frame["vwap"] <= frame["high"] + slack)

    @pa.dataframe_check(error="buy_base_volume + sell_base_volume == base_volume")
    def flow_adds_up(cls, frame: pd.DataFrame) -> Series[bool]:
        total = frame["buy_base_volume"] + frame["sell_base_volume"]
        return pd.Series(np.isclose(total, frame["base_volume"], rtol=1e-9), frame.index)

    @pa.dataframe_check(error="rows sorted by ts within (pool, interval)")
    def sorted_in_time(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.increasing_within(frame, ["pool", "interval"], "ts")
