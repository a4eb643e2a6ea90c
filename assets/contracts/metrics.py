"""Contract of the `metrics` table: forecast errors per model, symbol and split."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class MetricsTable(pa.DataFrameModel):
    """Point-forecast errors; MAPE is in percent."""

    model: Text = pa.Field(str_length={"min_value": 1})
    symbol: Text = pa.Field(str_length={"min_value": 1})
    split: Text = pa.Field(isin=["train", "val", "test"])
    samples: Series[int] = pa.Field(gt=0)
    rmse: Series[float] = pa.Field(ge=0)
    mape: Series[float] = pa.Field(ge=0, description="mean absolute percentage error, %")
    mae: Series[float] = pa.Field(ge=0)
    directional_accuracy: Series[float] = pa.Field(
        ge=0, le=1, description="share of samples whose forecast moves from the previous close the right way"
    )
    parameters: Series[int] = pa.Field(ge=0)
    training_seconds: Series[float] = pa.Field(ge=0)
    computed_at: UtcTimestamp

    class Config:
        strict = True
        coerce = True
        unique = ["model", "symbol", "split"]
