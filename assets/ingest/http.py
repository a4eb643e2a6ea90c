"""The one HTTP client every online loader uses: timeouts, rate limiting, retries with backoff.

Public APIs and RPC nodes throttle (HTTP 429), fail transiently (5xx) and stall; a loader that
gives up on the first hiccup loses a night's ingest, and one that retries without pause gets
banned. Every loader therefore goes through `HttpClient`, and every failure it finally gives up
on is an `HttpSourceError` that names the URL and what went wrong.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class HttpSourceError(RuntimeError):
    """A source could not be read: the URL, the attempts made and the last failure.

    `status` is the last HTTP status, or None when no answer came (timeout, refused connection),
    so a loader can treat an API's "no data" answer (the ECB's 404) as empty rather than broken.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# Query parameters whose values are credentials: never repeated in an error message or a log.
SECRET_PARAMETERS = ("api_key", "apikey", "auth_token", "token", "key")
_SECRET_IN_TEXT = re.compile(rf"((?:{'|'.join(SECRET_PARAMETERS)})=)[^&\s'\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the values of credential parameters replaced by ***."""
    return _SECRET_IN_TEXT.sub(r"\1***", text)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: attempt k waits `first_backoff_s * 2**(k-1)` (capped) or the Retry-After."""

    attempts: int = 5
    first_backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return min(float(retry_after), self.max_backoff_s)
            except ValueError:
                pass  # an HTTP date instead of seconds: fall back to our own schedule
        return min(self.first_backoff_s * 2 ** (attempt - 1), self.max_backoff_s)


class HttpClient:
    """JSON and text over HTTP with a minimum interval between requests and bounded retries."""

    def __init__(
        self,
        *,
        timeout_s: float = 15.0,
        min_interval_s: float = 0.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._timeout_s = timeout_s
        self._min_interval_s = min_interval_s
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._last_request_at = float("-inf")
        self._session = requests.Session()
        self._session.headers.update({"User-Agent": "mambaquant/0.1", **(headers or {})})

    def get_json(self, url: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `url` and decode its JSON body."""
        return _decode_json(url, self._request("GET", url, params=params))

    def post_json(self, url: str, payload: Any) -> Any:
        """POST `payload` as JSON to `url` and decode the JSON answer."""
        return _decode_json(url, self._request("POST", url, json=payload))

    def get_text(self, url: str, params: Mapping[str, Any] | None = None) -> str:
        """GET `url` and return its body as text (CSV downloads)."""
        return self._request("GET", url, params=params).text

    def get_bytes(self, url: str, params: Mapping[str, Any] | None = None) -> bytes:
        """GET `url` and return its raw body, for formats that declare their own encoding (XML feeds)."""
        return self._request("GET", url, params=params).content

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        last_failure, status = "", None
        for attempt in range(1, self._retry.attempts + 1):
            self._respect_rate_limit()
            retry_after, status = None, None
            try:
                response = self._session.request(method, url, timeout=self._timeout_s, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as error:
                last_failure = f"{type(error).__name__}: {error}"
            else:
                if response.status_code < 400:
                    return response
                status = response.status_code
                last_failure = f"HTTP {status}: {response.text[:200]!r}"
                if response.status_code not in RETRY_STATUSES:
                    break
                retry_after = response.headers.get("Retry-After")
            if attempt < self._retry.attempts:
                self._sleep(self._retry.backoff(attempt, retry_after))
        message = f"{method} {url} failed after {attempt} attempt(s): {last_failure}"
        raise HttpSourceError(redact(message), status)

    def _respect_rate_limit(self) -> None:
        wait = self._last_request_at + self._min_interval_s - time.monotonic()
        if wait > 0:
            self._sleep(wait)
        self._last_request_at = time.monotonic()


def _decode_json(url: str, response: requests.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, requests.JSONDecodeError) as error:
        raise HttpSourceError(
            f"{url} answered with invalid JSON ({error}): {response.text[:200]!r}"
        ) from None
