"""The `backtests` asset on the shipped BTC-USD year: Table VI's buy-and-hold and honest costs."""

from pathlib import Path

import pytest

from assets.warehouse import read_table
from orchestration.resources import WarehouseResource


def _read(settings, sql: str):
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return read_table(conn, sql)


def test_buy_and_hold_matches_the_paper_reference(evaluated):
    settings, _ = evaluated
    hold = _read(settings, "SELECT * FROM backtests WHERE strategy = 'buy_and_hold' AND split = 'test'")
    no_fee = hold[hold["fee_bps"] == 0].iloc[0]
    assert no_fee["final_balance"] == pytest.approx(222.51, abs=0.005)
    assert no_fee["max_drawdown"] == pytest.approx(0.2618, abs=0.0001)
    assert no_fee["model"] == ""
    assert hold[hold["fee_bps"] == 10].iloc[0]["final_balance"] == pytest.approx(222.51 * 0.999, abs=0.01)


def test_every_model_split_strategy_and_fee_has_a_row(evaluated):
    settings, _ = evaluated
    counts = _read(settings, "SELECT model, count(*) AS rows FROM backtests GROUP BY model ORDER BY model")
    # 2 splits x 2 fees: 5 strategies per model, buy-and-hold once.
    assert counts.values.tolist() == [["", 4], ["arima", 20], ["persistence", 20]]


def test_persistence_never_trades_on_the_paper_rules_and_fees_only_cost(evaluated):
    settings, _ = evaluated
    rows = _read(settings, "SELECT * FROM backtests WHERE strategy IN ('vanilla', 'smart')")
    persistence = rows[rows["model"] == "persistence"]
    assert (persistence["trades"] == 0).all() and (persistence["final_balance"] == 100).all()
    arima = rows[(rows["model"] == "arima") & (rows["strategy"] == "smart")].set_index(["split", "fee_bps"])
    for split in ("val", "test"):
        assert arima.loc[(split, 10.0), "final_balance"] <= arima.loc[(split, 0.0), "final_balance"]
        assert arima.loc[(split, 10.0), "fees"] > 0


def test_equity_curves_start_at_100_and_plots_reach_the_reports_folder(evaluated):
    settings, result = evaluated
    first = _read(
        settings,
        "SELECT equity FROM equity_curves WHERE strategy = 'buy_and_hold' AND fee_bps = 0 ORDER BY split, ts",
    )
    assert first["equity"].iloc[0] == pytest.approx(100.0)
    reports = Path(settings.artifacts) / "reports"
    assert (reports / "equity_BTC-USD_test_vanilla.png").stat().st_size > 10_000
    metadata = result.asset_materializations_for_node("backtests")[0].metadata
    assert "data:image/png;base64," in metadata["equity/smart"].value
    assert "| - | buy_and_hold |" in metadata["table_vi"].value
