"""Contract of the `live_forecasts` table: each model's forecast of the bar after the newest one."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class LiveForecastsTable(pa.DataFrameModel):
    """The forecast a signal is made from: its target is not known yet."""

    model: Text = pa.Field(str_length={"min_value": 1})
    symbol: Text = pa.Field(str_length={"min_value": 1})
    ts: UtcTimestamp = pa.Field(description="open time of the forecast bar (the one after data_cutoff)")
    data_cutoff: UtcTimestamp = pa.Field(description="open time of the newest bar the forecast saw")
    previous_close: Series[float] = pa.Field(gt=0, description="close of the newest bar")
    predicted: Series[float] = pa.Field(gt=0)
    run_id: Text = pa.Field(description="training run (see `training_runs`) that made the forecast")

    class Config:
        strict = True
        coerce = True
        unique = ["model", "symbol"]
