"""The `metrics` table: errors, direction and cost per model, symbol and split, from `predictions`.

Persistence and every other model are scored on the same samples, so the table always shows the
baseline next to the models; training cost comes from `training_runs`.
"""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import MetricsTable
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema, markdown_metadata
from assets.training.forecasts import PIPELINE_MODELS, asset_name
from assets.warehouse import Partition, read_table
from models.metrics import directional_accuracy, forecast_errors
from orchestration.resources import WarehouseResource

SPLIT_ORDER = {"train": 0, "val": 1, "test": 2}
SHOWN_COLUMNS = [
    "model",
    "symbol",
    "split",
    "samples",
    "rmse",
    "mape",
    "mae",
    "directional_accuracy",
    "parameters",
    "training_seconds",
]


def metrics_from_predictions(predictions: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, symbol, split), in a stable reading order; `runs` gives each model's cost."""
    computed_at = pd.Timestamp.now(tz="UTC")
    cost = runs.set_index(["model", "symbol"])
    rows = []
    for (model, symbol, split), group in predictions.groupby(["model", "symbol", "split"]):
        errors = forecast_errors(group["actual"].to_numpy(), group["predicted"].to_numpy())
        run = cost.loc[(model, symbol)]
        rows.append(
            {
                "model": model,
                "symbol": symbol,
                "split": split,
                "samples": errors.samples,
                "rmse": errors.rmse,
                "mape": errors.mape,
                "mae": errors.mae,
                "directional_accuracy": directional_accuracy(
                    *(group[column].to_numpy() for column in ("previous_close", "actual", "predicted"))
                ),
                "parameters": int(run["parameters"]),
                "training_seconds": float(run["training_seconds"]),
                "computed_at": computed_at,
            }
        )
    frame = pd.DataFrame(rows, columns=list(MetricsTable.to_schema().columns))
    order = frame["split"].map(SPLIT_ORDER)
    return frame.assign(_order=order).sort_values(["symbol", "_order", "model"]).drop(columns="_order")


@asset(
    group_name="evaluation",
    deps=[asset_name(model) for model in PIPELINE_MODELS],
    kinds={"duckdb"},
)
def metrics(warehouse: WarehouseResource) -> MaterializeResult:
    """Scores of every model in `predictions`, rebuilt whole so no stale model's rows linger."""
    with warehouse.get_connection() as conn:
        predictions = read_table(
            conn, "SELECT model, symbol, split, previous_close, actual, predicted FROM predictions"
        )
        runs = read_table(conn, "SELECT model, symbol, parameters, training_seconds FROM training_runs")
        computed = metrics_from_predictions(predictions, runs)
        report = store_load(conn, "metrics", computed, MetricsTable, Partition())
        totals = table_totals(conn, "metrics")
    shown = computed[SHOWN_COLUMNS]
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
