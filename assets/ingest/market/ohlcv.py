"""Market OHLCV ingest: the offline Yahoo BTC-USD daily file into the `ohlcv` table."""

from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.contracts import OhlcvTable
from assets.ingest.market.yahoo import read_yahoo_daily
from assets.metadata import NEWEST_PARTITION_KEY, stored_table_metadata
from assets.validation import validate_rows
from assets.warehouse import Partition, replace_partition
from orchestration.resources import MarketDataFiles, WarehouseResource

BTC_SYMBOL = "BTC-USD"


@asset(group_name="ingest", kinds={"duckdb", "pandas"})
def ohlcv(
    context: AssetExecutionContext, warehouse: WarehouseResource, market_data: MarketDataFiles
) -> MaterializeResult:
    """Daily BTC-USD bars checked against the `ohlcv` contract; bad rows go to `quarantine`."""
    rows = validate_rows(read_yahoo_daily(market_data.btc_usd_daily(), BTC_SYMBOL), OhlcvTable)
    if rows.valid.empty:
        raise ValueError(f"no valid {BTC_SYMBOL} daily bars: {len(rows.rejected)} rows quarantined")
    partition = Partition({"symbol": BTC_SYMBOL, "interval": "1d", "source": "yahoo"})
    with warehouse.get_connection() as conn:
        replace_partition(conn, "ohlcv", rows, partition)
        metadata = stored_table_metadata(conn, "ohlcv", rows, OhlcvTable)
    if len(rows.rejected):
        context.log.warning(f"{len(rows.rejected)} {BTC_SYMBOL} bars quarantined")
    first, last = rows.valid["ts"].iloc[[0, -1]]
    return MaterializeResult(
        metadata={
            **metadata,
            "first_day": first.date().isoformat(),
            NEWEST_PARTITION_KEY: last.date().isoformat(),
        }
    )
