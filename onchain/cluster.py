"""Where risk-guard transactions go: an in-process LiteSVM that persists between runs, or a real RPC node.

Both implementations sign and send real transactions and answer with the same `TxOutcome`, so the
keeper and its tests do not care which one they hold. A transaction the chain rejects is an
outcome (`accepted=False`, with the error's code and name), not an exception: for the risk guard a
rejected signal is a normal, recorded event. Exceptions (`ClusterError`) are kept for "we do not
know what happened" - the RPC node unreachable after every retry, or no confirmation in time.

Error names come from an `error_namer` (the client's `RiskGuardClient.error_name`), so this module
knows nothing about the IDL.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
from solana.exceptions import SolanaRpcException
from solana.rpc.api import Client
from solana.rpc.commitment import Commitment, Confirmed, Finalized, Processed
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.account import Account
from solders.clock import Clock
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.errors import (
    InternalErrorMessage,
    MinContextSlotNotReachedMessage,
    NodeUnhealthyMessage,
    SendTransactionPreflightFailureMessage,
)
from solders.signature import Signature
from solders.transaction import Transaction
from solders.transaction_metadata import TransactionMetadata
from solders.transaction_status import (
    InstructionErrorBorshIO,
    InstructionErrorCustom,
    TransactionErrorFieldless,
    TransactionErrorInstructionError,
)

from models.atomic import write_atomically

ErrorNamer = Callable[[int], "str | None"]

CLOCK_SYSVAR = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")
SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
CLOCK_UNIX_TIMESTAMP_OFFSET = 32  # slot, epoch_start_timestamp, epoch, leader_schedule_epoch: 4 x 8 bytes
STATE_FORMAT_VERSION = 1


class ClusterError(RuntimeError):
    """The cluster could not be reached, or a transaction's fate is unknown (not a rejection)."""


@dataclass(frozen=True)
class TxOutcome:
    """What became of one transaction: accepted, or rejected with the chain's error."""

    signature: str
    accepted: bool
    error_code: int | None = None
    error_name: str | None = None
    compute_units: int = 0
    logs: tuple[str, ...] = ()


class Cluster(Protocol):
    """What the keeper and the deploy script need from a cluster."""

    def send(
        self, instructions: Sequence[Instruction], signers: Sequence[Keypair], payer: Keypair
    ) -> TxOutcome: ...

    def account(self, pubkey: Pubkey) -> bytes | None: ...

    def now(self) -> int: ...

    def rent_exempt_minimum(self, size: int) -> int: ...


def _variant(value: object) -> str:
    """`TransactionErrorFieldless.AlreadyProcessed` -> `AlreadyProcessed` (pyo3 enums print qualified)."""
    return str(value).rsplit(".", 1)[-1]


def describe_error(err: Any, error_namer: ErrorNamer | None = None) -> tuple[int | None, str]:
    """(custom code or None, name) of a transaction error.

    A custom code is named by `error_namer` when it knows it (the program's IDL errors, Anchor's
    framework errors); everything else - system program codes, non-custom instruction errors,
    transaction-level errors - is named by a one-line form of solders' representation.
    """
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        if isinstance(inner, InstructionErrorCustom):
            name = error_namer(inner.code) if error_namer is not None else None
            return inner.code, name or f"InstructionError({err.index}, Custom({inner.code}))"
        if isinstance(inner, InstructionErrorBorshIO):
            return None, f"InstructionError({err.index}, BorshIoError({inner.value!r}))"
        return None, f"InstructionError({err.index}, {_variant(inner)})"
    if isinstance(err, TransactionErrorFieldless):
        return None, _variant(err)
    return None, " ".join(repr(err).split())


def _ordered_signers(payer: Keypair, signers: Iterable[Keypair]) -> list[Keypair]:
    """The payer first (it pays the fee), then the other signers once each."""
    seen = {payer.pubkey()}
    ordered = [payer]
    for signer in signers:
        if signer.pubkey() not in seen:
            seen.add(signer.pubkey())
            ordered.append(signer)
    return ordered


