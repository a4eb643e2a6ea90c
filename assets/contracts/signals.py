"""Contract of the `signals` table: target positions made from the newest forecasts, with provenance."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class SignalsTable(pa.DataFrameModel):
    """One row per symbol, forecast bar, model and strategy; older rows stay as the signal history."""

    symbol: Text = pa.Field(str_length={"min_value": 1})
    ts: UtcTimestamp = pa.Field(description="open time of the forecast bar the signal trades into")
    model: Text = pa.Field(str_length={"min_value": 1})
    strategy: Text = pa.Field(str_length={"min_value": 1})
    target_position: Series[float] = pa.Field(ge=-1, le=1, description="fraction of equity; < 0 is short")
    confidence: Series[float] = pa.Field(ge=0, le=1, description="P(the forecast's direction is right)")
    expected_return: Series[float] = pa.Field(description="forecast / last close - 1")
    price: Series[float] = pa.Field(gt=0, description="last close, the price the signal was made at")
    forecast: Series[float] = pa.Field(gt=0)
    data_cutoff: UtcTimestamp = pa.Field(description="open time of the newest bar the forecast saw")
    run_id: Text = pa.Field(description="training run that made the forecast (see `training_runs`)")
    generated_at: UtcTimestamp

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "ts", "model", "strategy"]
