"""The `ohlcv` contract, one rule at a time, through the row-level validator."""

import pandas as pd
import pytest

from assets.contracts import OhlcvTable
from assets.validation import ContractError, validate_rows


def _bars(count: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": "BTC-USD",
            "interval": "1d",
            "ts": pd.date_range("2024-01-01", periods=count, freq="D", tz="UTC"),
            "open": 100.0,
            "high": 110.0,
            "low": 90.0,
            "close": 105.0,
            "volume": 1_000.0,
            "source": "test",
        }
    )


def test_clean_bars_pass_untouched():
    rows = validate_rows(_bars(), OhlcvTable)
    assert len(rows.valid) == 3 and rows.rejected.empty


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("open", float("nan"), "open: expected not_nullable"),
        ("close", 0.0, "close: expected greater_than(0)"),
        ("low", -5.0, "low: expected greater_than(0)"),
        ("high", 95.0, "expected high >= max(open, close)"),
        ("low", 104.0, "expected low <= min(open, close)"),
        ("volume", -1.0, "volume: expected greater_than_or_equal_to(0)"),
        ("open", "abc", "open: expected a value of type 'float64', got 'abc'"),
        ("interval", "5m", "interval: expected isin"),
        ("ts", pd.Timestamp("2999-01-01", tz="UTC"), "ts: expected ts not in the future"),
    ],
)
def test_each_bad_value_quarantines_only_its_row(column, value, reason):
    bars = _bars().astype({column: object})
    bars.loc[2, column] = value  # the last row, so a far-future time breaks no ordering
    rows = validate_rows(bars, OhlcvTable)
    assert len(rows.valid) == 2
    assert rows.rejected.index.tolist() == [2]
    assert reason in rows.rejected.loc[2, "reason"]


def test_duplicate_keys_quarantine_every_copy():
    bars = pd.concat([_bars(2), _bars(2).iloc[[1]]], ignore_index=True)
    rows = validate_rows(bars, OhlcvTable)
    assert len(rows.valid) == 1
    assert all("duplicate key (symbol, interval, ts)" in reason for reason in rows.rejected["reason"])


def test_out_of_order_row_is_quarantined():
    bars = _bars(3).iloc[[0, 2, 1]].reset_index(drop=True)
    rows = validate_rows(bars, OhlcvTable)
    assert rows.rejected["reason"].tolist() == ["expected rows sorted by ts within (symbol, interval)"]


def test_naive_timestamps_are_refused_as_a_whole():
    bars = _bars()
    bars["ts"] = bars["ts"].dt.tz_localize(None)
    with pytest.raises(ContractError, match="'ts' holds naive timestamps; expected timezone-aware UTC"):
        validate_rows(bars, OhlcvTable)


def test_other_zones_are_converted_to_the_same_instant_in_utc():
    bars = _bars()
    bars["ts"] = bars["ts"].dt.tz_convert("America/New_York")
    rows = validate_rows(bars, OhlcvTable)
    assert str(rows.valid["ts"].dt.tz) == "UTC"
    assert rows.valid["ts"].tolist() == _bars()["ts"].tolist()


def test_unparseable_time_text_is_quarantined_as_written():
    bars = _bars().astype({"ts": object})
    bars.loc[2, "ts"] = "2024-13-45T00:00:00+00:00"
    rows = validate_rows(bars, OhlcvTable)
    assert "got '2024-13-45T00:00:00+00:00'" in rows.rejected.loc[2, "reason"]


def test_missing_and_extra_columns_stop_the_load_naming_them():
    bars = _bars().drop(columns="close").assign(note="x")
    with pytest.raises(ContractError, match=r"unexpected column 'note'.*missing column 'close'"):
        validate_rows(bars, OhlcvTable)