def _outcome(
    signature: Signature,
    err: Any,
    logs: Iterable[str] | None,
    compute_units: int | None,
    error_namer: ErrorNamer | None,
) -> TxOutcome:
    if err is None:
        return TxOutcome(str(signature), True, compute_units=compute_units or 0, logs=tuple(logs or ()))
    code, name = describe_error(err, error_namer)
    return TxOutcome(str(signature), False, code, name, compute_units or 0, tuple(logs or ()))


class LocalCluster:
    """An in-process LiteSVM whose tracked accounts and clock persist to a JSON file between runs.

    LiteSVM has no storage of its own, so the accounts that matter - everything a transaction here
    wrote to, and anything `track`ed or set (the program, its data account, oracle quotes) - are
    saved with `save()` and restored with `set_account` when a cluster is built on the same file:
    nightly paper-trading runs accumulate one history. Builtins and sysvars are never saved; a
    fresh LiteSVM has its own.
    """

    def __init__(
        self, state_path: str | os.PathLike[str] | None = None, *, error_namer: ErrorNamer | None = None
    ):
        self.svm = LiteSVM()
        self.state_path = Path(state_path) if state_path is not None else None
        self.error_namer = error_namer
        self._tracked: set[Pubkey] = set()
        self._fixed_time: int | None = None
        if self.state_path is not None and self.state_path.exists():
            self._load(self.state_path)

    # --- accounts ----------------------------------------------------------------------------

    @property
    def tracked(self) -> frozenset[Pubkey]:
        return frozenset(self._tracked)

    def track(self, *pubkeys: Pubkey) -> None:
        self._tracked.update(pubkeys)

    def set_account(self, pubkey: Pubkey, account: Account) -> None:
        """Write an account directly (deploys, oracle quotes in tests) and track it."""
        self.svm.set_account(pubkey, account)
        self.track(pubkey)

    def airdrop(self, pubkey: Pubkey, lamports: int) -> None:
        result = self.svm.airdrop(pubkey, lamports)
        if not isinstance(result, TransactionMetadata):
            raise ClusterError(f"airdrop to {pubkey} failed: {describe_error(result.err())[1]}")
        self.track(pubkey)

    def account(self, pubkey: Pubkey) -> bytes | None:
        found = self.svm.get_account(pubkey)
        return None if found is None else bytes(found.data)

    def account_info(self, pubkey: Pubkey) -> Account | None:
        return self.svm.get_account(pubkey)

    def balance(self, pubkey: Pubkey) -> int:
        return self.svm.get_balance(pubkey) or 0

    def rent_exempt_minimum(self, size: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(size)

    # --- clock -------------------------------------------------------------------------------

    def set_time(self, unix_timestamp: int | None) -> None:
        """Pin the Clock's unix_timestamp (tests); None goes back to the wall clock."""
        self._fixed_time = unix_timestamp
        self._sync_clock(advance_slot=False)

    def _sync_clock(self, advance_slot: bool) -> Clock:
        clock = self.svm.get_clock()
        clock.unix_timestamp = self._fixed_time if self._fixed_time is not None else int(time.time())
        if advance_slot:
            # One slot per transaction, so the history reads like blocks and a program written at
            # slot n is past its deployment slot for the next transaction.
            clock.slot = clock.slot + 1
        self.svm.set_clock(clock)
        return clock

    def now(self) -> int:
        return self._sync_clock(advance_slot=False).unix_timestamp

    # --- transactions ------------------------------------------------------------------------

    def send(
        self, instructions: Sequence[Instruction], signers: Sequence[Keypair], payer: Keypair
    ) -> TxOutcome:
        ordered = _ordered_signers(payer, signers)
        self._sync_clock(advance_slot=True)
        blockhash = self.svm.latest_blockhash()
        message = Message.new_with_blockhash(list(instructions), payer.pubkey(), blockhash)
        tx = Transaction(ordered, message, blockhash)
        result = self.svm.send_transaction(tx)
        # LiteSVM refuses a byte-identical transaction under the same blockhash (AlreadyProcessed);
        # a fresh blockhash per send lets the keeper legitimately repeat an instruction.
        self.svm.expire_blockhash()
        self.track(payer.pubkey(), *(m.pubkey for ix in instructions for m in ix.accounts if m.is_writable))
        signature = tx.signatures[0]
        if isinstance(result, TransactionMetadata):
            return _outcome(signature, None, result.logs(), result.compute_units_consumed(), self.error_namer)
        meta = result.meta()
        return _outcome(signature, result.err(), meta.logs(), meta.compute_units_consumed(), self.error_namer)

    # --- persistence -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path is not None else self.state_path
        if target is None:
            raise ValueError("no state file: pass a path to save() or to the constructor")
        clock = self.svm.get_clock()
        accounts: dict[str, dict[str, Any]] = {}
        for pubkey in sorted(self._tracked, key=str):
            found = self.svm.get_account(pubkey)
            if found is None or found.owner in (NATIVE_LOADER, SYSVAR_OWNER):
                continue
            accounts[str(pubkey)] = {
                "lamports": found.lamports,
                "data": base64.b64encode(bytes(found.data)).decode("ascii"),
                "owner": str(found.owner),
                "executable": found.executable,
                "rent_epoch": found.rent_epoch,
            }
        state = {
            "version": STATE_FORMAT_VERSION,
            "clock": {
                "slot": clock.slot,
                "epoch_start_timestamp": clock.epoch_start_timestamp,
                "epoch": clock.epoch,
                "leader_schedule_epoch": clock.leader_schedule_epoch,
                "unix_timestamp": clock.unix_timestamp,
            },
            "accounts": accounts,
        }
        payload = json.dumps(state, indent=1, sort_keys=True).encode("utf-8")
        write_atomically(target, lambda handle: handle.write(payload))
        return target

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ClusterError(f"{path}: cannot read the local cluster state ({exc})") from None
        if state.get("version") != STATE_FORMAT_VERSION:
            raise ClusterError(
                f"{path}: state format {state.get('version')!r}, expected {STATE_FORMAT_VERSION}"
            )
        c = state["clock"]
        self.svm.set_clock(
            Clock(
                c["slot"],
                c["epoch_start_timestamp"],
                c["epoch"],
                c["leader_schedule_epoch"],
                c["unix_timestamp"],
            )
        )
        # Non-executable accounts first: LiteSVM compiles an upgradeable program when its Program
        # account is set, reading the ProgramData account, which must already be there.
        entries = sorted(state["accounts"].items(), key=lambda item: item[1]["executable"])
        for key, saved in entries:
            account = Account(
                saved["lamports"],
                base64.b64decode(saved["data"]),
                Pubkey.from_string(saved["owner"]),
                saved["executable"],
                saved["rent_epoch"],
            )
            self.set_account(Pubkey.from_string(key), account)


_TRANSIENT_RPC_ERRORS = (NodeUnhealthyMessage, InternalErrorMessage, MinContextSlotNotReachedMessage)
_EXPIRED = object()
_COMMITMENT_RANK = {Processed: 0, Confirmed: 1, Finalized: 2}


class RpcCluster:
    """A real cluster over JSON-RPC (devnet, a local validator), with retries and confirmation.

    Transport errors (and an unhealthy node) are retried with exponential backoff; a blockhash that
    expires before the transaction lands (BlockhashNotFound at preflight, or the block height passing
    the blockhash's last valid height with no status) gets a fresh blockhash and a new signature -
    safe, because an expired transaction can never land. The compute-unit price, when above zero,
    is a priority fee prepended as a ComputeBudget instruction.
    """

    def __init__(
        self,
        url: str,
        *,
        commitment: Commitment = Confirmed,
        compute_unit_price: int = 0,
        compute_unit_limit: int | None = None,
        error_namer: ErrorNamer | None = None,
        max_attempts: int = 5,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        poll_interval_s: float = 0.5,
        confirm_timeout_s: float = 90.0,
        http_timeout_s: float = 10.0,
        skip_preflight: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if commitment not in _COMMITMENT_RANK:
            raise ValueError(f"commitment must be one of {sorted(_COMMITMENT_RANK)}, got {commitment!r}")
        if compute_unit_price < 0:
            raise ValueError("compute_unit_price is micro-lamports per compute unit, >= 0")
        self.url = url
        self.commitment = commitment
        self.compute_unit_price = compute_unit_price
        self.compute_unit_limit = compute_unit_limit
        self.error_namer = error_namer
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.poll_interval_s = poll_interval_s
        self.confirm_timeout_s = confirm_timeout_s
        self.skip_preflight = skip_preflight
        self._sleep = sleep
        self.client = Client(url, commitment=commitment, timeout=http_timeout_s)

    # --- plumbing ----------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> None:
        self._sleep(min(self.backoff_s * 2**attempt, self.max_backoff_s))

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one RPC request, retrying transport failures and transient node errors."""
        last: Exception | None = None
        for attempt in range(self.max_attempts):
            try:
                return fn()
            except (SolanaRpcException, httpx.HTTPError) as exc:
                last = exc
            except RPCException as exc:
                if not isinstance(exc.args[0], _TRANSIENT_RPC_ERRORS):
                    raise ClusterError(f"{what}: {exc.args[0]}") from None
                last = exc
            if attempt + 1 < self.max_attempts:
                self._backoff(attempt)
        raise ClusterError(f"{what}: {self.url} failed {self.max_attempts} times; last error: {last!r}")

    def budget_instructions(self) -> list[Instruction]:
        """The ComputeBudget instructions `send` prepends (deploy sizes its Write chunks with them)."""
        prefix = []
        if self.compute_unit_limit is not None:
            prefix.append(set_compute_unit_limit(self.compute_unit_limit))
        if self.compute_unit_price > 0:
            prefix.append(set_compute_unit_price(self.compute_unit_price))
        return prefix

    # --- reads -------------------------------------------------------------------------------

    def account(self, pubkey: Pubkey) -> bytes | None:
        resp = self._call(
            "getAccountInfo",
            lambda: self.client.get_account_info(pubkey, commitment=self.commitment, encoding="base64"),
        )
        return None if resp.value is None else bytes(resp.value.data)

    def now(self) -> int:
        data = self.account(CLOCK_SYSVAR)
        if data is None or len(data) < CLOCK_UNIX_TIMESTAMP_OFFSET + 8:
            raise ClusterError(f"{self.url}: the Clock sysvar is missing or short")
        return struct.unpack_from("<q", data, CLOCK_UNIX_TIMESTAMP_OFFSET)[0]

    def rent_exempt_minimum(self, size: int) -> int:
        resp = self._call(
            "getMinimumBalanceForRentExemption",
            lambda: self.client.get_minimum_balance_for_rent_exemption(size, commitment=self.commitment),
        )
        return resp.value

    # --- transactions ------------------------------------------------------------------------

    def send(
        self, instructions: Sequence[Instruction], signers: Sequence[Keypair], payer: Keypair
    ) -> TxOutcome:
        ordered = _ordered_signers(payer, signers)
        full = [*self.budget_instructions(), *instructions]
        for attempt in range(self.max_attempts):
            latest = self._call(
                "getLatestBlockhash", lambda: self.client.get_latest_blockhash(self.commitment)
            )
            blockhash: Hash = latest.value.blockhash
            last_valid: int = latest.value.last_valid_block_height
            tx = Transaction(ordered, Message.new_with_blockhash(full, payer.pubkey(), blockhash), blockhash)
            signature = tx.signatures[0]
            submitted = self._submit(tx)
            if isinstance(submitted, TxOutcome):
                return submitted
            if submitted is not _EXPIRED and self._await_confirmation(signature, last_valid) is not _EXPIRED:
                return self._outcome_from_ledger(signature)
            if attempt + 1 < self.max_attempts:
                self._backoff(attempt)
        raise ClusterError(
            f"no blockhash lasted long enough to land the transaction in {self.max_attempts} tries"
        )

    def _submit(self, tx: Transaction) -> TxOutcome | object | None:
        """Send: None once the node has it, _EXPIRED on a stale blockhash, an outcome if refused."""
        raw = bytes(tx)
        signature = tx.signatures[0]
        opts = TxOpts(
            skip_confirmation=True, skip_preflight=self.skip_preflight, preflight_commitment=self.commitment
        )
        last: Exception | None = None
        for attempt in range(self.max_attempts):
            try:
                self.client.send_raw_transaction(raw, opts)
                return None
            except (SolanaRpcException, httpx.HTTPError) as exc:
                last = exc  # the node may or may not have it: resending the same bytes is idempotent
            except RPCException as exc:
                error = exc.args[0]
                if isinstance(error, SendTransactionPreflightFailureMessage):
                    sim = error.data
                    if sim.err == TransactionErrorFieldless.BlockhashNotFound:
                        return _EXPIRED
                    if sim.err == TransactionErrorFieldless.AlreadyProcessed:
                        return None  # an earlier send of these very bytes landed
                    return _outcome(signature, sim.err, sim.logs, sim.units_consumed, self.error_namer)
                if not isinstance(error, _TRANSIENT_RPC_ERRORS):
                    # e.g. -32003 signature verification failure: the node refuses this transaction.
                    message = getattr(error, "message", str(error))
                    return TxOutcome(str(signature), False, None, f"{type(error).__name__}: {message}")
                last = exc
            if attempt + 1 < self.max_attempts:
                self._backoff(attempt)
        raise ClusterError(
            f"sendTransaction: {self.url} failed {self.max_attempts} times; last error: {last!r}"
        )

    def _await_confirmation(self, signature: Signature, last_valid_block_height: int) -> object | None:
        """Poll until the signature reaches the commitment; _EXPIRED if it can no longer land."""
        wanted = _COMMITMENT_RANK[self.commitment]
        deadline = time.monotonic() + self.confirm_timeout_s
        while True:
            statuses = self._call(
                "getSignatureStatuses", lambda: self.client.get_signature_statuses([signature])
            )
            status = statuses.value[0]
            if status is not None:
                level = status.confirmation_status
                # No confirmationStatus from an old node means the slot is rooted (finalized).
                rank = 2 if level is None else int(level)
                if rank >= wanted:
                    return None
            else:
                height = self._call(
                    "getBlockHeight", lambda: self.client.get_block_height(self.commitment)
                ).value
                if height > last_valid_block_height:
                    return _EXPIRED
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{signature} not {self.commitment} within {self.confirm_timeout_s}s; it may still land"
                )
            self._sleep(self.poll_interval_s)

    def _outcome_from_ledger(self, signature: Signature) -> TxOutcome:
        # getTransaction does not serve "processed"; a processed-level caller reads it at confirmed.
        commitment = Confirmed if self.commitment == Processed else self.commitment
        deadline = time.monotonic() + self.confirm_timeout_s
        while True:
            resp = self._call(
                "getTransaction",
                lambda: self.client.get_transaction(
                    signature, encoding="base64", commitment=commitment, max_supported_transaction_version=0
                ),
            )
            if resp.value is not None and resp.value.transaction.meta is not None:
                meta = resp.value.transaction.meta
                return _outcome(
                    signature, meta.err, meta.log_messages, meta.compute_units_consumed, self.error_namer
                )
            if time.monotonic() > deadline:
                raise ClusterError(f"{signature} confirmed but getTransaction has no meta for it")
            self._sleep(self.poll_interval_s)
