"""Binance bars: the shipped BTCUSDT hourly file as published, and klines paged over real HTTP."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from assets.contracts import OhlcvTable
from assets.ingest.http import HttpClient, HttpSourceError, RetryPolicy
from assets.ingest.market.binance import (
    BINANCE_BTCUSDT_HOURLY_FILE,
    fetch_binance_klines,
    read_binance_hourly,
)
from assets.validation import validate_rows
from tests.conftest import SHIPPED_DATA_DIR
from tests.http_server import ScriptedResponse

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "binance"
PATH = "/api/v3/klines"
START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 1, 2, tzinfo=UTC)
START_MS, END_MS = 1704067200000, 1704153600000
HEADER = "timestamp,open,high,low,close,volume_btc,volume_usdt,trade_count\n"


def _page(number: int) -> list[list]:
    return json.loads((FIXTURES / f"klines_btcusdt_1h_page{number}.json").read_text())


def _fetch(server, page_size: int = 1000) -> pd.DataFrame:
    client = HttpClient(retry=RetryPolicy(attempts=3, first_backoff_s=0.01), sleep=lambda _s: None)
    return fetch_binance_klines(client, server.url, "BTCUSDT", "1h", START, END, page_size=page_size)


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    rows = validate_rows(read_binance_hourly(SHIPPED_DATA_DIR / BINANCE_BTCUSDT_HOURLY_FILE), OhlcvTable)
    assert rows.rejected.empty
    return rows.valid


def test_shipped_file_reads_into_the_contract(shipped: pd.DataFrame):
    assert len(shipped) == 42287
    assert set(shipped["symbol"]) == {"BTCUSDT"} and set(shipped["interval"]) == {"1h"}
    first, last = shipped.iloc[0], shipped.iloc[-1]
    assert first["ts"] == pd.Timestamp("2017-08-17 04:00", tz="UTC")
    assert (first["low"], first["close"], first["volume"]) == (4261.32, 4308.83, 190952.85)  # volume_usdt
    assert last["ts"] == pd.Timestamp("2022-06-15 00:00", tz="UTC")
    assert (last["open"], last["close"], last["volume"]) == (22136.42, 22029.16, 43694938.3844979)


def test_shipped_file_anomalies_are_kept_as_published(shipped: pd.DataFrame):
    steps = shipped["ts"].diff().dropna()
    assert steps.min() == pd.Timedelta(hours=1)  # sorted, no duplicate hours
    gaps = steps[steps > pd.Timedelta(hours=1)]
    assert (len(gaps), int((gaps / pd.Timedelta(hours=1) - 1).sum())) == (10, 22)
    flat = shipped[shipped["volume"] == 0]
    assert len(flat) == 117
    assert (flat["high"] == flat["low"]).all()
    assert (shipped.iloc[0]["open"], shipped.iloc[0]["high"]) == (16199.91, 16199.91)  # the odd first bar


def test_bad_bars_are_quarantined_naming_the_field(tmp_path: Path):
    path = tmp_path / "bars.csv"
    lines = [
        "1704074400,42150.0,42160.0,41800.0,41850.0,12.5,523000.0,1002",
        "1704067200,42000.0,42100.0,41900.0,42050.0,10.5,441000.0,1000",
        "1704070800,42050.0,42200.0,42000.0,4215O.0,11.5,484000.0,1001",  # letter O in close
        "1704078000,-41850.0,42000.0,41700.0,41950.0,13.5,565000.0,1003",
        "1704081600,41950.0,41900.0,42300.0,41950.0,14.5,607000.0,1004",  # high < low
        "17040852OO,41950.0,42000.0,41900.0,41950.0,14.5,607000.0,1005",
    ]
    path.write_text(HEADER + "\n".join(lines) + "\n")
    frame = read_binance_hourly(path)
    assert frame["ts"].tolist()[:2] == ["2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+00:00"]  # sorted
    result = validate_rows(frame, OhlcvTable)
    assert result.valid["ts"].tolist() == [
        pd.Timestamp("2024-01-01 00:00", tz="UTC"),
        pd.Timestamp("2024-01-01 02:00", tz="UTC"),
    ]
    reasons = dict(zip(result.rejected["ts"], result.rejected["reason"], strict=True))
    assert reasons["2024-01-01T01:00:00+00:00"] == "close: expected a value of type 'float64', got '4215O.0'"
    assert "open: expected greater_than(0), got -41850.0" in reasons["2024-01-01T03:00:00+00:00"]
    assert "expected high >= max(open, close)" in reasons["2024-01-01T04:00:00+00:00"]
    assert "expected low <= min(open, close)" in reasons["2024-01-01T04:00:00+00:00"]
    assert reasons["17040852OO"].startswith("ts: expected a value of type")


def test_missing_columns_name_the_file(tmp_path: Path):
    path = tmp_path / "bars.csv"
    path.write_text("timestamp,open,high,low,close\n1704067200,1,2,1,2\n")
    with pytest.raises(
        ValueError, match=r"bars.csv: missing columns \['volume_btc', 'volume_usdt', 'trade_count'\]"
    ):
        read_binance_hourly(path)


def test_fetch_pages_by_start_time_until_a_short_page(http_server):
    http_server.script(PATH, _page(1), _page(2))
    rows = validate_rows(_fetch(http_server, page_size=3), OhlcvTable)
    assert rows.rejected.empty
    valid = rows.valid
    assert valid["ts"].tolist() == list(pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC"))
    assert valid["close"].tolist() == [42050.0, 42150.0, 41850.0, 41950.0, 42250.0]
    assert valid["volume"].iloc[0] == 4201000.12345678  # quoteAssetVolume, not base volume
    assert set(valid["source"]) == {"binance"}
    queries = [request.query for request in http_server.requests]
    assert [q["startTime"] for q in queries] == [[str(START_MS)], [str(_page(1)[-1][0] + 1)]]
    assert all(q["endTime"] == [str(END_MS - 1)] and q["limit"] == ["3"] for q in queries)
    assert queries[0]["symbol"] == ["BTCUSDT"] and queries[0]["interval"] == ["1h"]


def test_a_bar_still_open_is_dropped(http_server):
    now_ms = int(pd.Timestamp.now(tz="UTC").value // 1_000_000)
    forming = [*_page(2)[-1]]
    forming[0], forming[6] = now_ms - 1_800_000, now_ms + 1_800_000
    http_server.script(PATH, [*_page(1), forming])
    frame = _fetch(http_server)
    assert len(frame) == 3
    assert validate_rows(frame, OhlcvTable).rejected.empty


def test_a_range_without_bars_gives_an_empty_frame(http_server):
    http_server.script(PATH, [])
    frame = _fetch(http_server)
    assert frame.empty
    assert list(frame.columns) == list(OhlcvTable.to_schema().columns)


def test_429_then_success(http_server):
    http_server.script(PATH, ScriptedResponse({"code": -1003, "msg": "Too many requests"}, 429), _page(2))
    assert len(_fetch(http_server)) == 2
    assert len(http_server.requests) == 2


def test_persistent_500_gives_up_naming_the_url(http_server):
    http_server.script(PATH, ScriptedResponse("Internal Server Error", 500))
    with pytest.raises(HttpSourceError, match=r"/api/v3/klines failed after 3 attempt\(s\): HTTP 500"):
        _fetch(http_server)


def test_truncated_json_is_a_clear_error(http_server):
    body = (FIXTURES / "klines_btcusdt_1h_page1.json").read_text()[:150]
    http_server.script(PATH, ScriptedResponse(body, headers={"Content-Type": "application/json"}))
    with pytest.raises(HttpSourceError, match=r"/api/v3/klines answered with invalid JSON"):
        _fetch(http_server)


def test_binance_error_body_is_reported_with_code_and_message(http_server):
    http_server.script(PATH, ScriptedResponse((FIXTURES / "error_invalid_symbol.json").read_bytes(), 400))
    with pytest.raises(HttpSourceError, match=r"HTTP 400: .*\"code\": -1121, \"msg\": \"Invalid symbol.\""):
        _fetch(http_server)


def test_an_answer_that_is_not_klines_says_what_was_expected(http_server):
    http_server.script(PATH, {"code": -1121, "msg": "Invalid symbol."})
    with pytest.raises(
        HttpSourceError, match=r"expected a JSON array of klines \[openTime, .*-1121.*Invalid symbol"
    ):
        _fetch(http_server)


def test_a_server_ignoring_start_time_cannot_trap_the_pager(http_server):
    http_server.script(PATH, _page(1))  # the same full page, again and again
    with pytest.raises(HttpSourceError, match="did not move past it"):
        _fetch(http_server, page_size=3)
    assert len(http_server.requests) == 2


def test_naive_times_are_refused(http_server):
    client = HttpClient()
    with pytest.raises(ValueError, match=r"start=.* is naive; expected a timezone-aware time"):
        fetch_binance_klines(client, http_server.url, "BTCUSDT", "1h", datetime(2024, 1, 1), END)
    assert http_server.requests == []
