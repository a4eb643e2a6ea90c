"""The item shape every text source hands over before scoring, built one way for feeds and APIs alike.

Feeds and the CryptoPanic API describe a news item differently, but downstream scoring and
aggregation need the same six columns from both. Each source only maps its entries to `RawItem`;
`build_items` does the rest (ids, HTML stripping, rejecting undated items) in one place.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser

import pandas as pd

ITEM_COLUMNS = ["source", "item_id", "published_at", "title", "body", "url"]


@dataclass(frozen=True)
class RawItem:
    """One entry as its source describes it; `published_at` is None where no usable date was found."""

    item_id: str | None
    published_at: pd.Timestamp | None
    published_text: str | None  # the date as the source wrote it, quoted when it cannot be used
    title: str | None
    body: str | None  # may hold HTML
    url: str | None


@dataclass(frozen=True)
class FeedItems:
    """Items read from one feed or API: those placed in time, and those rejected with a `reason`."""

    items: pd.DataFrame  # ITEM_COLUMNS, published_at tz-aware UTC
    rejected: pd.DataFrame  # ITEM_COLUMNS plus `reason`, the same layout `validate_rows` quarantines


def build_items(source: str, entries: Iterable[RawItem], date_fields: str) -> FeedItems:
    """Turn raw entries into `ITEM_COLUMNS` rows; an entry without a usable date is rejected.

    An undated item cannot be put in a bar, and stamping it with the fetch time would place it
    where it does not belong, so it is quarantined with a reason naming `date_fields` (the fields
    the source was expected to date it by) instead of being guessed or silently dropped.
    """
    accepted: list[dict[str, object]] = []
    rejected: list[dict[str, object]] = []
    for entry in entries:
        title = clean_text(entry.title)
        row = {
            "source": source,
            "item_id": entry.item_id or _content_id(title, entry.published_text),
            "published_at": entry.published_at,
            "title": title,
            "body": clean_text(entry.body),
            "url": entry.url or "",
        }
        if entry.published_at is None:
            reason = f"published_at: expected a date in {date_fields}, got {entry.published_text!r}"
            rejected.append({**row, "reason": reason})
        else:
            accepted.append(row)
    return FeedItems(
        items=_frame(accepted, ITEM_COLUMNS), rejected=_frame(rejected, [*ITEM_COLUMNS, "reason"])
    )


def clean_text(raw: str | None) -> str:
    """The words of an HTML fragment, entities decoded and whitespace collapsed.

    Scorers count words: markup would add noise tokens and `&amp;`-style entities would hide real
    ones. Every tag counts as a word break, so `<p>a</p><p>b</p>` reads "a b", not "ab".
    """
    if not raw:
        return ""
    parser = _TextExtractor()
    parser.feed(raw)
    parser.close()
    return " ".join("".join(parser.chunks).split())


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        self.chunks.append(" ")


def _content_id(title: str, published_text: str | None) -> str:
    """A stable id for an entry with neither id nor link, so re-reading the feed yields the same key."""
    return hashlib.sha256(f"{title}\n{published_text or ''}".encode()).hexdigest()


def _frame(rows: list[dict[str, object]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame
