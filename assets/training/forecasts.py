"""One training asset per model variant: fit on the train split, forecast every sample, store and plot.

Each asset writes its model's rows of `predictions` and `training_runs` (replacing its previous
ones), checkpoints under the artifacts folder (so a rerun on unchanged data reads a finished fit back
instead of repeating it, and `training_runs` keeps the time it was trained), and shows the
forecast-vs-actual figure on its page in the UI.
"""

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, asset

from assets.contracts import LiveForecastsTable, PredictionsTable, TrainingRunsTable
from assets.ingest.market.ohlcv import BTC_SYMBOL
from assets.ingest.store import store_load
from assets.metadata import column_schema
from assets.plots import forecast_figure, image_metadata
from assets.warehouse import Partition, read_table
from models.atomic import write_atomically
from models.forecasters import FitReport
from models.metrics import forecast_errors
from models.registry import ModelVariant, build_forecaster
from models.samples import WindowSamples, build_window_samples, latest_window
from models.training_range import closes_above, training_end, training_high, window_ends
from orchestration.resources import TrainingResource, WarehouseResource

# What `make run` and the nightly job train: persistence and ARIMA, every neural model with volume,
# and CryptoMamba without volume. `python -m orchestration.table_iv` trains the paper's full set.
PIPELINE_MODELS = (
    "persistence",
    "arima",
    "cryptomamba-v",
    "cryptomamba",
    "cryptomamba-time-v",
    "lstm-v",
    "bilstm-v",
    "gru-v",
    "smamba-v",
)


def asset_name(model: str) -> str:
    return model.replace("-", "_") + "_model"


def daily_bars(warehouse: WarehouseResource) -> pd.DataFrame:
    with warehouse.get_connection() as conn:
        return read_table(
            conn,
            "SELECT ts, open, high, low, close, volume FROM ohlcv "
            "WHERE symbol = ? AND interval = '1d' ORDER BY ts",
            [BTC_SYMBOL],
        )


def forecast_asset(model: str) -> AssetsDefinition:
    """The training asset of one model variant (e.g. 'cryptomamba-v')."""
    variant = ModelVariant.parse(model)
    kind = {"persistence": "numpy", "arima": "statsmodels"}.get(variant.model, "pytorch")

    @asset(
        name=asset_name(model),
        group_name="training",
        deps=["ohlcv"],
        kinds={kind, "duckdb"},
        description=f"Fit {model} on the train split (validation for early stopping), forecast every "
        "sample's next close and the bar after the newest one, store them in `predictions` and "
        "`live_forecasts` and the run in `training_runs`.",
    )
    def train_and_forecast(
        context: AssetExecutionContext, warehouse: WarehouseResource, training: TrainingResource
    ) -> MaterializeResult:
        bars = daily_bars(warehouse)
        samples = build_window_samples(bars, variant.with_volume)
        forecaster = build_forecaster(variant, training.profile, progress=False)  # type: ignore[arg-type]
        report = forecaster.fit(samples, checkpoint=training.checkpoint(model))
        predicted = forecaster.predict(samples)
        live = latest_window(bars, variant.with_volume)
        cutoff = bars["ts"].iloc[-1]
        live_forecast = _live_forecast(model, live, forecaster.predict(live), cutoff, context.run.run_id)
        own_rows = Partition({"model": model, "symbol": BTC_SYMBOL})
        run = _training_run(model, samples, report, training.profile, context.run.run_id)
        with warehouse.get_connection() as conn:
            stored = store_load(
                conn,
                "predictions",
                predictions_frame(model, samples, predicted, context.run.run_id),
                PredictionsTable,
                own_rows,
            )
            store_load(conn, "live_forecasts", live_forecast, LiveForecastsTable, own_rows)
            store_load(conn, "training_runs", run, TrainingRunsTable, own_rows)
        png = forecast_figure(samples.ts, samples.target, predicted, samples.split, f"{model}: BTC-USD close")
        write_atomically(training.report(f"forecast_{model}.png"), lambda file: file.write(png))
        test = samples.in_split("test")
        errors = forecast_errors(samples.target[test], predicted[test])
        return MaterializeResult(
            metadata={
                **stored,
                # the model's own rows: every model writes into the one `predictions` table
                "table": "predictions",
                "dagster/row_count": stored["rows_written"],
                "dagster/column_schema": column_schema(PredictionsTable),
                "profile": training.profile,
                "parameters": report.parameters,
                "training_seconds": round(report.seconds, 2),
                "epochs_run": report.epochs_run,
                "best_epoch": report.best_epoch,
                "test_rmse": errors.rmse,
                "test_mape": errors.mape,
                "next_bar": live_forecast["ts"].iloc[0].isoformat(),
                "next_bar_forecast": float(live_forecast["predicted"].iloc[0]),
                **_live_inputs_range(live, samples),
                "forecast_vs_actual": image_metadata(png, f"{model} forecast vs actual"),
            }
        )

    return train_and_forecast


def predictions_frame(model: str, samples: WindowSamples, predicted: np.ndarray, run_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "symbol": BTC_SYMBOL,
            "split": samples.split,
            "ts": samples.ts,
            "previous_close": samples.previous_close,
            "actual": samples.target,
            "predicted": predicted,
            "run_id": run_id,
        }
    )


def _live_forecast(
    model: str, live: WindowSamples, predicted: np.ndarray, data_cutoff: pd.Timestamp, run_id: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "symbol": BTC_SYMBOL,
            "ts": live.ts,
            "data_cutoff": data_cutoff,
            "previous_close": live.previous_close,
            "predicted": predicted,
            "run_id": run_id,
        }
    )


def _live_inputs_range(live: WindowSamples, samples: WindowSamples) -> dict[str, object]:
    """How far the live forecast's inputs lie beyond what the model was trained on: the splits are
    the paper's fixed dates, so every new bar moves the live window further past them (README,
    "Beyond the training range")."""
    return {
        "live_days_past_training": int((window_ends(live)[0] - training_end(samples)) // 86400),
        "live_close_above_training_high": bool(closes_above(live, training_high(samples))[0]),
    }


def _training_run(
    model: str, samples: WindowSamples, report: FitReport, profile: str, run_id: str
) -> pd.DataFrame:
    seen = samples.subset(samples.in_split("train") | samples.in_split("val"))
    return pd.DataFrame(
        [
            {
                "run_id": run_id,
                "model": model,
                "symbol": BTC_SYMBOL,
                "profile": profile,
                "parameters": report.parameters,
                "training_seconds": report.seconds,
                "epochs_run": report.epochs_run,
                "best_epoch": report.best_epoch,
                "data_fingerprint": seen.fingerprint(),
                "data_cutoff": seen.ts.max(),
                "trained_at": _trained_at(report),
            }
        ]
    )


def _trained_at(report: FitReport) -> pd.Timestamp:
    """When the fit ended: a fit read back from its checkpoint keeps the time it was trained, so a
    nightly run that retrained nothing does not look like a fresh training run."""
    if report.finished_at is None:
        return pd.Timestamp.now(tz="UTC")
    return pd.Timestamp(report.finished_at, unit="s", tz="UTC")


FORECAST_ASSETS: list[AssetsDefinition] = [forecast_asset(model) for model in PIPELINE_MODELS]
