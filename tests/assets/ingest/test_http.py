"""The shared HTTP client against a real local server: retries, backoff, rate limit, clear failures."""

import pytest

from assets.ingest.http import HttpClient, HttpSourceError, RetryPolicy
from tests.http_server import ScriptedResponse


def _client(waits: list[float], **kwargs) -> HttpClient:
    return HttpClient(retry=RetryPolicy(attempts=4, first_backoff_s=0.25), sleep=waits.append, **kwargs)


def test_json_round_trip(http_server):
    http_server.script("/echo", {"ok": True})
    assert _client([]).post_json(f"{http_server.url}/echo", {"a": 1}) == {"ok": True}
    assert http_server.requests[0].json() == {"a": 1}


def test_429_then_success_waits_as_the_server_asks(http_server):
    http_server.script("/x", ScriptedResponse("slow down", 429, {"Retry-After": "2"}), {"v": 1})
    waits: list[float] = []
    assert _client(waits).get_json(f"{http_server.url}/x") == {"v": 1}
    assert waits == [2.0]


def test_5xx_backs_off_exponentially_then_succeeds(http_server):
    http_server.script("/x", ScriptedResponse("", 502), ScriptedResponse("", 503), {"v": 2})
    waits: list[float] = []
    assert _client(waits).get_json(f"{http_server.url}/x") == {"v": 2}
    assert waits == [0.25, 0.5]


def test_persistent_500_gives_up_naming_url_and_status(http_server):
    http_server.script("/x", ScriptedResponse("boom", 500))
    with pytest.raises(HttpSourceError, match=r"GET .*/x failed after 4 attempt\(s\): HTTP 500: 'boom'"):
        _client([]).get_json(f"{http_server.url}/x")
    assert len(http_server.requests) == 4


def test_client_errors_are_not_retried(http_server):
    http_server.script("/x", ScriptedResponse("bad key", 403))
    with pytest.raises(HttpSourceError, match="after 1 attempt"):
        _client([]).get_json(f"{http_server.url}/x")


def test_timeouts_are_retried_then_reported(http_server):
    http_server.script("/x", ScriptedResponse({"late": True}, delay_s=0.5))
    client = HttpClient(
        timeout_s=0.1, retry=RetryPolicy(attempts=2, first_backoff_s=0), sleep=lambda _s: None
    )
    with pytest.raises(HttpSourceError, match=r"failed after 2 attempt.*ReadTimeout"):
        client.get_json(f"{http_server.url}/x")


def test_truncated_json_is_a_clear_error(http_server):
    http_server.script(
        "/x", ScriptedResponse('{"result": [1, 2', headers={"Content-Type": "application/json"})
    )
    with pytest.raises(HttpSourceError, match=r"invalid JSON .*'\{\"result\": \[1, 2'"):
        _client([]).get_json(f"{http_server.url}/x")


def test_minimum_interval_spaces_requests(http_server):
    http_server.script("/x", {"v": 1})
    waits: list[float] = []
    client = _client(waits, min_interval_s=10.0)
    client.get_json(f"{http_server.url}/x")
    client.get_json(f"{http_server.url}/x")
    assert len(waits) == 1 and 9.0 < waits[0] <= 10.0


def test_failure_keeps_the_status_and_hides_credentials(http_server):
    http_server.script("/x", ScriptedResponse("not found", 404))
    with pytest.raises(HttpSourceError) as failure:
        _client([]).get_json(f"{http_server.url}/x", {"api_key": "s3cret", "series_id": "CPI"})
    assert failure.value.status == 404
    assert "s3cret" not in str(failure.value)


def test_connection_errors_do_not_leak_tokens():
    client = HttpClient(timeout_s=0.2, retry=RetryPolicy(attempts=1), sleep=lambda _s: None)
    with pytest.raises(HttpSourceError) as failure:
        client.get_json("http://127.0.0.1:9/posts/", {"auth_token": "s3cret"})
    assert failure.value.status is None
    assert "s3cret" not in str(failure.value) and "auth_token=***" in str(failure.value)


def test_bytes_are_returned_undecoded(http_server):
    http_server.script("/feed", ScriptedResponse("<rss>é</rss>".encode()))
    assert _client([]).get_bytes(f"{http_server.url}/feed") == "<rss>é</rss>".encode()
