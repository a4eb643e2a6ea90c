"""RSS 2.0 and Atom feeds over real HTTP: items in UTC, undated entries rejected, broken feeds named."""

import hashlib

import pandas as pd
import pytest

from assets.contracts import SentimentItemsTable
from assets.ingest.http import HttpSourceError
from assets.ingest.sentiment.feeds import FeedError, fetch_feed, parse_feed
from assets.ingest.sentiment.scoring import score_items
from assets.validation import validate_rows
from tests.assets.ingest.sentiment.conftest import fixture_text
from tests.http_server import ScriptedResponse

RSS_TYPE = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM_TYPE = {"Content-Type": "application/atom+xml; charset=utf-8"}


def _serve(http_server, path: str, fixture: str, headers: dict[str, str]) -> str:
    http_server.script(path, ScriptedResponse(fixture_text(fixture), headers=headers))
    return f"{http_server.url}{path}"


def test_rss2_feed_over_http(http_server, client):
    read = fetch_feed(client, _serve(http_server, "/rss", "rss2_feed.xml", RSS_TYPE), "wire")
    items = read.items.set_index("item_id")
    content_id = hashlib.sha256(
        b"Ethereum developers schedule network upgrade\nThu, 29 Feb 2024 22:00:00 GMT"
    )
    assert items.index.tolist() == [
        "wire-1001",  # the guid
        "https://news.example.com/2024/03/01/exchange-hack",  # no guid: the link
        content_id.hexdigest(),  # neither: a hash of title and date
    ]
    assert items["published_at"].tolist() == [
        pd.Timestamp("2024-03-01 09:15", tz="UTC"),
        pd.Timestamp("2024-03-01 10:40", tz="UTC"),  # 05:40 -0500
        pd.Timestamp("2024-02-29 22:00", tz="UTC"),
    ]
    assert (items["source"] == "wire").all()
    assert items.loc["wire-1001", "url"] == "https://news.example.com/2024/03/01/etf-inflows"
    assert validate_rows(score_items(read.items), SentimentItemsTable).rejected.empty


def test_atom_feed_over_http(http_server, client):
    read = fetch_feed(client, _serve(http_server, "/atom", "atom_feed.xml", ATOM_TYPE), "journal")
    assert read.rejected.empty
    assert read.items.to_dict("records") == [
        {
            "source": "journal",
            "item_id": "urn:example:chain-journal:2001",
            "published_at": pd.Timestamp("2024-03-02 08:30", tz="UTC"),  # published (10:30 +02:00) wins
            "title": "Solana network suffers outage, prices fall",
            "body": "Validators stalled for two hours.",
            "url": "https://journal.example.org/2001",
        },
        {
            "source": "journal",
            "item_id": "urn:example:chain-journal:2002",
            "published_at": pd.Timestamp("2024-03-02 07:05", tz="UTC"),  # only `updated`
            "title": "Stablecoin issuer publishes monthly attestation",
            "body": "Reserves were reported as of month end.",
            "url": "https://journal.example.org/2002",
        },
    ]
    assert validate_rows(score_items(read.items), SentimentItemsTable).rejected.empty


def test_entry_without_a_date_is_rejected_with_a_reason():
    read = parse_feed(fixture_text("rss2_feed.xml"), "wire")
    assert read.rejected["item_id"].tolist() == ["wire-1003"]
    assert read.rejected["reason"].tolist() == [
        "published_at: expected a date in published/updated, got None"
    ]
    assert "wire-1003" not in read.items["item_id"].tolist()


def test_unreadable_date_is_quoted_in_the_reason():
    text = fixture_text("rss2_feed.xml").replace("Fri, 01 Mar 2024 09:15:00 +0000", "sometime soon")
    read = parse_feed(text, "wire")
    assert (
        "published_at: expected a date in published/updated, got 'sometime soon'"
        in read.rejected["reason"].tolist()
    )


def test_html_is_stripped_and_whitespace_collapsed():
    body = (
        parse_feed(fixture_text("rss2_feed.xml"), "wire").items.set_index("item_id").loc["wire-1001", "body"]
    )
    assert body == "Spot funds took in strong inflows on Thursday. Analysts see & expect more."


def test_text_declared_in_another_encoding_is_read_as_the_decoded_text_it_is():
    text = fixture_text("rss2_feed.xml").replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    text = text.replace("Bitcoin ETF inflows", "Café ETF inflows")
    titles = parse_feed(text, "wire").items["title"]
    assert titles.iloc[0] == "Café ETF inflows hit record as investors pile in"


def test_malformed_xml_names_url_source_and_parser_message(http_server, client):
    url = _serve(http_server, "/broken", "malformed.xml", RSS_TYPE)
    with pytest.raises(
        FeedError, match=rf"^{url}: wire: malformed feed, no entries could be read: .*not well-formed"
    ):
        fetch_feed(client, url, "wire")


def test_a_document_that_is_not_a_feed_is_an_error():
    with pytest.raises(FeedError, match="wire: expected an RSS or Atom feed"):
        parse_feed("<html><body>Service temporarily unavailable</body></html>", "wire")


def test_truncated_feed_keeps_the_entries_it_could_read():
    text = fixture_text("rss2_feed.xml")
    truncated = text[: text.index("<item>", text.index("</item>"))] + "<item><title>cut"
    read = parse_feed(truncated, "wire")
    assert read.items["item_id"].tolist() == ["wire-1001"]


def test_empty_feed_is_no_items_not_an_error():
    read = parse_feed(fixture_text("empty_feed.xml"), "quiet")
    assert read.items.empty and read.rejected.empty
    assert validate_rows(score_items(read.items), SentimentItemsTable).valid.empty


def test_429_then_success_waits_as_asked(http_server, client, waits):
    http_server.script(
        "/rss",
        ScriptedResponse("slow down", 429, {"Retry-After": "3"}),
        ScriptedResponse(fixture_text("rss2_feed.xml"), headers=RSS_TYPE),
    )
    read = fetch_feed(client, f"{http_server.url}/rss", "wire")
    assert len(read.items) == 3
    assert waits == [3.0]
    assert len(http_server.requests) == 2


def test_persistent_failure_names_the_url(http_server, client):
    http_server.script("/rss", ScriptedResponse("down", 503))
    with pytest.raises(HttpSourceError, match=r"GET .*/rss failed after 3 attempt\(s\): HTTP 503"):
        fetch_feed(client, f"{http_server.url}/rss", "wire")
