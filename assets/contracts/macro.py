"""Contract of the `macro` table: economic series with the time each value was released."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts import checks
from assets.contracts.types import Text, UtcTimestamp


class MacroTable(pa.DataFrameModel):
    """One value per (series_id, period_start, released_at); joins downstream are as-of `released_at`."""

    series_id: Text = pa.Field(str_length={"min_value": 1}, description="e.g. ECB:USD, FRED:CPIAUCSL")
    period_start: UtcTimestamp = pa.Field(description="start of the period the value describes")
    value: Series[float]
    released_at: UtcTimestamp = pa.Field(description="when the value became public (or a safe upper bound)")
    source: Text = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        coerce = True
        unique = ["series_id", "period_start", "released_at"]

    @pa.dataframe_check(error="released_at >= period_start")
    def released_after_period_start(cls, frame) -> Series[bool]:
        return frame["released_at"] >= frame["period_start"]

    @pa.check("released_at", error="released_at not in the future")
    def not_in_future(cls, ts: Series) -> Series[bool]:
        return checks.not_in_future(ts)
