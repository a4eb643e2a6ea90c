"""CryptoPanic posts over real HTTP: paging back to `since`, API errors, the token requirement."""

import pandas as pd
import pytest

from assets.contracts import SentimentItemsTable
from assets.ingest.http import HttpSourceError
from assets.ingest.sentiment.cryptopanic import CryptoPanicError, fetch_cryptopanic
from assets.ingest.sentiment.scoring import score_items
from assets.validation import validate_rows
from tests.assets.ingest.sentiment.conftest import fixture_json
from tests.http_server import ScriptedResponse

POSTS = "/api/v1/posts/"
SINCE = pd.Timestamp("2024-03-01", tz="UTC")
UNREACHABLE = "http://127.0.0.1:9/api/v1"


def _fetch(http_server, client, token: str | None = "secret-token", max_pages: int = 5):
    return fetch_cryptopanic(client, f"{http_server.url}/api/v1", token, SINCE, max_pages)


def test_pages_are_followed_until_they_reach_before_since(http_server, client):
    http_server.script(POSTS, fixture_json("cryptopanic_page1.json"), fixture_json("cryptopanic_page2.json"))
    read = _fetch(http_server, client)
    # Page 2 reaches back before `since`, so page 3 is never asked for, and its old post is dropped.
    assert [request.query.get("page") for request in http_server.requests] == [None, ["2"]]
    first = http_server.requests[0].query
    assert first == {"auth_token": ["secret-token"], "public": ["true"], "kind": ["news"]}
    assert read.items["item_id"].tolist() == ["9001", "9000", "8999"]
    assert read.items["published_at"].tolist() == [
        pd.Timestamp("2024-03-03 14:20:05", tz="UTC"),
        pd.Timestamp("2024-03-03 09:02:41.123456", tz="UTC"),
        pd.Timestamp("2024-03-02 18:45:00", tz="UTC"),
    ]
    assert (read.items["source"] == "cryptopanic").all()
    assert read.items["url"].iloc[0] == (
        "https://cryptopanic.example/news/9001/Bitcoin-rallies-as-traders-post-strong-gains"
    )
    assert read.rejected.empty
    assert validate_rows(score_items(read.items), SentimentItemsTable).rejected.empty


def test_max_pages_caps_the_requests(http_server, client):
    http_server.script(POSTS, fixture_json("cryptopanic_page1.json"), fixture_json("cryptopanic_page2.json"))
    read = _fetch(http_server, client, max_pages=1)
    assert len(http_server.requests) == 1
    assert read.items["item_id"].tolist() == ["9001", "9000"]


def test_post_without_a_date_is_rejected_with_a_reason(http_server, client):
    page = fixture_json("cryptopanic_page1.json") | {"next": None}
    del page["results"][1]["published_at"]
    http_server.script(POSTS, page)
    read = _fetch(http_server, client)
    assert read.items["item_id"].tolist() == ["9001"]
    assert read.rejected["item_id"].tolist() == ["9000"]
    assert read.rejected["reason"].tolist() == ["published_at: expected a date in published_at, got None"]


def test_api_error_body_is_reported_with_its_info(http_server, client):
    http_server.script(POSTS, {"status": "api_error", "info": "Token not found"})
    with pytest.raises(
        CryptoPanicError, match=r"CryptoPanic API error at .*/posts/ \(api_error\): Token not found"
    ):
        _fetch(http_server, client)


def test_an_answer_without_results_names_what_was_expected(http_server, client):
    http_server.script(POSTS, {"count": 0})
    with pytest.raises(
        CryptoPanicError, match=r"expected a JSON object with a 'results' list, got \"\{'count': 0\}\""
    ):
        _fetch(http_server, client)


@pytest.mark.parametrize("token", [None, ""])
def test_missing_token_names_the_environment_variable(client, token):
    # Nothing listens on UNREACHABLE: asking it anything would fail with an HttpSourceError instead.
    with pytest.raises(CryptoPanicError, match="set the CRYPTOPANIC_TOKEN environment variable"):
        fetch_cryptopanic(client, UNREACHABLE, token, SINCE, 1)


def test_the_token_stays_out_of_error_messages(http_server, client):
    http_server.script(POSTS, fixture_json("cryptopanic_page1.json"), ScriptedResponse("forbidden", 403))
    with pytest.raises(HttpSourceError) as raised:
        _fetch(http_server, client)
    assert "secret-token" not in str(raised.value)


def test_truncated_json_is_a_clear_error(http_server, client):
    http_server.script(
        POSTS, ScriptedResponse('{"results": [{"id": 1', headers={"Content-Type": "application/json"})
    )
    with pytest.raises(HttpSourceError, match=r"/posts/ answered with invalid JSON"):
        _fetch(http_server, client)


def test_naive_since_is_refused(client):
    with pytest.raises(ValueError, match="since: expected a timezone-aware timestamp"):
        fetch_cryptopanic(client, UNREACHABLE, "secret-token", pd.Timestamp("2024-03-01"), 1)
