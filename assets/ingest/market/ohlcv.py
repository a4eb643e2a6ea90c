"""Market OHLCV ingest: Yahoo BTC-USD daily and Binance BTCUSDT hourly into the `ohlcv` table."""

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.contracts import OhlcvTable
from assets.ingest.market.binance import fetch_binance_klines, read_binance_hourly
from assets.ingest.market.yahoo import read_yahoo_daily
from assets.ingest.store import newest_day, store_load, table_totals
from assets.markdown import markdown_table
from assets.metadata import column_schema
from assets.warehouse import Partition
from orchestration.resources import BTC_USD_DAILY_FILE, BTCUSDT_HOURLY_FILE, MarketSources, WarehouseResource

BTC_SYMBOL = "BTC-USD"
BINANCE_SYMBOL = "BTCUSDT"
# The shipped hourly file ends here; the online loader continues from this bar on.
BINANCE_FILE_END = pd.Timestamp("2022-06-15T00:00:00Z")


def _series(symbol: str, interval: str, source: str) -> Partition:
    return Partition({"symbol": symbol, "interval": interval, "source": source})


@asset(group_name="ingest", kinds={"duckdb", "pandas"})
def ohlcv(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_sources: MarketSources
) -> MaterializeResult:
    """Bars per (symbol, interval, source), each series replaced whole; bad rows go to `quarantine`."""
    loads = [
        (
            _series(BTC_SYMBOL, "1d", "yahoo"),
            read_yahoo_daily(market_sources.path(BTC_USD_DAILY_FILE), BTC_SYMBOL),
        ),
        (
            _series(BINANCE_SYMBOL, "1h", "binance"),
            read_binance_hourly(market_sources.path(BTCUSDT_HOURLY_FILE)),
        ),
    ]
    if market_sources.binance_url:
        online = fetch_binance_klines(
            market_sources.http(),
            market_sources.binance_url,
            BINANCE_SYMBOL,
            "1h",
            BINANCE_FILE_END,
            pd.Timestamp.now(tz="UTC"),
        )
        loads.append((_series(BINANCE_SYMBOL, "1h", "binance-api"), online.assign(source="binance-api")))
    with warehouse.get_connection() as conn:
        reports = [store_load(conn, "ohlcv", frame, OhlcvTable, partition) for partition, frame in loads]
        totals = {**table_totals(conn, "ohlcv"), **newest_day(conn, "ohlcv", "ts")}
    for report in reports:
        if report["rows_quarantined"]:
            context.log.warning(f"{report['partition']}: {report['rows_quarantined']} rows quarantined")
    return MaterializeResult(
        metadata={
            **totals,
            "loads": MetadataValue.md(markdown_table(pd.DataFrame(reports))),
            "dagster/column_schema": column_schema(OhlcvTable),
        }
    )
