"""The new-data sensor against a real (ephemeral) Dagster instance and real materializations."""

from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context, materialize

from assets.ingest.market.ohlcv import ohlcv
from orchestration.definitions import INGEST_ASSETS, PIPELINE_ASSETS, build_definitions
from orchestration.resources import BTC_USD_DAILY_FILE, build_resources
from orchestration.settings import Settings

# Every stage after ingestion (test_definitions pins the asset names).
RETRAIN_KEYS = sorted(key for asset in PIPELINE_ASSETS if asset not in INGEST_ASSETS for key in asset.keys)


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def _tick(settings: Settings, instance: DagsterInstance, cursor: str | None):
    sensor = build_definitions(settings).resolve_sensor_def("new_ingested_data")
    return sensor.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))


def _ingest(settings: Settings, instance: DagsterInstance) -> None:
    assert materialize([ohlcv], resources=build_resources(settings), instance=instance).success


def test_nothing_ingested_means_no_run(settings, instance):
    data = _tick(settings, instance, None)
    assert not data.run_requests and "no ingest asset" in data.skip_message


def test_new_day_requests_one_retraining_run(settings, instance, editable_data_dir: Path):
    settings = Settings(settings.warehouse_path, editable_data_dir, settings.dagster_home)
    _ingest(settings, instance)
    first = _tick(settings, instance, None)
    [request] = first.run_requests
    assert request.run_key == "ohlcv@2024-09-15"
    assert sorted(request.asset_selection) == RETRAIN_KEYS

    _ingest(settings, instance)  # same data again: no new day
    assert not _tick(settings, instance, first.cursor).run_requests

    with (editable_data_dir / BTC_USD_DAILY_FILE).open("a") as source:
        source.write("2024-09-16,1726470000,59185.0,59205.0,57550.0,58200.0,26000000000.0\n")
    _ingest(settings, instance)
    [request] = _tick(settings, instance, first.cursor).run_requests
    assert request.run_key == "ohlcv@2024-09-16"
