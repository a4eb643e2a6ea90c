"""Contract of the `walk_forward` table: one retrained model's scores on one test window."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp


class WalkForwardTable(pa.DataFrameModel):
    """Forecast errors next to persistence, and trading returns next to buy-and-hold, per window."""

    model: Text = pa.Field(str_length={"min_value": 1})
    symbol: Text = pa.Field(str_length={"min_value": 1})
    window_start: UtcTimestamp = pa.Field(description="first test target day")
    window_end: UtcTimestamp = pa.Field(description="last test target day")
    fitted_until: UtcTimestamp = pa.Field(description="newest target day seen in fitting or validation")
    test_samples: Series[int] = pa.Field(gt=0)
    rmse: Series[float] = pa.Field(ge=0)
    mape: Series[float] = pa.Field(ge=0)
    directional_accuracy: Series[float] = pa.Field(ge=0, le=1)
    persistence_rmse: Series[float] = pa.Field(ge=0)
    vanilla_return: Series[float] = pa.Field(ge=-1, description="no fee, over the window")
    smart_return: Series[float] = pa.Field(ge=-1)
    buy_and_hold_return: Series[float] = pa.Field(ge=-1)
    training_seconds: Series[float] = pa.Field(ge=0)
    run_id: Text

    class Config:
        strict = True
        coerce = True
        unique = ["model", "symbol", "window_start"]
