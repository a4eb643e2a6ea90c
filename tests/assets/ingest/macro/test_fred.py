"""FRED initial releases over real HTTP: query, release times, missing values, keys and failures."""

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from assets.contracts import MacroTable
from assets.ingest.http import HttpClient, HttpSourceError, RetryPolicy
from assets.ingest.macro.fred import FRED_API_KEY_ENV, fetch_fred_series
from assets.validation import validate_rows
from tests.http_server import ScriptedResponse

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "macro"
PATH = "/fred/series/observations"
START, END = date(2024, 1, 1), date(2024, 4, 1)


def _client() -> HttpClient:
    return HttpClient(retry=RetryPolicy(attempts=3, first_backoff_s=0.01), sleep=lambda _s: None)


def _payload() -> dict:
    return json.loads((FIXTURES / "fred_cpiaucsl_initial_release.json").read_text())


def _fetch(server, api_key: str | None = "test-key"):
    return fetch_fred_series(_client(), server.url, "CPIAUCSL", START, END, api_key=api_key)


def test_initial_releases_become_macro_rows(http_server):
    http_server.script(PATH, _payload())
    result = _fetch(http_server)
    rows = validate_rows(result.frame, MacroTable)
    assert rows.rejected.empty
    assert result.missing == 1
    valid = rows.valid
    assert set(valid["series_id"]) == {"FRED:CPIAUCSL"} and set(valid["source"]) == {"fred"}
    assert valid["period_start"].dt.strftime("%Y-%m-%d").tolist() == [
        "2024-01-01",
        "2024-02-01",
        "2024-04-01",
    ]
    assert valid["value"].tolist() == [300.1, 301.2, 302.3]
    # The end of the first-release day in St. Louis: CST (UTC-6) in February, CDT (UTC-5) in May.
    assert valid["released_at"].tolist() == [
        pd.Timestamp("2024-02-14 06:00", tz="UTC"),
        pd.Timestamp("2024-03-13 05:00", tz="UTC"),
        pd.Timestamp("2024-05-16 05:00", tz="UTC"),
    ]


def test_query_asks_for_first_releases_over_all_vintages(http_server):
    http_server.script(PATH, _payload())
    _fetch(http_server)
    assert http_server.requests[0].query == {
        "series_id": ["CPIAUCSL"],
        "api_key": ["test-key"],
        "file_type": ["json"],
        "observation_start": ["2024-01-01"],
        "observation_end": ["2024-04-01"],
        "output_type": ["4"],
        "realtime_start": ["1776-07-04"],
        "realtime_end": ["9999-12-31"],
    }


def test_api_key_defaults_to_the_environment(http_server, monkeypatch):
    monkeypatch.setenv(FRED_API_KEY_ENV, "env-key")
    http_server.script(PATH, _payload())
    _fetch(http_server, api_key=None)
    assert http_server.requests[0].query["api_key"] == ["env-key"]


def test_missing_api_key_names_the_variable_and_sends_nothing(http_server, monkeypatch):
    monkeypatch.delenv(FRED_API_KEY_ENV, raising=False)
    with pytest.raises(ValueError, match=r"FRED API key missing: .*environment variable FRED_API_KEY"):
        _fetch(http_server, api_key=None)
    assert http_server.requests == []


def test_a_release_from_today_is_capped_at_the_download_time(http_server):
    payload = _payload()
    payload["observations"][0]["realtime_start"] = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d")
    http_server.script(PATH, payload)
    before = pd.Timestamp.now(tz="UTC")
    frame = _fetch(http_server).frame
    assert before <= frame["released_at"].iloc[0] <= pd.Timestamp.now(tz="UTC")
    assert validate_rows(frame, MacroTable).rejected.empty


def test_error_body_is_reported_with_its_message(http_server):
    http_server.script(PATH, ScriptedResponse((FIXTURES / "fred_error_bad_api_key.json").read_bytes(), 400))
    with pytest.raises(
        HttpSourceError, match=r"HTTP 400: .*The value for variable api_key is not registered"
    ):
        _fetch(http_server)
    assert len(http_server.requests) == 1  # a client error is not retried


def test_429_then_success(http_server):
    http_server.script(PATH, ScriptedResponse("Too Many Requests", 429, {"Retry-After": "0"}), _payload())
    assert len(_fetch(http_server).frame) == 3
    assert len(http_server.requests) == 2


def test_persistent_500_gives_up_naming_the_url(http_server):
    http_server.script(PATH, ScriptedResponse("Internal Server Error", 500))
    with pytest.raises(
        HttpSourceError, match=r"/fred/series/observations failed after 3 attempt\(s\): HTTP 500"
    ):
        _fetch(http_server)


def test_truncated_json_is_a_clear_error(http_server):
    body = (FIXTURES / "fred_cpiaucsl_initial_release.json").read_text()[:300]
    http_server.script(PATH, ScriptedResponse(body, headers={"Content-Type": "application/json"}))
    with pytest.raises(HttpSourceError, match=r"/fred/series/observations answered with invalid JSON"):
        _fetch(http_server)


def test_an_answer_without_observations_says_what_was_expected(http_server):
    http_server.script(PATH, {"seriess": []})
    with pytest.raises(HttpSourceError, match=r"expected a JSON object with an 'observations' list"):
        _fetch(http_server)


def test_an_observation_without_a_release_date_says_which_fields_are_expected(http_server):
    payload = _payload()
    del payload["observations"][1]["realtime_start"]
    http_server.script(PATH, payload)
    with pytest.raises(
        HttpSourceError, match=r"expected observations with fields \['realtime_start', 'date'"
    ):
        _fetch(http_server)


def test_a_non_numeric_value_is_quarantined_naming_the_field(http_server):
    payload = _payload()
    payload["observations"][1]["value"] = "n.a."
    http_server.script(PATH, payload)
    rows = validate_rows(_fetch(http_server).frame, MacroTable)
    assert len(rows.valid) == 2
    assert rows.rejected["reason"].tolist() == ["value: expected a value of type 'float64', got 'n.a.'"]
