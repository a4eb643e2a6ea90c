"""Contract of the `features` table: indicators and as-of context per bar, known at its close."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class FeaturesTable(pa.DataFrameModel):
    """Null where a trailing window is not full yet or a context series has no value known so far."""

    symbol: Text = pa.Field(str_length={"min_value": 1})
    interval: Text = pa.Field(isin=["1h", "1d"])
    ts: UtcTimestamp = pa.Field(description="bar open time; every value is known at its close")
    close: Series[float] = pa.Field(gt=0)
    log_return: Series[float] = pa.Field(nullable=True)
    realized_vol: Series[float] = pa.Field(ge=0, nullable=True)
    trend: Series[float] = pa.Field(nullable=True, description="mean log return over the window")
    volume_z: Series[float] = pa.Field(nullable=True)
    rsi: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    macd_hist: Series[float] = pa.Field(nullable=True, description="MACD histogram / close")
    bollinger_b: Series[float] = pa.Field(nullable=True)
    adx: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    atr: Series[float] = pa.Field(ge=0, nullable=True, description="ATR / close")
    obv_slope: Series[float] = pa.Field(ge=-1, le=1, nullable=True)
    eur_usd: Series[float] = pa.Field(gt=0, nullable=True, description="ECB reference rate, as of release")
    cpi_yoy: Series[float] = pa.Field(nullable=True, description="US CPI year on year, as of release")
    sentiment: Series[float] = pa.Field(
        ge=-1, le=1, nullable=True, description="VADER mean of the newest bucket"
    )
    fear_greed: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    dex_cvd: Series[float] = pa.Field(nullable=True, description="DEX cumulative volume delta, newest bar")

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "interval", "ts"]
