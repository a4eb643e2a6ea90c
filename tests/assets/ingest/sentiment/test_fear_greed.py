"""The Fear & Greed index over real HTTP: day stamps, release times, API errors, quarantined values."""

import pandas as pd
import pytest

from assets.contracts import FearGreedTable
from assets.ingest.http import HttpSourceError
from assets.ingest.sentiment.fear_greed import FearGreedError, fetch_fear_greed
from assets.validation import validate_rows
from tests.assets.ingest.sentiment.conftest import fixture_json
from tests.http_server import ScriptedResponse

FNG = "/fng/"


def test_days_come_out_oldest_first_released_an_hour_after_midnight(http_server, client):
    http_server.script(FNG, fixture_json("fear_greed.json"))
    rows = validate_rows(fetch_fear_greed(client, http_server.url), FearGreedTable)
    assert rows.rejected.empty
    assert http_server.requests[0].query == {"limit": ["0"], "format": ["json"]}
    days = pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03"], utc=True)
    assert rows.valid["ts"].tolist() == days.tolist()
    assert rows.valid["value"].tolist() == [40, 76, 82]
    assert rows.valid["classification"].tolist() == ["Fear", "Extreme Greed", "Extreme Greed"]
    assert rows.valid["released_at"].tolist() == (days + pd.Timedelta(hours=1)).tolist()


def test_a_timestamp_within_the_day_is_stamped_at_its_midnight(http_server, client):
    body = fixture_json("fear_greed.json")
    body["data"] = [
        {"value": "50", "value_classification": "Neutral", "timestamp": "1709254800"}
    ]  # 01:00 UTC
    http_server.script(FNG, body)
    frame = fetch_fear_greed(client, http_server.url, limit=1)
    assert frame["ts"].tolist() == [pd.Timestamp("2024-03-01", tz="UTC")]
    assert http_server.requests[0].query["limit"] == ["1"]


def test_metadata_error_is_reported(http_server, client):
    http_server.script(
        FNG, {"name": "Fear and Greed Index", "data": [], "metadata": {"error": "Invalid limit"}}
    )
    with pytest.raises(
        FearGreedError, match=r"/fng/: the Fear & Greed API reported metadata.error = 'Invalid limit'"
    ):
        fetch_fear_greed(client, http_server.url)


def test_an_answer_without_data_names_what_was_expected(http_server, client):
    http_server.script(FNG, {"name": "Fear and Greed Index", "metadata": {"error": None}})
    with pytest.raises(FearGreedError, match="expected 'data' to be a list of objects, got 'None'"):
        fetch_fear_greed(client, http_server.url)


def test_out_of_range_and_non_numeric_values_are_quarantined_by_the_contract(http_server, client):
    body = fixture_json("fear_greed.json")
    body["data"][0]["value"] = "140"
    body["data"][1]["value"] = "n/a"
    http_server.script(FNG, body)
    rows = validate_rows(fetch_fear_greed(client, http_server.url), FearGreedTable)
    assert rows.valid["value"].tolist() == [40]
    reasons = rows.rejected.set_index("ts")["reason"]
    assert reasons[pd.Timestamp("2024-03-03", tz="UTC")].startswith(
        "value: expected less_than_or_equal_to(100)"
    )
    assert (
        reasons[pd.Timestamp("2024-03-02", tz="UTC")] == "value: expected a value of type 'int64', got 'n/a'"
    )


def test_truncated_json_is_a_clear_error(http_server, client):
    http_server.script(
        FNG, ScriptedResponse('{"data": [{"value": "4', headers={"Content-Type": "application/json"})
    )
    with pytest.raises(HttpSourceError, match=r"/fng/ answered with invalid JSON"):
        fetch_fear_greed(client, http_server.url)
