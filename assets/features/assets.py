"""The `features` asset: indicators and as-of joined context for every stored OHLCV series."""

import duckdb
import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts.features import FeaturesTable
from assets.features.technical import INTERVALS, WINDOWS, asof_context, indicators
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema
from assets.warehouse import Partition, read_table, table_exists
from orchestration.resources import WarehouseResource

# The context each stream offers; a stream that never stored anything contributes no rows.
CONTEXT_QUERIES = {
    "macro": (
        "SELECT series_id, period_start, value, released_at FROM macro",
        ["series_id", "period_start", "value", "released_at"],
    ),
    "fear_greed": ("SELECT released_at, value FROM fear_greed", ["released_at", "value"]),
    "sentiment_series": (
        "SELECT interval, ts, vader_mean FROM sentiment_series WHERE source = 'all'",
        ["interval", "ts", "vader_mean"],
    ),
    "dex_bars": (
        "SELECT interval, ts, sum(cvd) AS cvd FROM dex_bars GROUP BY interval, ts",
        ["interval", "ts", "cvd"],
    ),
}


def read_context(conn: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    return {
        table: read_table(conn, sql) if table_exists(conn, table) else pd.DataFrame(columns=columns)
        for table, (sql, columns) in CONTEXT_QUERIES.items()
    }


def _known_at_close(frame: pd.DataFrame, interval: str) -> pd.DataFrame:
    """A bucketed series of one interval, timed by the end of each bucket."""
    rows = frame[frame["interval"] == interval]
    return rows.assign(known_at=pd.to_datetime(rows["ts"], utc=True) + INTERVALS[interval])


@asset(
    group_name="features",
    deps=["ohlcv", "macro", "sentiment_series", "fear_greed", "dex_bars"],
    kinds={"pandas", "duckdb"},
)
def features(warehouse: WarehouseResource) -> MaterializeResult:
    """Indicators per symbol and interval of `ohlcv`, with macro, sentiment and DEX context at each close."""
    with warehouse.get_connection() as conn:
        bars = read_table(
            conn, "SELECT symbol, interval, ts, open, high, low, close, volume FROM ohlcv ORDER BY ALL"
        )
        context = read_context(conn)
        for (symbol, interval), series in bars.groupby(["symbol", "interval"], sort=True):
            series = series.reset_index(drop=True)
            known = asof_context(
                series["ts"] + INTERVALS[interval],
                context["macro"],
                _known_at_close(context["sentiment_series"], interval),
                context["fear_greed"],
                _known_at_close(context["dex_bars"], interval),
            )
            frame = pd.concat(
                [series[["symbol", "interval", "ts", "close"]], indicators(series, WINDOWS[interval]), known],
                axis=1,
            )
            partition = Partition({"symbol": symbol, "interval": interval})
            stored = store_load(conn, "features", frame, FeaturesTable, partition)
        totals = table_totals(conn, "features")
    return MaterializeResult(
        metadata={**stored, **totals, "dagster/column_schema": column_schema(FeaturesTable)}
    )
