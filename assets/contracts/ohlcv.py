"""Contract of the `ohlcv` table: market bars from exchanges and data vendors."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts import checks
from assets.contracts.types import Text, UtcTimestamp


class OhlcvTable(pa.DataFrameModel):
    """One bar per (symbol, interval, ts); `ts` is the bar's open time in UTC."""

    symbol: Text = pa.Field(str_length={"min_value": 1}, description="instrument, e.g. BTC-USD")
    interval: Text = pa.Field(isin=["1m", "1h", "1d"], description="bar length")
    ts: UtcTimestamp = pa.Field(description="bar open time, UTC")
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    volume: Series[float] = pa.Field(ge=0, description="traded volume in quote currency")
    source: Text = pa.Field(str_length={"min_value": 1}, description="where the bar came from")

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "interval", "ts"]

    @pa.dataframe_check(error="high >= max(open, close)")
    def high_is_highest(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.bar_high_is_highest(frame)

    @pa.dataframe_check(error="low <= min(open, close)")
    def low_is_lowest(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.bar_low_is_lowest(frame)

    @pa.check("ts", error="ts not in the future")
    def not_in_future(cls, ts: Series) -> Series[bool]:
        return checks.not_in_future(ts)

    @pa.dataframe_check(error="rows sorted by ts within (symbol, interval)")
    def sorted_in_time(cls, frame: pd.DataFrame) -> Series[bool]:
        return checks.increasing_within(frame, ["symbol", "interval"], "ts")
