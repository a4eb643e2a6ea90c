"""Solana JSON-RPC 2.0: the two reads the trade loader needs, paged and batched.

Transport problems (throttling, 5xx, timeouts, broken JSON) are `HttpClient`'s: it retries and then
raises `HttpSourceError`. What is left here is the JSON-RPC layer, where a node answers HTTP 200 with
an error object or with something that is not a JSON-RPC answer at all; both raise `SolanaRpcError`
naming the method, because a silently empty result would look like a quiet market.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from assets.ingest.http import HttpClient

# jsonParsed gives account keys with their pubkeys and token balances with owners; version 0 admits
# transactions using address lookup tables (most aggregator routes), which are refused without it.
TRANSACTION_CONFIG = {
    "encoding": "jsonParsed",
    "maxSupportedTransactionVersion": 0,
    "commitment": "confirmed",
}
SIGNATURES_COMMITMENT = "confirmed"


class SolanaRpcError(RuntimeError):
    """A JSON-RPC error object, or an answer that is not the JSON-RPC response asked for."""


class SolanaRpc:
    """A Solana RPC node at `url`, reached through the shared `HttpClient` (rate limit, retries)."""

    def __init__(self, url: str, client: HttpClient, batch_size: int = 50) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._url = url
        self._client = client
        self._batch_size = batch_size

    def signatures_for_address(
        self,
        address: str,
        *,
        before: str | None = None,
        until: str | None = None,
        page_limit: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        """Signature records of transactions touching `address`, newest first, page after page.

        Each page continues `before` the last signature of the previous one; `until` (exclusive) is
        passed on every page, so the node itself stops there and the next page comes back empty.
        Stopping early is the caller's to decide: the next page is only fetched when it is needed.
        """
        method = "getSignaturesForAddress"
        while True:
            config: dict[str, Any] = {"limit": page_limit, "commitment": SIGNATURES_COMMITMENT}
            if before is not None:
                config["before"] = before
            if until is not None:
                config["until"] = until
            page = self._call(method, [address, config])
            if not isinstance(page, list) or not all(isinstance(e, dict) and "signature" in e for e in page):
                raise SolanaRpcError(
                    f"{method}: expected a list of signature records with a 'signature' field, "
                    f"got {page!r:.200}"
                )
            if not page:
                return
            yield from page
            before = page[-1]["signature"]

    def get_transactions(self, signatures: Sequence[str]) -> list[dict[str, Any] | None]:
        """Each signature's transaction (jsonParsed), None where the node has none; in input order.

        Requests go as JSON-RPC batches of `batch_size`, one POST each, which is what makes a day of
        pool activity affordable; answers are matched back by id since a batch may come back in any order.
        """
        results: list[dict[str, Any] | None] = []
        for start in range(0, len(signatures), self._batch_size):
            chunk = signatures[start : start + self._batch_size]
            calls = {
                start + offset: [signature, TRANSACTION_CONFIG] for offset, signature in enumerate(chunk)
            }
            results.extend(self._batch("getTransaction", calls))
        return results

    def _call(self, method: str, params: list[Any]) -> Any:
        return _result(method, self._client.post_json(self._url, _request(0, method, params)))

    def _batch(self, method: str, calls: dict[int, list[Any]]) -> list[Any]:
        answer = self._client.post_json(self._url, [_request(i, method, p) for i, p in calls.items()])
        if isinstance(answer, dict) and "error" in answer:
            raise SolanaRpcError(f"{method} batch refused: {_describe_error(answer['error'])}")
        if not isinstance(answer, list):
            raise SolanaRpcError(
                f"{method} batch: expected a JSON array of {len(calls)} responses, got {answer!r:.200}"
            )
        by_id = {item.get("id"): item for item in answer if isinstance(item, dict)}
        missing = [request_id for request_id in calls if request_id not in by_id]
        if missing:
            raise SolanaRpcError(
                f"{method} batch: expected responses for ids {list(calls)}, missing {missing}"
            )
        return [_result(method, by_id[request_id]) for request_id in calls]


def _request(request_id: int, method: str, params: list[Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def _result(method: str, response: Any) -> Any:
    """The `result` of one JSON-RPC response (which may legitimately be null), or a SolanaRpcError."""
    if isinstance(response, dict) and "error" in response:
        raise SolanaRpcError(f"{method} failed: {_describe_error(response['error'])}")
    if not isinstance(response, dict) or "result" not in response:
        raise SolanaRpcError(
            f"{method}: expected a JSON-RPC response with a 'result' field, got {response!r:.200}"
        )
    return response["result"]


def _describe_error(error: Any) -> str:
    if isinstance(error, dict):
        return f"JSON-RPC error {error.get('code')}: {error.get('message')}"
    return f"JSON-RPC error {error!r:.200}"
