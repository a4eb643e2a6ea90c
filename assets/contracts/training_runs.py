"""Contract of the `training_runs` table: how each model's current forecasts were produced."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class TrainingRunsTable(pa.DataFrameModel):
    """One row per model and symbol: the latest fit, its cost and the data it saw."""

    run_id: Text = pa.Field(str_length={"min_value": 1}, description="Dagster run id")
    model: Text = pa.Field(str_length={"min_value": 1})
    symbol: Text = pa.Field(str_length={"min_value": 1})
    profile: Text = pa.Field(isin=["quick", "paper"])
    parameters: Series[int] = pa.Field(ge=0)
    training_seconds: Series[float] = pa.Field(ge=0)
    epochs_run: Series[int] = pa.Field(ge=0)
    best_epoch: Series[int] = pa.Field(ge=0)
    data_fingerprint: Text = pa.Field(str_length={"min_value": 1})
    data_cutoff: UtcTimestamp = pa.Field(description="newest target day the model was fitted or validated on")
    trained_at: UtcTimestamp

    class Config:
        strict = True
        coerce = True
        unique = ["model", "symbol"]
