"""RSS 2.0 and Atom news feeds → items, read with feedparser (which copes with both and with sloppy XML)."""

from __future__ import annotations

import calendar
import io
from typing import Any

import feedparser
import pandas as pd

from assets.ingest.http import HttpClient
from assets.ingest.sentiment.items import FeedItems, RawItem, build_items

# The fields feedparser dates an entry by, in order of preference: RSS pubDate / Atom published
# first (when the item appeared), Atom updated only when there is nothing better.
_DATE_FIELDS = "published/updated"

# The text is already decoded, so feedparser gets UTF-8 bytes declared as such: its encoding
# sniffing would otherwise trust an XML declaration (e.g. ISO-8859-1) that no longer applies.
_DECODED_TEXT = {"content-type": "application/xml; charset=utf-8"}


class FeedError(ValueError):
    """A feed could not be read at all: names the source (and URL) and the parser's complaint."""


def fetch_feed(client: HttpClient, url: str, source: str) -> FeedItems:
    """Download and parse one feed; a failure names the URL as well as the source."""
    document = client.get_bytes(url)  # raw bytes: the XML declaration, not HTTP, names the encoding
    try:
        return parse_feed(document, source)
    except FeedError as error:
        raise FeedError(f"{url}: {error}") from None


def parse_feed(document: str | bytes, source: str) -> FeedItems:
    """Items of an RSS or Atom document, tagged with `source`; undated entries come back rejected.

    feedparser flags XML it had to recover from (`bozo`) but still returns what it could read: a
    truncated feed keeps its complete entries. Only when nothing could be read is the feed an
    error. A well-formed feed with no entries is simply a quiet feed and yields no items.
    """
    # A stream, not the str: feedparser would fetch a str that looks like a URL or open one that
    # names an existing file. Bytes keep their own declared encoding; text is handed over as UTF-8.
    if isinstance(document, bytes):
        parsed = feedparser.parse(io.BytesIO(document))
    else:
        parsed = feedparser.parse(io.BytesIO(document.encode("utf-8")), response_headers=_DECODED_TEXT)
    if not parsed.entries:
        if parsed.bozo:
            raise FeedError(f"{source}: malformed feed, no entries could be read: {parsed.bozo_exception}")
        if not parsed.get("version"):
            raise FeedError(f"{source}: expected an RSS or Atom feed, got a document that is neither")
    return build_items(source, (_raw_item(entry) for entry in parsed.entries), _DATE_FIELDS)


def _raw_item(entry: Any) -> RawItem:
    """feedparser maps RSS guid and Atom id both to `id`, and description/summary to `summary`."""
    return RawItem(
        item_id=entry.get("id") or entry.get("link"),
        published_at=_entry_time(entry),
        published_text=_first(entry, "published", "updated"),
        title=entry.get("title"),
        body=entry.get("summary"),
        url=entry.get("link"),
    )


def _entry_time(entry: Any) -> pd.Timestamp | None:
    """feedparser normalises every date it understands to a UTC `struct_time`; None when it could not."""
    parsed = _first(entry, "published_parsed", "updated_parsed")
    return None if parsed is None else pd.Timestamp(calendar.timegm(parsed), unit="s", tz="UTC")


def _first(entry: Any, *keys: str) -> Any:
    """The first of `keys` the entry really holds. Plain dict lookups: feedparser's own `get` answers
    a missing `updated*` with `published*` (and a DeprecationWarning), which would hide which is which."""
    for key in keys:
        if value := dict.get(entry, key):
            return value
    return None
