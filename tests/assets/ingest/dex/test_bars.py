"""Bars from swaps, checked against hand-computed values."""

import pandas as pd
import pytest

from assets.contracts import DexBarsTable
from assets.ingest.dex.bars import bars_from_trades
from assets.validation import validate_rows

POOL = "58oQChx4yWmvKdwLLZzBi4ChoCc2fqCUWBkwMihLYQo2"


def _trades(rows: list[tuple[str, int, str, float, float]]) -> pd.DataFrame:
    """(time, slot, side, base, price) tuples → trades in the `dex_trades` layout the bars need."""
    frame = pd.DataFrame(rows, columns=["block_time", "slot", "side", "base_amount", "price"])
    frame["block_time"] = pd.to_datetime(frame["block_time"], utc=True)
    frame["quote_amount"] = frame["base_amount"] * frame["price"]
    frame["pool"] = POOL
    frame["signature"] = [f"sig{i}" for i in range(len(frame))]
    frame["instruction_index"] = 0
    return frame


TRADES = _trades(
    [
        ("2024-03-01 10:00:05", 3, "buy", 2.0, 100.0),
        ("2024-03-01 10:00:01", 1, "sell", 1.0, 102.0),  # earlier slot: the bar opens here
        ("2024-03-01 10:00:50", 5, "sell", 3.0, 98.0),
        ("2024-03-01 10:02:00", 6, "buy", 4.0, 101.0),
    ]
)


def test_minute_bars_match_hand_computation():
    bars = bars_from_trades(TRADES, "1m")
    first, second = bars.to_dict(orient="records")
    assert (first["open"], first["high"], first["low"], first["close"]) == (102.0, 102.0, 98.0, 98.0)
    assert first["base_volume"] == 6.0 and first["trade_count"] == 3
    assert first["quote_volume"] == pytest.approx(102 + 200 + 294)
    assert first["vwap"] == pytest.approx(596 / 6)
    assert (first["buy_base_volume"], first["sell_base_volume"], first["cvd"]) == (2.0, 4.0, -2.0)
    assert second["ts"] == pd.Timestamp("2024-03-01 10:02", tz="UTC")
    assert second["cvd"] == pytest.approx(-2.0 + 4.0)  # cumulative within the day


def test_no_bar_where_no_trade_happened():
    assert len(bars_from_trades(TRADES, "1m")) == 2  # 10:01 had no swap


def test_cvd_restarts_each_utc_day():
    trades = _trades(
        [("2024-03-01 23:59:00", 1, "buy", 5.0, 100.0), ("2024-03-02 00:01:00", 2, "sell", 1.0, 100.0)]
    )
    assert bars_from_trades(trades, "1h")["cvd"].tolist() == [5.0, -1.0]


@pytest.mark.parametrize("interval", ["1m", "1h", "1d"])
def test_bars_honour_their_contract(interval):
    rows = validate_rows(bars_from_trades(TRADES, interval), DexBarsTable)
    assert rows.rejected.empty and len(rows.valid) >= 1


def test_no_trades_no_bars():
    assert bars_from_trades(TRADES.iloc[0:0], "1h").empty
