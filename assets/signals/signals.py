"""The `signals` asset: the configured model's newest forecast → target position and confidence.

The strategy trades the model's test-split forecasts and then the newest one (see
`backtest.signals`); the row records which training run and which data the forecast came from.
Rows of earlier forecast bars stay, so the table is the signal history the on-chain stage replays.
"""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import SignalsTable
from assets.evaluation.backtests import read_predictions
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema
from assets.training.forecasts import PIPELINE_MODELS, asset_name
from assets.warehouse import Partition, read_table
from backtest.experiments import STRATEGY_RULES, forecast_track, training_error_spread
from backtest.signals import latest_signal
from orchestration.resources import SignalResource, WarehouseResource

HISTORY_SPLIT = "test"


@asset(
    group_name="signals",
    deps=[asset_name(model) for model in PIPELINE_MODELS],
    kinds={"duckdb"},
)
def signals(warehouse: WarehouseResource, signal_settings: SignalResource) -> MaterializeResult:
    """Target position and confidence per symbol from the newest forecast of the configured model."""
    model, strategy = signal_settings.model, signal_settings.strategy
    if strategy not in STRATEGY_RULES:
        raise ValueError(
            f"signal strategy {strategy!r} is unknown; expected one of {', '.join(STRATEGY_RULES)}"
        )
    predictions = read_predictions(warehouse)
    with warehouse.get_connection() as conn:
        live = read_table(conn, "SELECT * FROM live_forecasts WHERE model = ?", [model])
    if live.empty:
        raise ValueError(
            f"no live forecast of model {model!r}: materialize {asset_name(model)} first, or set "
            "MAMBAQUANT_SIGNAL_MODEL to a trained model"
        )
    rows = [_signal_row(newest, predictions, strategy) for newest in live.itertuples(index=False)]
    frame = pd.DataFrame(rows)
    with warehouse.get_connection() as conn:
        for index in range(len(frame)):
            row = frame.iloc[[index]]
            key = {column: row[column].iloc[0] for column in ("symbol", "ts", "model", "strategy")}
            stored = store_load(conn, "signals", row, SignalsTable, Partition(key))
        totals = table_totals(conn, "signals")
    latest = frame.iloc[-1]
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(SignalsTable),
            "symbol": latest["symbol"],
            "forecast_bar": latest["ts"].isoformat(),
            "target_position": float(latest["target_position"]),
            "confidence": float(latest["confidence"]),
            "expected_return": float(latest["expected_return"]),
            "model_run": latest["run_id"],
        }
    )


def _signal_row(newest: object, predictions: pd.DataFrame, strategy: str) -> dict[str, object]:
    history = predictions[(predictions["model"] == newest.model) & (predictions["symbol"] == newest.symbol)]
    track = forecast_track(history[history["split"] == HISTORY_SPLIT], training_error_spread(history))
    signal = latest_signal(track, newest.data_cutoff, newest.previous_close, newest.predicted, strategy)
    return {
        "symbol": newest.symbol,
        "ts": newest.ts,
        "model": newest.model,
        "strategy": strategy,
        "target_position": signal.target_position,
        "confidence": signal.confidence,
        "expected_return": signal.expected_return,
        "price": newest.previous_close,
        "forecast": newest.predicted,
        "data_cutoff": newest.data_cutoff,
        "run_id": newest.run_id,
        "generated_at": pd.Timestamp.now(tz="UTC"),
    }
