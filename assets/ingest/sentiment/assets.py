"""Sentiment ingest: scored text items, their hourly/daily series, and the Fear & Greed index.

There is no offline text corpus, so with no feed, CryptoPanic token or Fear & Greed URL set these
assets store nothing and say so, rather than inventing items.
"""

from urllib.parse import urlsplit

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.contracts import FearGreedTable, SentimentItemsTable, SentimentSeriesTable
from assets.ingest.sentiment.aggregate import SERIES_COLUMNS, aggregate_sentiment
from assets.ingest.sentiment.cryptopanic import fetch_cryptopanic
from assets.ingest.sentiment.fear_greed import fetch_fear_greed
from assets.ingest.sentiment.feeds import fetch_feed
from assets.ingest.sentiment.items import FeedItems
from assets.ingest.sentiment.scoring import score_items
from assets.ingest.store import newest_day, store_load, table_totals
from assets.markdown import markdown_table
from assets.metadata import column_schema
from assets.warehouse import Partition, read_table
from orchestration.resources import SentimentSources, WarehouseResource

CRYPTOPANIC_LOOKBACK = pd.Timedelta(days=7)
CRYPTOPANIC_MAX_PAGES = 10
NO_SOURCE = "no sentiment source configured (MAMBAQUANT_FEEDS, MAMBAQUANT_CRYPTOPANIC_URL)"


def _fetch_all(sources: SentimentSources) -> list[FeedItems]:
    client = sources.http()
    loads = [fetch_feed(client, url, urlsplit(url).hostname or url) for url in sources.feed_urls]
    if sources.cryptopanic_url:
        since = pd.Timestamp.now(tz="UTC") - CRYPTOPANIC_LOOKBACK
        loads.append(
            fetch_cryptopanic(
                client, sources.cryptopanic_url, sources.cryptopanic_token, since, CRYPTOPANIC_MAX_PAGES
            )
        )
    return loads


def _fetched_span(load: FeedItems) -> Partition:
    """The items a fetch replaces: its source, over the time span it returned (older items stay)."""
    source = load.items["source"].iloc[0] if len(load.items) else load.rejected["source"].iloc[0]
    times = load.items["published_at"]
    if times.empty:
        return Partition(
            {"source": source}, "published_at", pd.Timestamp(0, tz="UTC"), pd.Timestamp(0, tz="UTC")
        )
    return Partition(
        {"source": source}, "published_at", times.min(), times.max() + pd.Timedelta(microseconds=1)
    )


@asset(group_name="ingest", kinds={"duckdb"})
def sentiment_items(
    context: AssetExecutionContext, warehouse: WarehouseResource, sentiment_sources: SentimentSources
) -> MaterializeResult:
    """Headlines and posts scored with VADER and the Loughran-McDonald lexicon."""
    loads = [load for load in _fetch_all(sentiment_sources) if len(load.items) or len(load.rejected)]
    if not loads:
        context.log.info(NO_SOURCE)
    with warehouse.get_connection() as conn:
        reports = [
            store_load(
                conn,
                "sentiment_items",
                score_items(load.items),
                SentimentItemsTable,
                _fetched_span(load),
                load.rejected,
            )
            for load in loads
        ]
        totals = table_totals(conn, "sentiment_items")
    metadata = {**totals, "dagster/column_schema": column_schema(SentimentItemsTable)}
    if reports:
        metadata["loads"] = MetadataValue.md(markdown_table(pd.DataFrame(reports)))
    else:
        metadata["note"] = NO_SOURCE
    return MaterializeResult(metadata=metadata)


@asset(group_name="ingest", deps=["sentiment_items"], kinds={"duckdb"})
def sentiment_series(warehouse: WarehouseResource) -> MaterializeResult:
    """Hourly and daily item counts and mean scores, per source and over all sources."""
    with warehouse.get_connection() as conn:
        has_items = table_totals(conn, "sentiment_items")["dagster/row_count"] > 0
        items = read_table(conn, "SELECT * FROM sentiment_items ORDER BY published_at") if has_items else None
        series = (
            pd.concat([aggregate_sentiment(items, interval) for interval in ("1h", "1d")], ignore_index=True)
            if has_items
            else pd.DataFrame(columns=SERIES_COLUMNS)
        )
        report = store_load(conn, "sentiment_series", series, SentimentSeriesTable, Partition())
        totals = table_totals(conn, "sentiment_series")
    return MaterializeResult(
        metadata={**report, **totals, "dagster/column_schema": column_schema(SentimentSeriesTable)}
    )


@asset(group_name="ingest", kinds={"duckdb"})
def fear_greed(
    context: AssetExecutionContext, warehouse: WarehouseResource, sentiment_sources: SentimentSources
) -> MaterializeResult:
    """The Crypto Fear & Greed index, its whole history replaced on each fetch."""
    metadata: dict[str, object] = {"dagster/column_schema": column_schema(FearGreedTable)}
    with warehouse.get_connection() as conn:
        if sentiment_sources.fear_greed_url:
            frame = fetch_fear_greed(sentiment_sources.http(), sentiment_sources.fear_greed_url)
            metadata.update(store_load(conn, "fear_greed", frame, FearGreedTable, Partition()))
            metadata.update(newest_day(conn, "fear_greed", "ts"))
        else:
            context.log.info("MAMBAQUANT_FEAR_GREED_URL not set: nothing fetched")
            metadata["note"] = "MAMBAQUANT_FEAR_GREED_URL not set: nothing fetched"
        metadata.update(table_totals(conn, "fear_greed"))
    return MaterializeResult(metadata=metadata)
