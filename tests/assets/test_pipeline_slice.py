"""The vertical slice materialized in-process into a temporary DuckDB file."""

from pathlib import Path

import pytest
from dagster import materialize

from assets.evaluation.metrics import metrics
from assets.ingest.market.ohlcv import ohlcv
from assets.training.forecasts import asset_name, forecast_asset
from assets.warehouse import read_table, row_count
from orchestration.definitions import build_definitions
from orchestration.resources import BTC_USD_DAILY_FILE, WarehouseResource, build_resources
from orchestration.settings import Settings

TABLES = ("ohlcv", "predictions", "metrics", "quarantine")
# Market bars, the persistence baseline and its scores: the graph's spine without the slow models.
SLICE = [ohlcv, forecast_asset("persistence"), metrics]


def _materialize(settings: Settings) -> dict[str, int]:
    result = materialize(SLICE, resources=build_resources(settings))
    assert result.success
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return {table: row_count(conn, table) for table in TABLES}


def _test_metrics(settings: Settings) -> dict[str, float]:
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        frame = read_table(conn, "SELECT * FROM metrics WHERE model = 'persistence' AND split = 'test'")
    return frame.iloc[0].to_dict()


def test_slice_reproduces_the_paper_persistence_figures(settings):
    counts = _materialize(settings)
    yahoo_days, binance_hours = 2191, 42287
    assert counts == {
        "ohlcv": yahoo_days + binance_hours,
        "predictions": 1446 + 350 + 350,
        "metrics": 3,
        "quarantine": 0,
    }
    test = _test_metrics(settings)
    assert test["samples"] == 350
    assert test["rmse"] == pytest.approx(1568.5, abs=0.05)
    assert test["mape"] == pytest.approx(1.973, abs=0.0005)
    assert test["mae"] == pytest.approx(1091.9, abs=0.05)
    # persistence never predicts a move (the price moved on every test day), and has nothing to train
    assert (test["directional_accuracy"], test["parameters"], test["training_seconds"]) == (0.0, 0, 0.0)


def test_second_materialization_leaves_row_counts_unchanged(settings):
    assert _materialize(settings) == _materialize(settings)


def test_metrics_appear_as_asset_metadata(settings):
    result = materialize(SLICE, resources=build_resources(settings))
    metadata = result.asset_materializations_for_node("metrics")[0].metadata
    assert metadata["test_rmse/persistence/BTC-USD"].value == pytest.approx(1568.5, abs=0.05)
    assert (
        "| persistence | BTC-USD | test | 350 | 1,568.500 | 1.973 | 1,091.899 |" in metadata["metrics"].value
    )
    assert metadata["dagster/row_count"].value == 3


def test_the_training_asset_shows_its_forecast_against_the_actual_close(settings):
    result = materialize(SLICE, resources=build_resources(settings))
    metadata = result.asset_materializations_for_node(asset_name("persistence"))[0].metadata
    figure = metadata["forecast_vs_actual"].value
    assert figure.startswith("![persistence forecast vs actual](data:image/png;base64,iVBORw0KGgo")
    assert metadata["test_rmse"].value == pytest.approx(1568.5, abs=0.05)
    # the live window (to 2024-09-15) ends two years past the last training day, below 2021's high
    assert metadata["live_days_past_training"].value == 732
    assert metadata["live_close_above_training_high"].value is False
    written = settings.artifacts / "reports" / "forecast_persistence.png"
    assert written.read_bytes().startswith(b"\x89PNG")


def test_bad_rows_in_the_source_are_quarantined_and_the_rest_stored(settings, editable_data_dir: Path):
    path = editable_data_dir / BTC_USD_DAILY_FILE
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[2], "n/a", 1)  # open price of 2018-09-21
    path.write_text("\n".join(lines) + "\n")
    settings = Settings(settings.warehouse_path, editable_data_dir, settings.dagster_home)
    result = materialize([ohlcv], resources=build_resources(settings))
    assert result.success
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        quarantined = read_table(conn, "SELECT table_name, partition_key, reason FROM quarantine")
        assert row_count(conn, "ohlcv") == 2191 + 42287 - 1
    assert quarantined.values.tolist() == [
        [
            "ohlcv",
            "symbol=BTC-USD/interval=1d/source=yahoo",
            "open: expected a value of type 'float64', got 'n/a'",
        ]
    ]


def test_missing_source_file_names_the_setting_to_change(tmp_path, settings):
    settings = Settings(settings.warehouse_path, tmp_path / "nowhere", settings.dagster_home)
    result = materialize([ohlcv], resources=build_resources(settings), raise_on_error=False)
    assert not result.success
    message = result.failure_data_for_node("ohlcv").error.cause.message
    assert "MAMBAQUANT_DATA_DIR" in message


def test_a_failed_quarantine_check_keeps_bad_data_from_training(settings, editable_data_dir: Path):
    """A tenth of the daily bars broken: ohlcv stores the rest, its blocking check fails, nothing trains."""
    path = editable_data_dir / BTC_USD_DAILY_FILE
    lines = path.read_text().splitlines()
    for number in range(1, len(lines), 10):
        fields = lines[number].split(",")
        fields[4] = "-1"  # the close
        lines[number] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    settings = Settings(settings.warehouse_path, editable_data_dir, settings.dagster_home)
    job = build_definitions(settings).resolve_job_def("pipeline_job")
    result = job.execute_in_process(raise_on_error=False)

    assert not result.success
    check = {
        evaluation.check_name: evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key.path == ["ohlcv"]
    }["quarantine_ratio"]
    assert not check.passed
    assert check.metadata["quarantined"].value == len(range(1, len(lines), 10))
    materialized = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert "ohlcv" in materialized
    assert materialized.isdisjoint({asset_name("persistence"), asset_name("cryptomamba-v"), "metrics"})


def test_a_fit_read_back_from_its_checkpoint_keeps_the_time_it_was_trained(settings):
    graph = [ohlcv, forecast_asset("gru-v")]

    def training_run() -> dict[str, object]:
        assert materialize(graph, resources=build_resources(settings)).success
        with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
            return read_table(conn, "SELECT * FROM training_runs WHERE model = 'gru-v'").iloc[0].to_dict()

    trained, read_back = training_run(), training_run()
    assert read_back["run_id"] != trained["run_id"]
    assert read_back["trained_at"] == trained["trained_at"]
    assert read_back["training_seconds"] == trained["training_seconds"] > 0
    # Retrained outside this warehouse's knowledge (a script, or a crash before the row was stored):
    # the row follows the checkpoint, not the warehouse's earlier row.
    build_resources(settings)["training"].checkpoint("gru-v").unlink()
    retrained = training_run()
    assert retrained["trained_at"] > trained["trained_at"]
