"""Contract of the `labels` table: classifier targets per bar (they look ahead by design)."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class LabelsTable(pa.DataFrameModel):
    """Triple-barrier outcome and 5-class direction of each bar; null where the future is not stored."""

    symbol: Text = pa.Field(str_length={"min_value": 1})
    interval: Text = pa.Field(isin=["1h", "1d"])
    ts: UtcTimestamp
    volatility: Series[float] = pa.Field(ge=0, nullable=True, description="EWM std of returns, known at ts")
    triple_barrier: Series[float] = pa.Field(isin=[-1, 0, 1], nullable=True)
    barrier_bars: Series[float] = pa.Field(ge=1, nullable=True, description="bars until the deciding barrier")
    direction_class: Series[float] = pa.Field(
        isin=[0, 1, 2, 3, 4], nullable=True, description="strong down, down, flat, up, strong up (next bar)"
    )

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "interval", "ts"]
