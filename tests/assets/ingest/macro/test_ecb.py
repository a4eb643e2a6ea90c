"""ECB reference rates: the shipped file, release times across daylight saving, and the SDMX API."""

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from assets.contracts import MacroTable
from assets.ingest.http import HttpClient, HttpSourceError, RetryPolicy
from assets.ingest.macro.ecb import ECB_FX_FILE, fetch_ecb_rates, read_ecb_daily
from assets.validation import validate_rows
from tests.conftest import SHIPPED_DATA_DIR
from tests.http_server import ScriptedResponse

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "macro"
USD_PATH = "/service/data/EXR/D.USD.EUR.SP00.A"
JPY_PATH = "/service/data/EXR/D.JPY.EUR.SP00.A"


def _client(waits: list[float]) -> HttpClient:
    return HttpClient(retry=RetryPolicy(attempts=3, first_backoff_s=0.01), sleep=waits.append)


def _released(frame: pd.DataFrame, series_id: str, day: str) -> pd.Timestamp:
    row = frame[(frame["series_id"] == series_id) & (frame["period_start"] == pd.Timestamp(day, tz="UTC"))]
    return row["released_at"].item()


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    rows = validate_rows(read_ecb_daily(SHIPPED_DATA_DIR / ECB_FX_FILE), MacroTable)
    assert rows.rejected.empty
    return rows.valid


def test_shipped_file_reads_into_the_contract(shipped: pd.DataFrame):
    assert len(shipped) == 3029 * 5
    assert shipped.groupby("series_id").size().to_dict() == {
        f"ECB:EUR{ccy}": 3029 for ccy in ("CHF", "CNY", "GBP", "JPY", "USD")
    }
    first, last = shipped.iloc[0], shipped[shipped["series_id"] == "ECB:EURCNY"].iloc[-1]
    assert (first["series_id"], first["period_start"], first["value"]) == (
        "ECB:EURUSD",
        pd.Timestamp("2015-01-02", tz="UTC"),
        1.2043,
    )
    assert (last["period_start"], last["value"]) == (pd.Timestamp("2026-10-30", tz="UTC"), 7.4326)
    assert set(shipped["source"]) == {"ecb"}


def test_release_is_16h_frankfurt_time_across_daylight_saving(shipped: pd.DataFrame):
    # Summer time began on Sunday 2026-03-29 and ended on Sunday 2026-10-25.
    assert _released(shipped, "ECB:EURUSD", "2026-03-27") == pd.Timestamp("2026-03-27 15:00", tz="UTC")
    assert _released(shipped, "ECB:EURUSD", "2026-03-30") == pd.Timestamp("2026-03-30 14:00", tz="UTC")
    assert _released(shipped, "ECB:EURJPY", "2026-10-23") == pd.Timestamp("2026-10-23 14:00", tz="UTC")
    assert _released(shipped, "ECB:EURJPY", "2026-10-26") == pd.Timestamp("2026-10-26 15:00", tz="UTC")
    delay = shipped["released_at"] - shipped["period_start"]
    assert set(delay) == {pd.Timedelta(hours=14), pd.Timedelta(hours=15)}


def test_holidays_are_skipped_and_bad_values_quarantined(tmp_path: Path):
    path = tmp_path / "ecb.csv"
    path.write_text(
        "date,USD,JPY,GBP,CHF,CNY\n2024-01-02,1.1,155.0,0.86,0.93,7.8\n2024-01-03,1.2,,0.87,n/a,7.9\n"
    )
    rows = validate_rows(read_ecb_daily(path), MacroTable)
    assert len(rows.valid) == 8  # 10 cells, one empty (skipped), one bad (quarantined)
    assert rows.rejected["series_id"].tolist() == ["ECB:EURCHF"]
    assert rows.rejected["reason"].item() == "value: expected a value of type 'float64', got 'n/a'"


def test_missing_currency_column_names_the_file_and_columns(tmp_path: Path):
    path = tmp_path / "ecb.csv"
    path.write_text("date,USD,JPY\n2024-01-02,1.1,155.0\n")
    with pytest.raises(ValueError, match=r"ecb.csv: missing columns \['GBP', 'CHF', 'CNY'\]"):
        read_ecb_daily(path)


def test_fetch_reads_sdmx_csv_per_currency(http_server):
    http_server.script(USD_PATH, (FIXTURES / "ecb_exr_d_usd.csv").read_text())
    http_server.script(JPY_PATH, (FIXTURES / "ecb_exr_d_jpy.csv").read_text())
    frame = fetch_ecb_rates(_client([]), http_server.url, ["USD", "JPY"], date(2024, 1, 1), date(2024, 7, 2))
    rows = validate_rows(frame, MacroTable)
    assert rows.rejected.empty
    assert rows.valid["series_id"].tolist() == ["ECB:EURUSD"] * 3 + ["ECB:EURJPY"] * 2  # empty value skipped
    assert rows.valid["value"].tolist() == [1.1, 1.101, 1.08, 155.0, 155.5]
    assert _released(rows.valid, "ECB:EURUSD", "2024-01-02") == pd.Timestamp("2024-01-02 15:00", tz="UTC")
    assert _released(rows.valid, "ECB:EURUSD", "2024-07-01") == pd.Timestamp("2024-07-01 14:00", tz="UTC")
    query = http_server.requests[0].query
    assert query == {"format": ["csvdata"], "startPeriod": ["2024-01-01"], "endPeriod": ["2024-07-02"]}


def test_fetch_retries_after_429(http_server):
    body = (FIXTURES / "ecb_exr_d_usd.csv").read_text()
    http_server.script(USD_PATH, ScriptedResponse("Too Many Requests", 429, {"Retry-After": "0"}), body)
    frame = fetch_ecb_rates(_client([]), http_server.url, ["USD"], date(2024, 1, 1), date(2024, 7, 2))
    assert len(frame) == 3
    assert len(http_server.requests) == 2


def test_persistent_500_names_the_series_url(http_server):
    http_server.script(USD_PATH, ScriptedResponse("Internal Server Error", 500))
    with pytest.raises(HttpSourceError, match=r"D\.USD\.EUR\.SP00\.A failed after 3 attempt\(s\): HTTP 500"):
        fetch_ecb_rates(_client([]), http_server.url, ["USD"], date(2024, 1, 1), date(2024, 1, 31))


def test_an_answer_without_sdmx_columns_says_what_was_expected(http_server):
    http_server.script(USD_PATH, "<html><body>Service temporarily unavailable</body></html>")
    with pytest.raises(HttpSourceError, match=r"missing columns \['CURRENCY', 'TIME_PERIOD', 'OBS_VALUE'\]"):
        fetch_ecb_rates(_client([]), http_server.url, ["USD"], date(2024, 1, 1), date(2024, 1, 31))


def test_an_empty_answer_is_a_clear_error(http_server):
    http_server.script(USD_PATH, "")
    with pytest.raises(HttpSourceError, match=r"unusable CSV .*expected SDMX csvdata"):
        fetch_ecb_rates(_client([]), http_server.url, ["USD"], date(2024, 1, 1), date(2024, 1, 31))
