"""Contracts of the `regimes`, `tasks` and adaptation tables."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp
from models.tasks import TASK_SPLITS


class RegimesTable(pa.DataFrameModel):
    """The regime of each bar (0 = calmest) and its episode (a maximal run of one regime)."""

    symbol: Text = pa.Field(str_length={"min_value": 1})
    interval: Text = pa.Field(isin=["1h", "1d"])
    method: Text = pa.Field(isin=["gmm", "changepoint"])
    ts: UtcTimestamp
    regime: Series[int] = pa.Field(ge=0)
    episode: Series[int] = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "interval", "method", "ts"]


class TasksTable(pa.DataFrameModel):
    """One meta-learning task per regime episode: support and query time ranges, and the embedding."""

    symbol: Text = pa.Field(str_length={"min_value": 1})
    interval: Text = pa.Field(isin=["1h", "1d"])
    method: Text = pa.Field(isin=["gmm", "changepoint"])
    task_id: Series[int] = pa.Field(ge=0)
    regime: Series[int] = pa.Field(ge=0)
    episode: Series[int] = pa.Field(ge=0)
    split: Text = pa.Field(isin=list(TASK_SPLITS))
    support_start: UtcTimestamp
    support_end: UtcTimestamp
    query_start: UtcTimestamp
    query_end: UtcTimestamp
    e_realized_vol: Series[float]
    e_trend: Series[float]
    e_volume_z: Series[float]
    e_sentiment: Series[float]
    e_fear_greed: Series[float]
    e_cpi_yoy: Series[float]
    e_eur_usd: Series[float]

    class Config:
        strict = True
        coerce = True
        unique = ["symbol", "interval", "method", "task_id"]

    @pa.dataframe_check(error="support ends before the query starts")
    def support_before_query(cls, frame) -> Series[bool]:
        return frame["support_end"] < frame["query_start"]


class AdaptationCurvesTable(pa.DataFrameModel):
    """Mean query RMSE (percent returns) of each learner over the test tasks, per adaptation budget."""

    learner: Text = pa.Field(str_length={"min_value": 1})
    axis: Text = pa.Field(isin=["steps", "support"])
    value: Series[int] = pa.Field(ge=0, description="support updates, or support samples")
    query_rmse: Series[float] = pa.Field(ge=0)
    ci_low: Series[float] = pa.Field(nullable=True)
    ci_high: Series[float] = pa.Field(nullable=True)

    class Config:
        strict = True
        coerce = True
        unique = ["learner", "axis", "value"]
