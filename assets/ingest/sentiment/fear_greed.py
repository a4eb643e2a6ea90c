"""The Crypto Fear & Greed index of alternative.me (`GET {base_url}/fng/`) in the `fear_greed` layout.

The API answers `{"name", "data": [{"value": "40", "value_classification": "Fear", "timestamp":
"1551157200", "time_until_update": ...}], "metadata": {"error": null}}`, newest day first, with
`limit=0` meaning the whole history.

When was a value public? The value for day D is stamped at midnight UTC of D and published at the
start of D (on the newest value, `time_until_update` counts down to the next midnight). Publishing
is not instantaneous, though, and a decision taken exactly at 00:00 on D (the close of the D-1
daily bar) must not see it. So `released_at` is that midnight plus `PUBLICATION_GRACE`: possibly
up to an hour late, never early; a late value costs a little freshness, an early one is lookahead.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from assets.ingest.http import HttpClient

PUBLICATION_GRACE = pd.Timedelta(hours=1)


class FearGreedError(RuntimeError):
    """The Fear & Greed API reported an error or answered with something other than its usual shape."""


def fetch_fear_greed(client: HttpClient, base_url: str, limit: int = 0) -> pd.DataFrame:
    """The last `limit` days of the index (0: all of them) in `FearGreedTable` columns, oldest first.

    Values and classifications are passed through as sent: the contract, not this reader, decides
    which are acceptable, so a value out of 0..100 or not a number is quarantined as it arrived.
    """
    url = f"{base_url.rstrip('/')}/fng/"
    days = _data(client.get_json(url, {"limit": limit, "format": "json"}), url)
    stamps = pd.to_numeric(pd.Series([day.get("timestamp") for day in days], dtype=object), errors="coerce")
    ts = pd.to_datetime(stamps, unit="s", utc=True).dt.floor("D")
    frame = pd.DataFrame(
        {
            "ts": ts,
            "value": [day.get("value") for day in days],
            "classification": [day.get("value_classification") for day in days],
            "released_at": ts + PUBLICATION_GRACE,
        }
    )
    return frame.sort_values("ts", kind="stable", na_position="last").reset_index(drop=True)


def _data(body: Any, url: str) -> list[dict[str, Any]]:
    """The `data` list, after checking `metadata.error`: the API reports failures there, with HTTP 200."""
    if not isinstance(body, dict):
        raise FearGreedError(
            f"{url}: expected a JSON object with 'data' and 'metadata', got {str(body)[:200]!r}"
        )
    error = (body.get("metadata") or {}).get("error")
    if error is not None:
        raise FearGreedError(f"{url}: the Fear & Greed API reported metadata.error = {error!r}")
    days = body.get("data")
    if not isinstance(days, list) or not all(isinstance(day, dict) for day in days):
        raise FearGreedError(f"{url}: expected 'data' to be a list of objects, got {str(days)[:200]!r}")
    return days
