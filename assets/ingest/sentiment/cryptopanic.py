"""CryptoPanic news posts (`GET {base_url}/posts/`) → items, newest first, paged back to a start time.

The API answers `{"count", "next", "previous", "results": [{id, title, published_at, url, source,
...}]}`; `next` links to the following (older) page. Errors come back as `{"status", "info"}`.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from assets.ingest.http import HttpClient
from assets.ingest.sentiment.items import FeedItems, RawItem, build_items

SOURCE = "cryptopanic"
TOKEN_VARIABLE = "CRYPTOPANIC_TOKEN"


class CryptoPanicError(RuntimeError):
    """CryptoPanic could not be read: a missing token, an API error or an answer of the wrong shape."""


def fetch_cryptopanic(
    client: HttpClient, base_url: str, auth_token: str | None, since: pd.Timestamp, max_pages: int
) -> FeedItems:
    """Public news posts published at or after `since`, reading at most `max_pages` pages.

    Pages run newest to oldest, so reading stops at the first page that reaches back before
    `since` (or at the last page). Only the `page` number is taken from `next`: every request goes
    to `base_url` with our own parameters, so the token never ends up in an error message by way
    of a URL, and a proxy or test server in `base_url` stays in charge.
    """
    if not auth_token:
        raise CryptoPanicError(
            f"CryptoPanic needs an API token: set the {TOKEN_VARIABLE} environment variable"
        )
    if since.tzinfo is None:
        raise ValueError(f"since: expected a timezone-aware timestamp, got naive {since}")
    url = f"{base_url.rstrip('/')}/posts/"
    params: dict[str, str] = {"auth_token": auth_token, "public": "true", "kind": "news"}
    posts: list[dict[str, Any]] = []
    for _ in range(max_pages):
        body = client.get_json(url, params)
        results = _results(body, url)
        posts.extend(results)
        dates = [date for post in results if (date := _published(post)) is not None]
        next_page = _next_page(body, url)
        if next_page is None or (dates and min(dates) < since):
            break
        params = {**params, "page": next_page}
    read = build_items(SOURCE, (_raw_item(post) for post in posts), "published_at")
    recent = read.items[read.items["published_at"] >= since].reset_index(drop=True)
    return dataclasses.replace(read, items=recent)


def _results(body: Any, url: str) -> list[dict[str, Any]]:
    """The page's posts, or a clear error: the API reports failures in the body (`status`, `info`)."""
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return body["results"]
    if isinstance(body, dict) and "info" in body:
        raise CryptoPanicError(f"CryptoPanic API error at {url} ({body.get('status')}): {body['info']}")
    raise CryptoPanicError(f"{url}: expected a JSON object with a 'results' list, got {str(body)[:200]!r}")


def _next_page(body: dict[str, Any], url: str) -> str | None:
    link = body.get("next")
    if not link:
        return None
    page = parse_qs(urlsplit(link).query).get("page")
    if not page:
        # The link itself is not quoted: it carries the token.
        raise CryptoPanicError(f"{url}: expected a 'page' parameter in the 'next' link, found none")
    return page[0]


def _published(post: dict[str, Any]) -> pd.Timestamp | None:
    """`published_at` is ISO 8601 in UTC ("...Z"); None where it is missing or unreadable."""
    ts = pd.to_datetime(post.get("published_at"), utc=True, errors="coerce")
    return None if pd.isna(ts) else ts


def _raw_item(post: dict[str, Any]) -> RawItem:
    """Posts carry a headline and, on some plans, a `description`; the id is CryptoPanic's own."""
    post_id = post.get("id")
    return RawItem(
        item_id=None if post_id is None else str(post_id),
        published_at=_published(post),
        published_text=post.get("published_at"),
        title=post.get("title"),
        body=post.get("description"),
        url=post.get("url"),
    )
