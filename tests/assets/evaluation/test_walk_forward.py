"""The partitioned `walk_forward` asset: a window per partition, aggregated as windows accumulate."""

from dataclasses import replace

import pandas as pd
import pytest
from dagster import materialize

from assets.evaluation.walk_forward import walk_forward_asset
from assets.warehouse import read_table
from orchestration.resources import WarehouseResource, build_resources


@pytest.fixture(scope="module")
def walked(evaluated):
    settings, _ = evaluated
    settings = replace(
        settings, walk_forward_model="arima", walk_forward_start=pd.Timestamp("2024-06-01").date()
    )
    asset = walk_forward_asset(settings)
    results = [
        materialize([asset], partition_key=key, resources=build_resources(settings))
        for key in ("2024-06-01", "2024-07-01")
    ]
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        rows = read_table(conn, "SELECT * FROM walk_forward ORDER BY window_start")
    return asset, results, rows


def test_partitions_are_the_windows_to_the_end_of_the_data(walked):
    asset, _, _ = walked
    assert asset.partitions_def.get_partition_keys() == [
        "2024-06-01",
        "2024-07-01",
        "2024-07-31",
        "2024-08-30",
    ]


def test_each_window_is_scored_next_to_persistence_and_buy_and_hold(walked, evaluated):
    _, results, rows = walked
    with WarehouseResource(database=str(evaluated[0].warehouse_path)).get_connection() as conn:
        closes = read_table(conn, "SELECT ts, close FROM ohlcv WHERE interval = '1d' AND symbol = 'BTC-USD'")
    assert all(result.success for result in results)
    assert rows["window_start"].dt.date.astype(str).tolist() == ["2024-06-01", "2024-07-01"]
    assert rows["test_samples"].tolist() == [30, 30]
    assert (rows["window_start"] - rows["fitted_until"]).min() > pd.Timedelta(days=28)
    assert (rows["persistence_rmse"] > 0).all()
    close = closes.set_index(closes["ts"].dt.date.astype(str))["close"]
    assert rows["buy_and_hold_return"].iloc[0] == pytest.approx(close["2024-06-30"] / close["2024-05-31"] - 1)
    aggregate = results[-1].asset_materializations_for_node("walk_forward")[0].metadata["aggregate"].value
    assert "| 2 |" in aggregate


def test_rerunning_a_window_replaces_it(walked, evaluated):
    asset, _, _ = walked
    settings, _ = evaluated
    assert materialize([asset], partition_key="2024-06-01", resources=build_resources(settings)).success
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        assert read_table(conn, "SELECT count(*) AS n FROM walk_forward")["n"].iloc[0] == 2
