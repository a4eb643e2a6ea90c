"""The Dagster `Definitions` of the pipeline; `workspace.yaml` and `dagster dev` load `defs` from here."""

from datetime import timedelta

from dagster import AssetChecksDefinition, AssetsDefinition, AssetSelection, Definitions

from assets.checks import table_checks
from assets.evaluation.adaptation import adaptation_report
from assets.evaluation.backtests import backtests
from assets.evaluation.metrics import metrics
from assets.evaluation.walk_forward import walk_forward_asset
from assets.features.assets import features
from assets.features.labels import labels
from assets.ingest.dex.assets import dex_bars, dex_trades
from assets.ingest.macro.assets import macro
from assets.ingest.market.ohlcv import ohlcv
from assets.ingest.sentiment.assets import fear_greed, sentiment_items, sentiment_series
from assets.onchain.ledger import paper_ledger
from assets.onchain.signals import onchain_signals
from assets.regimes.assets import regimes, tasks
from assets.signals.signals import signals
from assets.training.forecasts import FORECAST_ASSETS, PIPELINE_MODELS
from assets.training.hypermamba import hypermamba_model
from backtest.experiments import STRATEGY_RULES
from models.regimes import REGIME_METHODS
from models.registry import ModelVariant
from orchestration.jobs import AFTER_INGEST, INGEST_GROUP, dex_job, pipeline_job, walk_forward_job
from orchestration.resources import build_resources
from orchestration.schedules import build_dex_schedule, build_nightly_schedule
from orchestration.sensors import build_new_data_sensor
from orchestration.settings import (
    REGIME_METHOD_ENV,
    SIGNAL_MODEL_ENV,
    SIGNAL_STRATEGY_ENV,
    WALK_FORWARD_MODEL_ENV,
    Settings,
)

# The unpartitioned ingest stage; the daily-partitioned DEX assets run in `dex_job`.
INGEST_ASSETS: list[AssetsDefinition] = [ohlcv, macro, sentiment_items, sentiment_series, fear_greed]
# What `pipeline_job` materializes.
PIPELINE_ASSETS: list[AssetsDefinition] = [
    *INGEST_ASSETS,
    features,
    labels,
    regimes,
    tasks,
    *FORECAST_ASSETS,
    hypermamba_model,
    metrics,
    backtests,
    adaptation_report,
    signals,
    onchain_signals,
    paper_ledger,
]
ALL_ASSETS: list[AssetsDefinition] = [*PIPELINE_ASSETS, dex_trades, dex_bars]

# Tables without an offline source (text, the index, DEX swaps) may legitimately be empty.
ALL_CHECKS: list[AssetChecksDefinition] = [
    *table_checks("ohlcv", "ohlcv", "ts"),
    *table_checks("macro", "macro", "released_at", max_age=timedelta(days=45)),
    *table_checks("sentiment_items", "sentiment_items", "published_at", min_rows=0),
    *table_checks("fear_greed", "fear_greed", "ts", min_rows=0),
    *table_checks("dex_trades", "dex_trades", "block_time", min_rows=0),
    *table_checks("dex_bars", "dex_bars", "ts", min_rows=0),
]


def check_choices(settings: Settings) -> None:
    """Refuse a model, strategy or regime method that does not exist when the definitions load, naming
    its variable, instead of in the asset that first uses it after a run's ingest and training."""
    choices = {
        SIGNAL_MODEL_ENV: (settings.signal_model, PIPELINE_MODELS),
        SIGNAL_STRATEGY_ENV: (settings.signal_strategy, tuple(STRATEGY_RULES)),
        REGIME_METHOD_ENV: (settings.regime_method, REGIME_METHODS),
    }
    for name, (value, known) in choices.items():
        if value not in known:
            raise ValueError(f"{name}={value!r}: expected one of {', '.join(known)}")
    try:
        ModelVariant.parse(settings.walk_forward_model)
    except ValueError as error:
        raise ValueError(f"{WALK_FORWARD_MODEL_ENV}: {error}") from None


def build_definitions(settings: Settings) -> Definitions:
    """The whole pipeline bound to one deployment's settings (tests pass a temporary one)."""
    check_choices(settings)
    ingest_keys = AssetSelection.groups(INGEST_GROUP).resolve(ALL_ASSETS)
    retrain_keys = AFTER_INGEST.resolve(ALL_ASSETS)
    return Definitions(
        assets=[*ALL_ASSETS, walk_forward_asset(settings)],
        asset_checks=ALL_CHECKS,
        jobs=[pipeline_job, dex_job, walk_forward_job],
        schedules=[build_nightly_schedule(settings), build_dex_schedule()],
        sensors=[build_new_data_sensor(sorted(ingest_keys), sorted(retrain_keys))],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
