"""Bar aggregates: counts and means on a hand-computed case, bucketing by the bar containing each item."""

import pandas as pd
import pytest

from assets.contracts import SentimentSeriesTable
from assets.ingest.sentiment.aggregate import SERIES_COLUMNS, aggregate_sentiment
from assets.validation import validate_rows


def _scored(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """Scored items from (source, published_at, vader, lm) tuples; the rest does not matter here."""
    return pd.DataFrame(
        {
            "source": [row[0] for row in rows],
            "item_id": [f"i{n}" for n in range(len(rows))],
            "published_at": pd.to_datetime([row[1] for row in rows], utc=True, format="ISO8601"),
            "title": "t",
            "body": "",
            "url": "",
            "vader_compound": [row[2] for row in rows],
            "lm_polarity": [row[3] for row in rows],
            "lm_subjectivity": 0.0,
        }
    )


ITEMS = _scored(
    [
        ("wire", "2024-03-01T10:05:00Z", 0.5, 1.0),
        ("wire", "2024-03-01T10:59:59.999Z", -0.1, 0.0),
        ("journal", "2024-03-01T10:30:00Z", 0.3, -1.0),
        ("wire", "2024-03-01T11:00:00Z", -0.8, -1.0),
        ("journal", "2024-03-01T13:45:00+02:00", 0.0, 0.0),  # 11:45 UTC
    ]
)


def _bars(series: pd.DataFrame) -> list[tuple]:
    return [
        (
            row.source,
            row.ts.strftime("%m-%d %H:%M"),
            row.item_count,
            round(row.vader_mean, 6),
            row.lm_polarity_mean,
        )
        for row in series.itertuples()
    ]


def test_hourly_counts_and_means_per_source_and_all():
    series = aggregate_sentiment(ITEMS, "1h")
    assert list(series.columns) == SERIES_COLUMNS
    assert (series["interval"] == "1h").all()
    assert _bars(series) == [
        ("all", "03-01 10:00", 3, 0.233333, 0.0),  # (0.5 - 0.1 + 0.3) / 3, (1 + 0 - 1) / 3
        ("all", "03-01 11:00", 2, -0.4, -0.5),  # (-0.8 + 0) / 2, (-1 + 0) / 2
        ("journal", "03-01 10:00", 1, 0.3, -1.0),
        ("journal", "03-01 11:00", 1, 0.0, 0.0),
        ("wire", "03-01 10:00", 2, 0.2, 0.5),
        ("wire", "03-01 11:00", 1, -0.8, -1.0),
    ]
    assert validate_rows(series, SentimentSeriesTable).rejected.empty


def test_an_item_on_the_hour_opens_the_next_bar():
    series = aggregate_sentiment(ITEMS[ITEMS["source"] == "wire"], "1h").set_index(["source", "ts"])
    assert (
        series.loc[("wire", pd.Timestamp("2024-03-01 10:00", tz="UTC")), "item_count"] == 2
    )  # 10:59:59.999 in
    assert series.loc[("wire", pd.Timestamp("2024-03-01 11:00", tz="UTC")), "item_count"] == 1  # 11:00:00 out


def test_daily_bars_are_utc_days_and_skip_days_without_items():
    items = _scored(
        [
            ("wire", "2024-03-01T23:30:00-05:00", 0.4, 1.0),  # 04:30 UTC on 2 March
            ("wire", "2024-03-02T00:00:00Z", 0.2, 0.0),
            ("wire", "2024-03-04T12:00:00Z", -0.6, -1.0),
        ]
    )
    series = aggregate_sentiment(items, "1d")
    assert _bars(series[series["source"] == "wire"]) == [
        ("wire", "03-02 00:00", 2, 0.3, 0.5),
        ("wire", "03-04 00:00", 1, -0.6, -1.0),
    ]
    assert validate_rows(series, SentimentSeriesTable).rejected.empty


def test_no_items_give_an_empty_series():
    series = aggregate_sentiment(ITEMS.iloc[:0], "1d")
    assert series.empty and list(series.columns) == SERIES_COLUMNS
    assert validate_rows(series, SentimentSeriesTable).valid.empty


def test_unknown_interval_is_refused():
    with pytest.raises(ValueError, match=r"interval: expected one of \['1d', '1h'\], got '5m'"):
        aggregate_sentiment(ITEMS, "5m")


def test_a_source_named_all_is_refused():
    with pytest.raises(ValueError, match="source: 'all' is reserved"):
        aggregate_sentiment(ITEMS.assign(source="all"), "1h")
