"""One materialization of the evaluation stage shared by its tests: bars, two cheap models, trading."""

from dataclasses import replace

import pytest
from dagster import ExecuteInProcessResult, materialize

from assets.evaluation.backtests import backtests
from assets.features.labels import labels
from assets.ingest.market.ohlcv import ohlcv
from assets.signals.signals import signals
from assets.training.forecasts import forecast_asset
from orchestration.resources import build_resources
from orchestration.settings import Settings
from tests.conftest import SHIPPED_DATA_DIR

EVALUATED_MODELS = ("persistence", "arima")


@pytest.fixture(scope="package")
def evaluated(tmp_path_factory) -> tuple[Settings, ExecuteInProcessResult]:
    folder = tmp_path_factory.mktemp("evaluation")
    settings = Settings(
        warehouse_path=folder / "warehouse.duckdb",
        data_dir=SHIPPED_DATA_DIR,
        dagster_home=folder / "dagster_home",
    )
    settings = replace(settings, signal_model="arima", signal_strategy="smart")
    graph = [ohlcv, labels, *(forecast_asset(model) for model in EVALUATED_MODELS), backtests, signals]
    result = materialize(graph, resources=build_resources(settings))
    assert result.success
    return settings, result
