"""Importing exported DEX trades from CSV and Parquet into the `dex_trades` contract's columns."""

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from assets.contracts.dex_trades import DexTradesTable
from assets.ingest.solana.pools import METEORA_SOL_USDC, ORCA_SOL_USDC, RAYDIUM_SOL_USDC
from assets.ingest.solana.swaps import TRADE_COLUMNS, extract_swaps
from assets.ingest.solana.trade_files import read_trade_file
from assets.validation import validate_rows

FIXTURES = Path(__file__).parents[3] / "fixtures" / "solana"


def _trades() -> pd.DataFrame:
    """The six buy and sell fixtures as contract rows, sorted as the contract wants them."""
    rows = [
        trade
        for kind, pool in (
            ("raydium", RAYDIUM_SOL_USDC),
            ("whirlpool", ORCA_SOL_USDC),
            ("dlmm", METEORA_SOL_USDC),
        )
        for side in ("buy", "sell")
        for trade in extract_swaps(json.loads((FIXTURES / f"{kind}_{side}.json").read_text())["result"], pool)
    ]
    return pd.DataFrame(rows).sort_values(["block_time", "slot"]).reset_index(drop=True)


def _assert_valid(frame: pd.DataFrame, expected: pd.DataFrame) -> None:
    rows = validate_rows(frame, DexTradesTable)
    assert rows.rejected.empty
    pd.testing.assert_frame_equal(rows.valid, expected, check_dtype=False)


def test_csv_reads_into_the_contract_and_drops_extra_columns(tmp_path: Path, caplog):
    caplog.set_level(logging.INFO, logger="assets.ingest.solana.trade_files")
    path = tmp_path / "trades.csv"
    _trades().assign(fee_lamports=5000).to_csv(path, index=False)
    frame = read_trade_file(path)
    assert list(frame.columns) == list(TRADE_COLUMNS)
    assert frame["block_time"].dtype == "datetime64[ns, UTC]"
    assert frame["price"].iloc[0] == "167.0"  # passed through as read: the contract coerces
    assert "trades.csv: dropping columns ['fee_lamports']" in caplog.text
    _assert_valid(frame, _trades())


def test_parquet_reads_into_the_contract(tmp_path: Path):
    path = tmp_path / "trades.parquet"
    _trades().to_parquet(path)
    _assert_valid(read_trade_file(path), _trades())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_unix_seconds_become_utc(tmp_path: Path, suffix: str):
    trades = _trades()
    exported = trades.assign(block_time=trades["block_time"].map(lambda ts: int(ts.timestamp())))
    path = tmp_path / f"trades{suffix}"
    if suffix == ".csv":
        exported.to_csv(path, index=False)
    else:
        exported.to_parquet(path)
    pd.testing.assert_series_equal(read_trade_file(path)["block_time"], trades["block_time"])


def test_times_with_another_offset_become_utc(tmp_path: Path):
    trades = _trades()
    path = tmp_path / "trades.csv"
    trades.assign(block_time=trades["block_time"].dt.tz_convert("Europe/Berlin")).to_csv(path, index=False)
    assert read_trade_file(path)["block_time"].tolist() == trades["block_time"].tolist()


def test_bad_values_are_left_for_the_contract_to_reject(tmp_path: Path):
    path = tmp_path / "trades.csv"
    bad = _trades().astype({"block_time": str})
    bad.loc[1, "side"] = "hold"
    bad.loc[2, "block_time"] = "yesterday"
    bad.to_csv(path, index=False)
    frame = read_trade_file(path)
    assert frame.loc[2, "block_time"] == "yesterday"
    rows = validate_rows(frame, DexTradesTable)
    assert rows.rejected["reason"].tolist() == [
        "side: expected isin(['buy', 'sell']), got 'hold'",
        "block_time: expected a value of type 'datetime64[ns, UTC]', got 'yesterday'",
    ]
    assert len(rows.valid) == 4


def test_times_without_a_utc_offset_refuse_the_file(tmp_path: Path):
    path = tmp_path / "trades.csv"
    trades = _trades()
    trades.assign(block_time=trades["block_time"].dt.strftime("%Y-%m-%d %H:%M:%S")).to_csv(path, index=False)
    with pytest.raises(
        ValueError,
        match=r"trades.csv: block_time without a UTC offset in 6 row\(s\), e.g. '2024-06-01 00:00:00'; "
        "expected ISO 8601 times with an offset or Unix seconds",
    ):
        read_trade_file(path)


def test_missing_columns_name_the_file_and_the_columns(tmp_path: Path):
    path = tmp_path / "trades.csv"
    _trades().drop(columns=["price", "trader"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"trades.csv: missing columns \['price', 'trader'\]; expected \["):
        read_trade_file(path)


def test_an_unsupported_suffix_is_named(tmp_path: Path):
    path = tmp_path / "trades.json"
    path.write_text("[]")
    with pytest.raises(
        ValueError, match=r"trades.json: unsupported suffix '.json'; expected one of \['.csv', '.parquet'\]"
    ):
        read_trade_file(path)
