"""The item shape shared by feeds and CryptoPanic: text cleaning and the undated-entry rule."""

import hashlib

import pandas as pd
import pytest

from assets.ingest.sentiment.items import ITEM_COLUMNS, RawItem, build_items, clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("plain   text\n\twith  breaks ", "plain text with breaks"),
        ("<p>one</p><p>two</p>", "one two"),
        ('<a href="https://x.example/?a=1&amp;b=2">link</a> &amp; more&nbsp;text', "link & more text"),
        ("<div><em>nested</em> <b>tags</b></div>", "nested tags"),
    ],
)
def test_clean_text_keeps_words_only(raw, expected):
    assert clean_text(raw) == expected


def _raw(**changes) -> RawItem:
    fields = {
        "item_id": "a-1",
        "published_at": pd.Timestamp("2024-03-01 09:00", tz="UTC"),
        "published_text": "Fri, 01 Mar 2024 09:00:00 GMT",
        "title": "Headline",
        "body": "<p>Body</p>",
        "url": "https://x.example/a-1",
    }
    return RawItem(**{**fields, **changes})


def test_items_and_rejections_share_one_layout():
    read = build_items(
        "wire", [_raw(), _raw(item_id="a-2", published_at=None, published_text="soon")], "pubDate"
    )
    assert list(read.items.columns) == ITEM_COLUMNS
    assert list(read.rejected.columns) == [*ITEM_COLUMNS, "reason"]
    assert read.items.iloc[0].to_dict() == {
        "source": "wire",
        "item_id": "a-1",
        "published_at": pd.Timestamp("2024-03-01 09:00", tz="UTC"),
        "title": "Headline",
        "body": "Body",
        "url": "https://x.example/a-1",
    }
    assert read.rejected["reason"].tolist() == ["published_at: expected a date in pubDate, got 'soon'"]
    assert (
        str(read.items["published_at"].dtype)
        == str(read.rejected["published_at"].dtype)
        == "datetime64[ns, UTC]"
    )


def test_an_entry_without_id_is_keyed_by_a_hash_of_title_and_date():
    read = build_items("wire", [_raw(item_id=None)], "pubDate")
    expected = hashlib.sha256(b"Headline\nFri, 01 Mar 2024 09:00:00 GMT").hexdigest()
    assert read.items["item_id"].tolist() == [expected]
