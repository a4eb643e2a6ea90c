"""The `signals` asset: the newest forecast becomes a target position with its provenance."""

import pandas as pd
from dagster import materialize

from assets.signals.signals import signals
from assets.warehouse import read_table
from orchestration.resources import WarehouseResource, build_resources


def _signals(settings) -> pd.DataFrame:
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return read_table(conn, "SELECT * FROM signals")


def test_signal_of_the_day_after_the_newest_bar(evaluated):
    settings, result = evaluated
    stored = _signals(settings)
    assert len(stored) == 1
    row = stored.iloc[0]
    assert (row["model"], row["strategy"], row["symbol"]) == ("arima", "smart", "BTC-USD")
    assert row["data_cutoff"] == pd.Timestamp("2024-09-15", tz="UTC")  # the shipped file's last day
    assert row["ts"] == pd.Timestamp("2024-09-16", tz="UTC")
    assert 0.0 <= row["target_position"] <= 1.0
    assert 0.5 <= row["confidence"] <= 1.0
    assert row["expected_return"] == row["forecast"] / row["price"] - 1
    assert row["run_id"] == result.run_id
    metadata = result.asset_materializations_for_node("signals")[0].metadata
    assert metadata["target_position"].value == row["target_position"]


def test_rerun_replaces_the_same_signal(evaluated):
    settings, _ = evaluated
    assert materialize([signals], resources=build_resources(settings)).success
    assert len(_signals(settings)) == 1
