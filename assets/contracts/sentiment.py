"""Contracts of the sentiment tables: scored text items, their time aggregates, Fear & Greed."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts import checks
from assets.contracts.types import Text, UtcTimestamp


class SentimentItemsTable(pa.DataFrameModel):
    """One scored text item (news headline, post) per (source, item_id)."""

    source: Text = pa.Field(str_length={"min_value": 1}, description="feed or API it came from")
    item_id: Text = pa.Field(str_length={"min_value": 1})
    published_at: UtcTimestamp
    title: Text = pa.Field(str_length={"min_value": 1})
    body: Text = pa.Field(description="summary or text; may be empty")
    url: Text
    vader_compound: Series[float] = pa.Field(ge=-1, le=1)
    lm_polarity: Series[float] = pa.Field(ge=-1, le=1, description="Loughran-McDonald (pos-neg)/(pos+neg)")
    lm_subjectivity: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        strict = True
        coerce = True
        unique = ["source", "item_id"]

    @pa.check("published_at", error="published_at not in the future")
    def not_in_future(cls, ts: Series) -> Series[bool]:
        return checks.not_in_future(ts)


class SentimentSeriesTable(pa.DataFrameModel):
    """Mean scores of the items published in each bar; `ts` is the bar's open time."""

    source: Text = pa.Field(str_length={"min_value": 1}, description="a source, or 'all'")
    interval: Text = pa.Field(isin=["1h", "1d"])
    ts: UtcTimestamp
    item_count: Series[int] = pa.Field(gt=0)
    vader_mean: Series[float] = pa.Field(ge=-1, le=1)
    lm_polarity_mean: Series[float] = pa.Field(ge=-1, le=1)

    class Config:
        strict = True
        coerce = True
        unique = ["source", "interval", "ts"]


class FearGreedTable(pa.DataFrameModel):
    """The Crypto Fear & Greed index: one value (0 = extreme fear, 100 = extreme greed) per day."""

    ts: UtcTimestamp = pa.Field(description="day the value describes, midnight UTC")
    value: Series[int] = pa.Field(ge=0, le=100)
    classification: Text = pa.Field(str_length={"min_value": 1})
    released_at: UtcTimestamp = pa.Field(description="when the value became known")

    class Config:
        strict = True
        coerce = True
        unique = ["ts"]

    @pa.dataframe_check(error="released_at >= ts")
    def released_after_the_day_began(cls, frame) -> Series[bool]:
        return frame["released_at"] >= frame["ts"]
