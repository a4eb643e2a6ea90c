"""The `metrics` table: RMSE, MAPE and MAE per model, symbol and split, from the `predictions` table."""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import MetricsTable
from assets.metadata import markdown_metadata, stored_table_metadata
from assets.validation import validate_rows
from assets.warehouse import Partition, read_table, replace_partition
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
        rows = validate_rows(metrics_from_predictions(predictions), MetricsTable)
        replace_partition(conn, "metrics", rows, Partition())
        metadata = stored_table_metadata(conn, "metrics", rows, MetricsTable)
    shown = rows.valid[["model", "symbol", "split", "samples", "rmse", "mape", "mae"]]
    test = shown[shown["split"] == "test"]
    return MaterializeResult(
        metadata={
            **metadata,
            "metrics": markdown_metadata(shown),
            **{f"test_rmse/{row.model}/{row.symbol}": float(row.rmse) for row in test.itertuples()},
        }
    )
