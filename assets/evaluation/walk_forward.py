"""The `walk_forward` asset: one partition per test window, each retraining the model from scratch.

Partition keys are the windows' first test days; materialize a range (or all) of them from the UI
or with `dagster asset materialize --select walk_forward --partition-range A...B`. Each partition
writes its row of `walk_forward` and shows, next to its own scores, the aggregate over every window
stored so far: mean errors against persistence, the share of windows the model beats it, and the
strategies' returns compounded window after window next to buy-and-hold.
"""

from datetime import date

import numpy as np
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    MaterializeResult,
    StaticPartitionsDefinition,
    asset,
)

from assets.contracts import WalkForwardTable
from assets.ingest.market.ohlcv import BTC_SYMBOL
from assets.ingest.store import store_load
from assets.metadata import markdown_metadata
from assets.training.forecasts import daily_bars
from assets.warehouse import Partition, read_table
from backtest.engine import EngineConfig
from backtest.experiments import BUY_AND_HOLD, forecast_track, run_strategy
from backtest.walk_forward import WalkForwardPlan
from models.metrics import directional_accuracy, forecast_errors
from models.registry import ModelVariant, build_forecaster
from models.samples import build_window_samples
from orchestration.resources import TrainingResource, WarehouseResource
from orchestration.settings import Settings

TRADED = ("vanilla", "smart", BUY_AND_HOLD)


def walk_forward_plan(settings: Settings, last_day: date | None = None) -> WalkForwardPlan:
    return WalkForwardPlan(
        first_test_day=settings.walk_forward_start,
        last_day=last_day or settings.walk_forward_end,
        step_days=settings.walk_forward_step_days,
    )


def walk_forward_asset(settings: Settings) -> AssetsDefinition:
    """The partitioned asset of this deployment's walk-forward plan."""
    plan = walk_forward_plan(settings)
    model = settings.walk_forward_model
    variant = ModelVariant.parse(model)

    @asset(
        name="walk_forward",
        group_name="evaluation",
        deps=["ohlcv"],
        partitions_def=StaticPartitionsDefinition([day.isoformat() for day in plan.test_starts()]),
        kinds={"pytorch", "duckdb"},
        description=f"Retrain {model} every {plan.step_days} days on all earlier data (purged gap of "
        f"{plan.gap_days} days + the input window) and score it on the next {plan.step_days} days.",
    )
    def walk_forward(
        context: AssetExecutionContext, warehouse: WarehouseResource, training: TrainingResource
    ) -> MaterializeResult:
        test_start = date.fromisoformat(context.partition_key)
        bars = daily_bars(warehouse)
        days = bars["ts"].dt.date
        window_plan = walk_forward_plan(settings, last_day=min(days.iloc[-1], plan.last_day))
        splits = window_plan.splits(days.iloc[0], test_start)
        samples = build_window_samples(bars, variant.with_volume, splits=splits)
        forecaster = build_forecaster(variant, training.profile, progress=False)  # type: ignore[arg-type]
        report = forecaster.fit(samples, training.checkpoint(f"walk_forward/{model}/{context.partition_key}"))
        test = samples.in_split("test")
        frame = pd.DataFrame(
            {
                "split": "test",
                "ts": samples.ts[test],
                "previous_close": samples.previous_close[test],
                "actual": samples.target[test],
                "predicted": forecaster.predict(samples)[test],
            }
        )
        row = _window_row(frame, samples.ts[~test].max(), report.seconds, context.run.run_id)
        row.update(model=model, symbol=BTC_SYMBOL)
        with warehouse.get_connection() as conn:
            key = {"model": model, "symbol": BTC_SYMBOL, "window_start": row["window_start"]}
            stored = store_load(conn, "walk_forward", pd.DataFrame([row]), WalkForwardTable, Partition(key))
            windows = read_table(
                conn, "SELECT * FROM walk_forward WHERE model = ? ORDER BY window_start", [model]
            )
        return MaterializeResult(
            metadata={
                **stored,
                "rmse": row["rmse"],
                "persistence_rmse": row["persistence_rmse"],
                "smart_return": row["smart_return"],
                "buy_and_hold_return": row["buy_and_hold_return"],
                "windows_stored": len(windows),
                "aggregate": markdown_metadata(aggregate_windows(windows)),
            }
        )

    return walk_forward


def _window_row(
    test: pd.DataFrame, fitted_until: pd.Timestamp, seconds: float, run_id: str
) -> dict[str, object]:
    actual, predicted, previous = (test[c].to_numpy(float) for c in ("actual", "predicted", "previous_close"))
    errors = forecast_errors(actual, predicted)
    track = forecast_track(test)
    returns = {rule: run_strategy(track, rule, EngineConfig()).final_equity / 100.0 - 1.0 for rule in TRADED}
    return {
        "window_start": test["ts"].iloc[0],
        "window_end": test["ts"].iloc[-1],
        "fitted_until": fitted_until,
        "test_samples": errors.samples,
        "rmse": errors.rmse,
        "mape": errors.mape,
        "directional_accuracy": directional_accuracy(previous, actual, predicted),
        "persistence_rmse": forecast_errors(actual, previous).rmse,
        "vanilla_return": returns["vanilla"],
        "smart_return": returns["smart"],
        "buy_and_hold_return": returns[BUY_AND_HOLD],
        "training_seconds": seconds,
        "run_id": run_id,
    }


def aggregate_windows(windows: pd.DataFrame) -> pd.DataFrame:
    """Mean errors, the share of windows beating persistence, and returns compounded over windows."""
    return pd.DataFrame(
        [
            {
                "windows": len(windows),
                "mean rmse": windows["rmse"].mean(),
                "mean persistence rmse": windows["persistence_rmse"].mean(),
                "beats persistence": float((windows["rmse"] < windows["persistence_rmse"]).mean()),
                "mean directional accuracy": windows["directional_accuracy"].mean(),
                **{
                    f"{name} compounded": float(np.prod(1 + windows[f"{name}_return"]) - 1)
                    for name in ("vanilla", "smart", "buy_and_hold")
                },
            }
        ]
    )
