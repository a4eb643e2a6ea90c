"""Contract of the `predictions` table: one forecast per model, symbol and target bar."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class PredictionsTable(pa.DataFrameModel):
    """A model's forecast of a bar's close next to the realised close, labelled with its split."""

    model: Text = pa.Field(str_length={"min_value": 1})
    symbol: Text = pa.Field(str_length={"min_value": 1})
    split: Text = pa.Field(isin=["train", "val", "test"])
    ts: UtcTimestamp = pa.Field(description="open time of the forecast bar, UTC")
    previous_close: Series[float] = pa.Field(gt=0, description="last close known when forecasting")
    actual: Series[float] = pa.Field(gt=0)
    predicted: Series[float] = pa.Field(nullable=False)
    run_id: Text = pa.Field(description="training run (see `training_runs`) that made the forecast")

    class Config:
        strict = True
        coerce = True
        unique = ["model", "symbol", "ts"]
