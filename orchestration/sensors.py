"""Retrain when ingestion stores data newer than anything the models have seen.

Each ingest asset records the newest day it stored in its materialization metadata. The sensor
compares that day per asset with its cursor and, when any moved forward, asks for one run of the
stages after ingestion, keyed by those days so a day never triggers twice.
"""

import json
from collections.abc import Sequence

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from assets.metadata import NEWEST_PARTITION_KEY
from orchestration.jobs import pipeline_job


def build_new_data_sensor(
    ingest_keys: Sequence[AssetKey], retrain_keys: Sequence[AssetKey]
) -> SensorDefinition:
    """A sensor that watches `ingest_keys` and requests a `pipeline_job` run of `retrain_keys`."""

    @sensor(
        name="new_ingested_data",
        job=pipeline_job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="Requests a retraining run when an ingest asset stores a newer day.",
    )
    def new_ingested_data(context: SensorEvaluationContext) -> RunRequest | SkipReason:
        seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
        newest = _newest_partitions(context, ingest_keys)
        moved = {key: day for key, day in newest.items() if day > seen.get(key, "")}
        if not moved:
            return SkipReason("no ingest asset has stored a newer day")
        context.update_cursor(json.dumps({**seen, **moved}, sort_keys=True))
        return RunRequest(
            run_key=",".join(f"{key}@{day}" for key, day in sorted(moved.items())),
            asset_selection=list(retrain_keys),
            tags={"trigger": "new_ingested_data"},
        )

    return new_ingested_data


def _newest_partitions(context: SensorEvaluationContext, keys: Sequence[AssetKey]) -> dict[str, str]:
    """Newest stored day per ingest asset, from its latest materialization."""
    newest = {}
    for key in keys:
        event = context.instance.get_latest_materialization_event(key)
        entry = event.asset_materialization.metadata.get(NEWEST_PARTITION_KEY) if event else None
        if entry is not None:
            newest[key.to_user_string()] = str(entry.value)
    return newest
