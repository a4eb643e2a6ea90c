from pathlib import Path

import pandas as pd
import pytest

from assets.contracts import OhlcvTable
from assets.ingest.market.yahoo import read_yahoo_daily
from assets.validation import validate_rows
from orchestration.resources import BTC_USD_DAILY_FILE
from tests.conftest import SHIPPED_DATA_DIR


def test_shipped_file_reads_into_the_contract():
    rows = validate_rows(read_yahoo_daily(SHIPPED_DATA_DIR / BTC_USD_DAILY_FILE, "BTC-USD"), OhlcvTable)
    assert rows.rejected.empty
    assert len(rows.valid) == 2191
    first = rows.valid.iloc[0]
    assert first["ts"] == pd.Timestamp("2018-09-17", tz="UTC")
    assert (first["open"], first["close"]) == (6514.06, 6281.2)
    assert rows.valid["ts"].iloc[-1] == pd.Timestamp("2024-09-15", tz="UTC")


def test_rows_come_out_sorted_by_day(tmp_path: Path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "date,timestamp,open,high,low,close,volume\n2024-01-02,0,2,3,1,2,10\n2024-01-01,0,1,2,1,1,10\n"
    )
    frame = read_yahoo_daily(path, "BTC-USD")
    assert frame["ts"].tolist() == ["2024-01-01T00:00:00+00:00", "2024-01-02T00:00:00+00:00"]


def test_missing_columns_name_the_file_and_the_columns(tmp_path: Path):
    path = tmp_path / "bars.csv"
    path.write_text("date,open,close\n2024-01-01,1,1\n")
    with pytest.raises(ValueError, match=r"bars.csv: missing columns \['high', 'low', 'volume'\]"):
        read_yahoo_daily(path, "BTC-USD")
