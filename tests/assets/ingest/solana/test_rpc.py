"""SolanaRpc against a real local HTTP server: paging, batching, JSON-RPC errors, transport failures."""

import re
from typing import Any

import pytest

from assets.ingest.http import HttpClient, HttpSourceError, RetryPolicy
from assets.ingest.solana.pools import ORCA_SOL_USDC
from assets.ingest.solana.rpc import SolanaRpc, SolanaRpcError
from tests.http_server import ScriptedHttpServer, ScriptedResponse

ADDRESS = ORCA_SOL_USDC.address
SIGNATURES = [digit * 88 for digit in "123456789"]  # base58-shaped stand-ins
WIRE_CONFIG = {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0, "commitment": "confirmed"}


def _rpc(
    server: ScriptedHttpServer, waits: list[float] | None = None, batch_size: int = 50, **client
) -> SolanaRpc:
    retry = RetryPolicy(attempts=3, first_backoff_s=0.25)
    sleep = (waits if waits is not None else []).append
    return SolanaRpc(
        f"{server.url}/rpc", HttpClient(retry=retry, sleep=sleep, **client), batch_size=batch_size
    )


def _answer(result: Any, request_id: int = 0) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": request_id}


def _error(code: int, message: str, request_id: int | None = 0) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": request_id}


def _record(signature: str, slot: int) -> dict[str, Any]:
    """One getSignaturesForAddress entry, in the node's shape."""
    return {
        "blockTime": 1_717_200_000 + slot,
        "confirmationStatus": "finalized",
        "err": None,
        "memo": None,
        "signature": signature,
        "slot": slot,
    }


def test_signatures_page_backwards_with_before_and_keep_until_to_an_empty_page(http_server):
    records = [_record(signature, 300 - n) for n, signature in enumerate(SIGNATURES[:3])]
    http_server.script("/rpc", _answer(records[:2]), _answer(records[2:]), _answer([]))
    rpc = _rpc(http_server)
    got = list(rpc.signatures_for_address(ADDRESS, before=SIGNATURES[8], until=SIGNATURES[7], page_limit=2))
    assert got == records
    calls = [request.json() for request in http_server.requests]
    assert {call["method"] for call in calls} == {"getSignaturesForAddress"}
    config = {"limit": 2, "commitment": "confirmed", "until": SIGNATURES[7]}
    assert [call["params"] for call in calls] == [
        [ADDRESS, {**config, "before": SIGNATURES[8]}],
        [ADDRESS, {**config, "before": SIGNATURES[1]}],
        [ADDRESS, {**config, "before": SIGNATURES[2]}],
    ]


def test_the_next_signature_page_is_fetched_only_when_needed(http_server):
    http_server.script("/rpc", _answer([_record(SIGNATURES[0], 9), _record(SIGNATURES[1], 8)]))
    pages = _rpc(http_server).signatures_for_address(ADDRESS, page_limit=2)
    assert next(pages)["signature"] == SIGNATURES[0]
    assert next(pages)["signature"] == SIGNATURES[1]
    assert len(http_server.requests) == 1


def test_transactions_go_in_batches_and_out_of_order_answers_are_matched_by_id(http_server):
    txs = [
        {"slot": n, "transaction": {"signatures": [signature]}} for n, signature in enumerate(SIGNATURES[:5])
    ]
    http_server.script(
        "/rpc",
        [_answer(txs[1], 1), _answer(txs[0], 0)],
        [_answer(None, 3), _answer(txs[2], 2)],
        [_answer(txs[4], 4)],
    )
    got = _rpc(http_server, batch_size=2).get_transactions(SIGNATURES[:5])
    assert got == [txs[0], txs[1], txs[2], None, txs[4]]
    batches = [request.json() for request in http_server.requests]
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert batches[1][0] == {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "getTransaction",
        "params": [SIGNATURES[2], WIRE_CONFIG],
    }


def test_no_signatures_means_no_request(http_server):
    assert _rpc(http_server).get_transactions([]) == []
    assert http_server.requests == []


