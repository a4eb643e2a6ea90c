"""The last stage end to end: the newest signal pushed to the risk guard on the persistent local
LiteSVM, every transaction recorded, and the book read back into the paper ledger."""

import stat
from dataclasses import replace

import pandas as pd
import pytest
from dagster import materialize

from assets.onchain.ledger import paper_ledger
from assets.onchain.signals import onchain_signals, refuse_stale_data
from assets.warehouse import read_table, row_count, table_exists
from orchestration.resources import WarehouseResource, build_resources
from orchestration.settings import OnchainSettings


def _table(settings, sql: str) -> pd.DataFrame:
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return read_table(conn, sql)


def test_signals_reach_the_chain_and_the_ledger_reads_the_books_back(evaluated):
    settings, _ = evaluated
    first = materialize([onchain_signals, paper_ledger], resources=build_resources(settings))
    assert first.success
    sent = _table(settings, "SELECT * FROM signal_transactions")
    signal = _table(settings, "SELECT * FROM signals").iloc[0]
    assert len(sent) == 1
    row = sent.iloc[0]
    assert row["accepted"], row["error_name"]
    assert row["symbol"] == signal["symbol"] == "BTC-USD"
    assert row["sequence"] == pd.Timestamp(signal["generated_at"]).value // 1_000_000
    assert 0 < row["compute_units"] <= 2_000
    expected_lots = int(signal["target_position"] * 10_000 / (signal["price"] * 0.0001))
    assert abs(row["target_lots"] - expected_lots) <= 1
    ledger = _table(settings, "SELECT * FROM paper_ledger")
    book = ledger.iloc[0]
    assert (book["position_lots"], book["equity"], book["halted"]) == (row["target_lots"], 10_000.0, False)
    # Prices travel as whole micro-USD per 0.0001 BTC lot: exact to half a cent per BTC.
    assert abs(book["avg_entry"] - signal["price"]) <= 0.005 + 1e-9
    onchain = settings.onchain_dir
    assert (onchain / "local_cluster.json").is_file()
    for key in ("program", "authority", "keeper"):
        mode = (onchain / "keys" / f"{key}-keypair.json").stat().st_mode
        assert stat.S_IMODE(mode) == 0o600
    metadata = first.asset_materializations_for_node("paper_ledger")[0].metadata
    assert "equity_curve" in metadata

    # The next run starts a new LiteSVM from the saved state: the same signal is now a replay.
    again = materialize([onchain_signals, paper_ledger], resources=build_resources(settings))
    assert again.success
    sent = _table(settings, "SELECT * FROM signal_transactions ORDER BY submitted_at")
    assert list(sent["accepted"]) == [True, False]
    assert sent["error_name"].iloc[-1] == "SequenceReplayed"
    ledger = _table(settings, "SELECT * FROM paper_ledger ORDER BY as_of")
    assert len(ledger) == 2 and ledger["position_lots"].nunique() == 1
    assert ledger["last_sequence"].iloc[-1] == sent["sequence"].iloc[0]


def test_a_real_cluster_gets_no_signal_made_from_old_bars(evaluated):
    settings, _ = evaluated
    devnet = replace(settings, onchain=replace(settings.onchain, cluster="devnet"))
    before = _transactions(settings)
    result = materialize([onchain_signals], resources=build_resources(devnet), raise_on_error=False)
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    message = failure.step_failure_data.error.cause.message
    assert "not pushing to 'devnet': signals made from bars that closed over 36 hours ago: BTC-USD" in message
    assert "MAMBAQUANT_MAX_SIGNAL_DATA_AGE_HOURS" in message
    assert _transactions(settings) == before  # nothing was sent or recorded


def test_data_age_runs_from_the_close_of_the_newest_bar():
    closed = pd.Timestamp("2026-12-02 00:00", tz="UTC")
    opened = closed - pd.Timedelta(days=1)
    newest = pd.DataFrame({"symbol": ["BTC-USD"], "data_cutoff": [opened], "ts": [closed]})
    default = OnchainSettings.max_data_age_hours
    one_bar_missed = closed + pd.Timedelta(days=1, hours=2)  # the 02:00 run with yesterday's bar absent
    refuse_stale_data(newest, one_bar_missed, default, "devnet")
    with pytest.raises(ValueError, match=r"BTC-USD \(newest bar closed 2026-12-02 00:00 UTC\)"):
        refuse_stale_data(newest, one_bar_missed + pd.Timedelta(days=1), default, "devnet")
    refuse_stale_data(newest, closed + pd.Timedelta(hours=35, minutes=59), 36.0, "devnet")
    with pytest.raises(ValueError, match="over 36 hours ago"):
        refuse_stale_data(newest, closed + pd.Timedelta(hours=36, minutes=1), 36.0, "devnet")


def _transactions(settings) -> int:
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return row_count(conn, "signal_transactions") if table_exists(conn, "signal_transactions") else 0
