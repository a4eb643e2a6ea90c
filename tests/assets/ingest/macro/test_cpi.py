"""US CPI: the shipped file, and release times that are never earlier than the real publication."""

from pathlib import Path

import pandas as pd
import pytest

from assets.contracts import MacroTable
from assets.ingest.macro.cpi import CPI_FILE, cpi_released_at, read_cpi_monthly
from assets.validation import validate_rows
from tests.conftest import SHIPPED_DATA_DIR

# Real publication times (08:30 ET) from BLS news releases and notices, to check the rule against.
VERIFIED_RELEASES = {
    "2015-01-01": "2015-02-26 13:30",  # USDL-15-0281, a late January release (EST)
    "2015-02-01": "2015-03-24 12:30",  # USDL-15-0477 (EDT)
    "2025-09-01": "2025-10-24 12:30",  # rescheduled from 15 October by the shutdown (EDT)
    "2025-11-01": "2025-12-18 13:30",  # moved from 10 December after the shutdown (EST)
}


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    rows = validate_rows(read_cpi_monthly(SHIPPED_DATA_DIR / CPI_FILE), MacroTable)
    assert rows.rejected.empty
    return rows.valid


def _released(frame: pd.DataFrame, month: str) -> pd.Timestamp:
    return frame.loc[frame["period_start"] == pd.Timestamp(month, tz="UTC"), "released_at"].item()


def test_shipped_file_reads_into_the_contract(shipped: pd.DataFrame):
    assert len(shipped) == 139
    assert set(shipped["series_id"]) == {"BLS:CUSR0000SA0"}
    first, last = shipped.iloc[0], shipped.iloc[-1]
    assert (first["period_start"], first["value"]) == (pd.Timestamp("2015-01-01", tz="UTC"), 234.747)
    assert (last["period_start"], last["value"]) == (pd.Timestamp("2026-08-01", tz="UTC"), 334.131)


def test_october_2025_is_absent_as_bls_never_published_it(shipped: pd.DataFrame):
    months = shipped["period_start"].dt.strftime("%Y-%m")
    assert "2025-10" not in set(months)
    assert {"2025-09", "2025-11"} <= set(months)


def test_rule_is_0830_new_york_on_the_last_day_of_the_next_month(shipped: pd.DataFrame):
    assert _released(shipped, "2024-01-01") == pd.Timestamp("2024-02-29 13:30", tz="UTC")  # EST
    assert _released(shipped, "2024-05-01") == pd.Timestamp("2024-06-30 12:30", tz="UTC")  # EDT
    next_month = (shipped["period_start"].dt.tz_localize(None).dt.to_period("M") + 1).astype(str)
    assert (shipped["released_at"].dt.strftime("%Y-%m") == next_month).all()
    assert (shipped["released_at"] > shipped["period_start"] + pd.DateOffset(months=1)).all()


def test_never_earlier_than_a_verified_release(shipped: pd.DataFrame):
    for month, published in VERIFIED_RELEASES.items():
        assert _released(shipped, month) >= pd.Timestamp(published, tz="UTC"), month


def test_shutdown_overrides_use_the_real_release_days(shipped: pd.DataFrame):
    assert _released(shipped, "2025-09-01") == pd.Timestamp("2025-10-24 12:30", tz="UTC")
    assert _released(shipped, "2025-11-01") == pd.Timestamp("2025-12-18 13:30", tz="UTC")


def test_an_october_2025_value_could_not_be_public_before_the_november_release():
    released = cpi_released_at(pd.Series(["2025-10-01"])).item()
    assert released == pd.Timestamp("2025-12-18 13:30", tz="UTC")  # the rule alone would say 30 November


def test_bad_rows_are_quarantined_with_the_field_named(tmp_path: Path):
    path = tmp_path / "cpi.csv"
    path.write_text("date,cpi_u_sa\n2024-01-01,308.4\n2024-02-01,three hundred\n2024-13-01,309.0\n")
    rows = validate_rows(read_cpi_monthly(path), MacroTable)
    assert rows.valid["value"].tolist() == [308.4]
    reasons = rows.rejected["reason"].tolist()
    assert reasons[0] == "value: expected a value of type 'float64', got 'three hundred'"
    assert reasons[1].startswith("period_start: expected a value of type")
    assert "'2024-13-01T00:00:00+00:00'" in reasons[1]


def test_missing_columns_name_the_file(tmp_path: Path):
    path = tmp_path / "cpi.csv"
    path.write_text("date,value\n2024-01-01,308.4\n")
    with pytest.raises(
        ValueError, match=r"cpi.csv: missing columns \['cpi_u_sa'\]; expected \['date', 'cpi_u_sa'\]"
    ):
        read_cpi_monthly(path)