def test_batch_size_must_be_positive():
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        SolanaRpc("http://127.0.0.1:1", HttpClient(), batch_size=0)


def test_an_error_object_in_a_batch_names_method_code_and_message(http_server):
    message = "Slot 250000000 was skipped, or missing in long-term storage"
    http_server.script("/rpc", [_answer(None, 0), _error(-32009, message, 1)])
    with pytest.raises(SolanaRpcError, match=f"getTransaction failed: JSON-RPC error -32009: {message}"):
        _rpc(http_server).get_transactions(SIGNATURES[:2])


def test_an_error_object_for_the_whole_batch_is_reported(http_server):
    http_server.script("/rpc", _error(-32600, "Invalid request", None))
    with pytest.raises(
        SolanaRpcError, match="getTransaction batch refused: JSON-RPC error -32600: Invalid request"
    ):
        _rpc(http_server).get_transactions(SIGNATURES[:2])


def test_an_error_object_for_a_single_call_is_reported(http_server):
    http_server.script("/rpc", _error(-32602, "Invalid param: Invalid"))
    with pytest.raises(
        SolanaRpcError, match="getSignaturesForAddress failed: JSON-RPC error -32602: Invalid param"
    ):
        list(_rpc(http_server).signatures_for_address(ADDRESS))


@pytest.mark.parametrize(
    "answer, expected",
    [
        ({"jsonrpc": "2.0", "id": 0}, r"getTransaction batch: expected a JSON array of 2 responses"),
        ([_answer(None, 0)], r"getTransaction batch: expected responses for ids \[0, 1\], missing \[1\]"),
        (
            [_answer(None, 0), {"jsonrpc": "2.0", "id": 1}],
            r"getTransaction: expected .* with a 'result' field",
        ),
    ],
    ids=["not-a-list", "missing-id", "missing-result"],
)
def test_a_malformed_batch_answer_says_what_was_expected(http_server, answer, expected):
    http_server.script("/rpc", answer)
    with pytest.raises(SolanaRpcError, match=expected):
        _rpc(http_server).get_transactions(SIGNATURES[:2])


def test_a_malformed_signature_page_says_what_was_expected(http_server):
    http_server.script("/rpc", _answer({"value": []}))
    with pytest.raises(SolanaRpcError, match="getSignaturesForAddress: expected a list of signature records"):
        list(_rpc(http_server).signatures_for_address(ADDRESS))


def test_http_429_then_success_is_retried_by_the_shared_client(http_server):
    throttled = _error(429, "Too many requests for a specific RPC call")
    http_server.script("/rpc", ScriptedResponse(throttled, 429, {"Retry-After": "1"}), _answer([]))
    waits: list[float] = []
    assert list(_rpc(http_server, waits).signatures_for_address(ADDRESS)) == []
    assert waits == [1.0]
    assert len(http_server.requests) == 2


def test_persistent_http_500_gives_up_naming_the_url(http_server):
    http_server.script("/rpc", ScriptedResponse("upstream down", 500))
    with pytest.raises(
        HttpSourceError,
        match=rf"POST {re.escape(http_server.url + '/rpc')} failed after 3 attempt\(s\): HTTP 500",
    ):
        _rpc(http_server).get_transactions(SIGNATURES[:1])


def test_truncated_json_is_a_clear_error(http_server):
    truncated = ScriptedResponse(
        '[{"jsonrpc": "2.0", "result": {"slot": 2', headers={"Content-Type": "application/json"}
    )
    http_server.script("/rpc", truncated)
    with pytest.raises(
        HttpSourceError, match=rf"{re.escape(http_server.url + '/rpc')} answered with invalid JSON"
    ):
        _rpc(http_server).get_transactions(SIGNATURES[:1])


def test_a_node_that_stalls_times_out_and_is_reported(http_server):
    http_server.script("/rpc", ScriptedResponse(_answer([]), delay_s=0.3))
    with pytest.raises(HttpSourceError, match=r"failed after 3 attempt\(s\): ReadTimeout"):
        list(_rpc(http_server, timeout_s=0.05).signatures_for_address(ADDRESS))
