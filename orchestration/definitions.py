"""The Dagster `Definitions` of the pipeline; `workspace.yaml` and `dagster dev` load `defs` from here."""

from __future__ import annotations

from dagster import AssetsDefinition, AssetSelection, Definitions

from assets.evaluation.metrics import metrics
from assets.ingest.market.ohlcv import ohlcv
from assets.training.persistence import persistence_predictions
from orchestration.jobs import AFTER_INGEST, INGEST_GROUP, pipeline_job
from orchestration.resources import build_resources
from orchestration.schedules import build_nightly_schedule
from orchestration.sensors import build_new_data_sensor
from orchestration.settings import Settings

ALL_ASSETS: list[AssetsDefinition] = [ohlcv, persistence_predictions, metrics]


def build_definitions(settings: Settings) -> Definitions:
    """The whole pipeline bound to one deployment's settings (tests pass a temporary one)."""
    ingest_keys = AssetSelection.groups(INGEST_GROUP).resolve(ALL_ASSETS)
    retrain_keys = AFTER_INGEST.resolve(ALL_ASSETS)
    return Definitions(
        assets=ALL_ASSETS,
        jobs=[pipeline_job],
        schedules=[build_nightly_schedule(settings)],
        sensors=[build_new_data_sensor(sorted(ingest_keys), sorted(retrain_keys))],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
