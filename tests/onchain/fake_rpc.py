"""TEST DOUBLE of the Solana JSON-RPC transport, backed by an in-process LiteSVM. Not a cluster.

A real HTTP server on 127.0.0.1 answering the handful of JSON-RPC methods `RpcCluster` uses, in
the response shapes of the Solana RPC (https://solana.com/docs/rpc/http): `sendTransaction`
really decodes the base64 transaction and executes it in LiteSVM (simulating first for preflight,
as a node does), so signatures, errors, logs and compute units are the runtime's own. There are
no forks, votes or leaders: every accepted transaction is its own "block" and is finalized at once.

Faults a real node shows are injectable: HTTP 503s, a BlockhashNotFound preflight, or a transaction
that is accepted but never lands while the block height runs past its blockhash.
`tests/http_server.py` replays fixed responses per path; this needs answers computed per request
(signatures, account state), so it shares only the loopback server's lifecycle with it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

from tests.http_server import LoopbackHttpServer

BLOCKHASH_VALIDITY = 150  # blocks a blockhash stays valid for, as on mainnet


def _variant(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


def error_json(err: Any) -> Any:
    """A TransactionError in the RPC's JSON: "AlreadyProcessed" or {"InstructionError": [i, inner]}."""
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        if isinstance(inner, InstructionErrorCustom):
            inner_json: Any = {"Custom": inner.code}
        elif isinstance(inner, InstructionErrorBorshIO):
            inner_json = {"BorshIoError": inner.value}
        else:
            inner_json = _variant(inner)
        return {"InstructionError": [err.index, inner_json]}
    if isinstance(err, TransactionErrorFieldless):
        return _variant(err)
    raise NotImplementedError(f"no JSON form for {err!r} in this test double")


@dataclass
class _Landed:
    slot: int
    raw: bytes
    err: Any
    logs: list[str]
    compute_units: int


