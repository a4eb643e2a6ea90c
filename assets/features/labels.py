"""The `labels` asset: triple-barrier and ordinal direction labels of every stored OHLCV series."""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts.labels import LabelsTable
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema, markdown_metadata
from assets.warehouse import Partition, read_table
from backtest.labels import ordinal_direction, triple_barrier
from orchestration.resources import WarehouseResource

# Barrier horizon in bars and the ordinal bands, per bar interval: a day moves more than an hour.
HORIZON = {"1d": 10, "1h": 24}
ORDINAL_BANDS = {"1d": (0.01, 0.03), "1h": (0.002, 0.01)}


def label_series(bars: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Labels of one symbol's bars (sorted by ts)."""
    close, high, low = (bars[column].to_numpy(float) for column in ("close", "high", "low"))
    barriers = triple_barrier(close, high, low, horizon=HORIZON[interval])
    flat, strong = ORDINAL_BANDS[interval]
    return pd.DataFrame(
        {
            "symbol": bars["symbol"].array,
            "interval": interval,
            "ts": bars["ts"].array,
            "volatility": barriers.volatility,
            "triple_barrier": barriers.label,
            "barrier_bars": barriers.touched_after,
            "direction_class": ordinal_direction(close, flat=flat, strong=strong),
        }
    )


@asset(group_name="features", deps=["ohlcv"], kinds={"numba", "duckdb"})
def labels(warehouse: WarehouseResource) -> MaterializeResult:
    """Classifier targets for every symbol and interval in `ohlcv`, each series its own partition."""
    with warehouse.get_connection() as conn:
        bars = read_table(
            conn, "SELECT symbol, interval, ts, high, low, close FROM ohlcv ORDER BY symbol, interval, ts"
        )
        counts = []
        for (symbol, interval), series in bars.groupby(["symbol", "interval"], sort=True):
            frame = label_series(series, interval)
            frame["ts"] = (
                pd.DatetimeIndex(frame["ts"]).tz_convert("UTC") if frame["ts"].dt.tz else frame["ts"]
            )
            store_load(
                conn, "labels", frame, LabelsTable, Partition({"symbol": symbol, "interval": interval})
            )
            counts.append(
                {
                    "symbol": symbol,
                    "interval": interval,
                    **frame["triple_barrier"].value_counts().rename(lambda v: f"barrier {v:+.0f}").to_dict(),
                }
            )
        totals = table_totals(conn, "labels")
    return MaterializeResult(
        metadata={
            **totals,
            "dagster/column_schema": column_schema(LabelsTable),
            "label_counts": markdown_metadata(pd.DataFrame(counts).fillna(0)),
        }
    )
