"""The `metrics` table: RMSE, MAPE and MAE per model, symbol and split, from the `predictions` table."""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import MetricsTable
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema, markdown_metadata
from assets.warehouse import Partition, read_table
from models.metrics import forecast_errors
from orchestration.resources import WarehouseResource

SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}


def metrics_from_predictions(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row of forecast errors per (model, symbol, split), in a stable reading order."""
    computed_at = pd.Timestamp.now(tz="UTC")
    rows = []
    for (model, symbol, split), group in predictions.groupby(["model", "symbol", "split"]):
        errors = forecast_errors(group["actual"].to_numpy(), group["predicted"].to_numpy())
        rows.append(
            {
                "model": model,
                "symbol": symbol,
                "split": split,
                "samples": errors.samples,
                "rmse": errors.rmse,
                "mape": errors.mape,
                "mae": errors.mae,
                "computed_at": computed_at,
            }
        )
    frame = pd.DataFrame(rows, columns=list(MetricsTable.to_schema().columns))
    order = frame["split"].map(SPLIT_ORDER)
    return frame.assign(_order=order).sort_values(["symbol", "_order", "model"]).drop(columns="_order")


@asset(group_name="evaluation", deps=["persistence_predictions"], kinds={"duckdb"})
def metrics(warehouse: WarehouseResource) -> MaterializeResult:
    """Errors of every model in `predictions`, rebuilt whole so no stale model's rows linger."""
    with warehouse.get_connection() as conn:
        predictions = read_table(conn, "SELECT model, symbol, split, actual, predicted FROM predictions")
        computed = metrics_from_predictions(predictions)
        report = store_load(conn, "metrics", computed, MetricsTable, Partition())
        totals = table_totals(conn, "metrics")
    shown = computed[["model", "symbol", "split", "samples", "rmse", "mape", "mae"]]
    test = shown[shown["split"] == "test"]
    return MaterializeResult(
        metadata={
            **report,
            **totals,
            "dagster/column_schema": column_schema(MetricsTable),
            "metrics": markdown_metadata(shown),
            **{f"test_rmse/{row.model}/{row.symbol}": float(row.rmse) for row in test.itertuples()},
        }
    )