@dataclass
class FakeRpcNode:
    """The node's state; tests reach in (`svm`, fault counters, `methods`) to arrange and assert."""

    svm: LiteSVM = field(default_factory=LiteSVM)
    block_height: int = 1000
    fail_http: int = 0  # answer the next N requests with HTTP 503
    blockhash_not_found: int = 0  # refuse the next N sendTransactions at preflight: BlockhashNotFound
    drop_sends: int = 0  # accept the next N sendTransactions but never land them
    methods: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # signatures the node executed, in order
    landed: dict[str, _Landed] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def context(self) -> dict[str, Any]:
        return {"slot": self.svm.get_clock().slot, "apiVersion": "2.1.0"}

    # --- methods -----------------------------------------------------------------------------

    def getLatestBlockhash(self, params: list[Any]) -> Any:  # noqa: N802 (RPC method names)
        return {
            "context": self.context(),
            "value": {
                "blockhash": str(self.svm.latest_blockhash()),
                "lastValidBlockHeight": self.block_height + BLOCKHASH_VALIDITY,
            },
        }

    def getBlockHeight(self, params: list[Any]) -> Any:  # noqa: N802
        return self.block_height

    def getMinimumBalanceForRentExemption(self, params: list[Any]) -> Any:  # noqa: N802
        return self.svm.minimum_balance_for_rent_exemption(int(params[0]))

    def getAccountInfo(self, params: list[Any]) -> Any:  # noqa: N802
        config = params[1] if len(params) > 1 else {}
        if config.get("encoding") != "base64":
            raise _RpcError(-32602, "this test double serves base64 only")
        account = self.svm.get_account(Pubkey.from_string(params[0]))
        value = None
        if account is not None:
            value = {
                "data": [base64.b64encode(bytes(account.data)).decode(), "base64"],
                "executable": account.executable,
                "lamports": account.lamports,
                "owner": str(account.owner),
                "rentEpoch": account.rent_epoch,
                "space": len(account.data),
            }
        return {"context": self.context(), "value": value}

    def sendTransaction(self, params: list[Any]) -> Any:  # noqa: N802
        config = params[1] if len(params) > 1 else {}
        if config.get("encoding") != "base64":
            raise _RpcError(-32602, "this test double accepts base64 transactions only")
        raw = base64.b64decode(params[0])
        tx = VersionedTransaction.from_bytes(raw)
        signature = str(tx.signatures[0])
        if self.blockhash_not_found > 0:
            self.blockhash_not_found -= 1
            raise _preflight_failure("Blockhash not found", "BlockhashNotFound", [], 0)
        if self.drop_sends > 0:
            # Taken, then lost (a leader that never included it): the block height runs past the
            # blockhash's validity, so the client must notice and re-sign with a fresh blockhash.
            self.drop_sends -= 1
            self.block_height += BLOCKHASH_VALIDITY + 1
            self.svm.expire_blockhash()
            return signature
        if not config.get("skipPreflight", False):
            simulated = self.svm.simulate_transaction(tx)
            if isinstance(simulated, FailedTransactionMetadata):
                meta = simulated.meta()
                raise _preflight_failure(
                    "Transaction simulation failed",
                    error_json(simulated.err()),
                    meta.logs(),
                    meta.compute_units_consumed(),
                )
        result = self.svm.send_transaction(tx)
        if isinstance(result, TransactionMetadata):
            err, logs, units = None, result.logs(), result.compute_units_consumed()
        else:
            meta = result.meta()
            err, logs, units = result.err(), meta.logs(), meta.compute_units_consumed()
        # A new block, a new blockhash (a real one changes every ~400 ms).
        self.block_height += 1
        self.svm.expire_blockhash()
        clock = self.svm.get_clock()
        clock.slot = clock.slot + 1
        self.svm.set_clock(clock)
        self.landed[signature] = _Landed(clock.slot, raw, err, list(logs), units)
        self.sent.append(signature)
        return signature

    def getSignatureStatuses(self, params: list[Any]) -> Any:  # noqa: N802
        values: list[Any] = []
        for sig in params[0]:
            landed = self.landed.get(sig)
            if landed is None:
                values.append(None)
                continue
            err = None if landed.err is None else error_json(landed.err)
            values.append(
                {
                    "slot": landed.slot,
                    "confirmations": None,
                    "err": err,
                    "status": {"Ok": None} if err is None else {"Err": err},
                    "confirmationStatus": "finalized",
                }
            )
        return {"context": self.context(), "value": values}

    def getTransaction(self, params: list[Any]) -> Any:  # noqa: N802
        config = params[1] if len(params) > 1 else {}
        if config.get("encoding") != "base64":
            raise _RpcError(-32602, "this test double serves base64 only")
        if config.get("commitment") == "processed":
            raise _RpcError(-32602, "Method does not support commitment below `confirmed`")
        landed = self.landed.get(params[0])
        if landed is None:
            return None
        err = None if landed.err is None else error_json(landed.err)
        return {
            "slot": landed.slot,
            "blockTime": self.svm.get_clock().unix_timestamp,
            "version": "legacy",
            "transaction": [base64.b64encode(landed.raw).decode(), "base64"],
            "meta": {
                "err": err,
                "status": {"Ok": None} if err is None else {"Err": err},
                "fee": 5000,
                "preBalances": [],
                "postBalances": [],
                "innerInstructions": [],
                "logMessages": landed.logs,
                "preTokenBalances": [],
                "postTokenBalances": [],
                "rewards": [],
                "loadedAddresses": {"writable": [], "readonly": []},
                "computeUnitsConsumed": landed.compute_units,
            },
        }

    def signature_landed(self, signature: str | Signature) -> bool:
        return str(signature) in self.landed


class _RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def _preflight_failure(message: str, err: Any, logs: list[str], units: int) -> _RpcError:
    """The -32002 SendTransactionPreflightFailure error, `data` being the simulation result."""
    data = {
        "accounts": None,
        "err": err,
        "innerInstructions": None,
        "logs": list(logs),
        "replacementBlockhash": None,
        "returnData": None,
        "unitsConsumed": units,
    }
    return _RpcError(-32002, message, data)


class FakeRpcServer(LoopbackHttpServer):
    """`with FakeRpcServer() as server:` - `server.url` for `RpcCluster`, `server.node` for the state."""

    def __init__(self, node: FakeRpcNode | None = None) -> None:
        self.node = node or FakeRpcNode()
        super().__init__()

    def _answer(self, request: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        node = self.node
        with node.lock:
            node.methods.append(request.get("method", "?"))
            if node.fail_http > 0:
                node.fail_http -= 1
                return 503, None
            handler = getattr(node, request.get("method", ""), None)
            reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.get("id")}
            if handler is None or request["method"].startswith("_"):
                reply["error"] = {"code": -32601, "message": "Method not found"}
                return 200, reply
            try:
                reply["result"] = handler(request.get("params", []))
            except _RpcError as exc:
                reply["error"] = exc.body()
            return 200, reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length))
                status, reply = outer._answer(request)
                payload = b"" if reply is None else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                pass

        return Handler
