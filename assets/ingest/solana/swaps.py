"""Swaps against one pool, read from token balance changes, and the loader that fetches a time window.

A swap is read from what it did to the pool's reserves (`meta.preTokenBalances` against
`meta.postTokenBalances`), not from each DEX's instruction layout: the same code then serves every
DEX, and swaps routed through aggregators, whose instructions the pool's program only sees as inner
calls. Amounts are the integer base-unit strings, so no float rounding enters the deltas.

The reserves net out everything a transaction did to the pool: one that swaps through the same pool
twice yields one net trade (none if the legs cancel), which is what moved the pool's price.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pandas as pd

from assets.contracts.dex_trades import DexTradesTable
from assets.ingest.solana.pools import PoolConfig
from assets.ingest.solana.rpc import SolanaRpc

logger = logging.getLogger(__name__)

TRADE_COLUMNS: tuple[str, ...] = tuple(DexTradesTable.to_schema().columns)


class Skip(StrEnum):
    """Why a transaction of the window gave no trade; each load reports a count per reason.

    failed: it failed on chain, nothing moved. missing: the node has no such transaction.
    no_token_balances: no meta, or token balances were not recorded. no_block_time: the node knows
    no time for it, so it cannot be placed in the window. not_a_swap: the reserves did not move in
    opposite directions (liquidity, fees, donations) or not by the pool's program. unknown_mint: the
    reserve owner holds a mint that is neither base nor quote, a mis-configured pool or a movement
    that cannot be attributed to this pool (a reward vault, another pool of a shared authority).
    """

    FAILED = "failed"
    MISSING = "missing"
    NO_TOKEN_BALANCES = "no_token_balances"
    NO_BLOCK_TIME = "no_block_time"
    NOT_A_SWAP = "not_a_swap"
    UNKNOWN_MINT = "unknown_mint"


class MalformedTransactionError(ValueError):
    """A getTransaction result lacks a field the jsonParsed format always has: the source is broken."""


@dataclass(frozen=True)
class TradesLoad:
    """One pool's trades in a window, and how many of its transactions gave none, by `Skip` reason."""

    trades: pd.DataFrame
    skipped: dict[str, int]


class _SkippedError(Exception):
    def __init__(self, reason: Skip) -> None:
        super().__init__(reason.value)
        self.reason = reason


def extract_swaps(tx: Mapping[str, Any], pool: PoolConfig) -> list[dict[str, Any]]:
    """The trade `tx` (a jsonParsed getTransaction result) made against `pool`: one row, or none."""
    try:
        return [_trade(tx, pool)]
    except _SkippedError:
        return []


def load_pool_trades(rpc: SolanaRpc, pool: PoolConfig, start: datetime, end: datetime) -> TradesLoad:
    """Trades against `pool` with block time in [start, end), plus the counts of what was skipped.

    Signatures arrive newest first, so paging stops at the first one older than `start`: a recent
    window costs only the pages that reach back to it. Transactions the signature index already marks
    failed are counted without being fetched.
    """
    first, stop = _unix_seconds(start, "start"), _unix_seconds(end, "end")
    skipped: Counter[Skip] = Counter()
    wanted: list[str] = []
    for record in rpc.signatures_for_address(pool.address):
        block_time = record.get("blockTime")
        if block_time is None:
            skipped[Skip.NO_BLOCK_TIME] += 1
        elif block_time < first:
            break
        elif block_time >= stop:
            continue
        elif record.get("err") is not None:
            skipped[Skip.FAILED] += 1
        else:
            wanted.append(record["signature"])
    trades = []
    for signature, tx in zip(wanted, rpc.get_transactions(wanted), strict=True):
        try:
            if tx is None:
                raise _SkippedError(Skip.MISSING)
            trades.append(_trade(tx, pool))
        except _SkippedError as skip:
            skipped[skip.reason] += 1
        except MalformedTransactionError as error:
            raise MalformedTransactionError(f"transaction {signature}: {error}") from None
    frame = pd.DataFrame(trades, columns=list(TRADE_COLUMNS))
    frame = frame.sort_values(["block_time", "slot", "signature"], kind="stable").reset_index(drop=True)
    counts = {reason.value: skipped[reason] for reason in Skip}
    logger.info("%s: %d trades in [%s, %s); skipped %s", pool.name, len(frame), start, end, counts)
    return TradesLoad(trades=frame, skipped=counts)


def _trade(tx: Mapping[str, Any], pool: PoolConfig) -> dict[str, Any]:
    """The contract row for `tx`'s net swap against `pool`; raises `_SkippedError` when there is none."""
    meta = tx.get("meta")
    if meta is not None and meta.get("err") is not None:
        raise _SkippedError(Skip.FAILED)
    if meta is None or meta.get("preTokenBalances") is None or meta.get("postTokenBalances") is None:
        raise _SkippedError(Skip.NO_TOKEN_BALANCES)
    changes, decimals = _reserve_changes(tx, pool)
    base, quote = changes[pool.base_mint], changes[pool.quote_mint]
    if base == 0 or quote == 0 or (base > 0) == (quote > 0):
        raise _SkippedError(Skip.NOT_A_SWAP)
    base_amount = abs(base) / 10 ** decimals[pool.base_mint]
    quote_amount = abs(quote) / 10 ** decimals[pool.quote_mint]
    return {
        "signature": _get(tx, "transaction", "signatures", 0),
        "instruction_index": _instruction_index(tx, pool.program_id),
        "slot": _get(tx, "slot"),
        "block_time": pd.Timestamp(tx.get("blockTime"), unit="s", tz="UTC"),
        "pool": pool.address,
        "program": pool.program_id,
        "base_mint": pool.base_mint,
        "quote_mint": pool.quote_mint,
        "side": "buy" if base < 0 else "sell",  # reserves lost base: the trader took it
        "base_amount": base_amount,
        "quote_amount": quote_amount,
        "price": quote_amount / base_amount,
        "trader": _get(tx, "transaction", "message", "accountKeys", 0, "pubkey"),
    }


def _reserve_changes(tx: Mapping[str, Any], pool: PoolConfig) -> tuple[defaultdict[str, int], dict[str, int]]:
    """Net change of the pool's reserves per mint, in base units, and each mint's decimals.

    An account may appear only before (closed) or only after (opened) the transaction, so pre and post
    are summed per mint rather than paired per account.
    """
    changes: defaultdict[str, int] = defaultdict(int)
    decimals: dict[str, int] = {}
    for sign, key in ((-1, "preTokenBalances"), (1, "postTokenBalances")):
        for position, balance in enumerate(tx["meta"][key]):
            if balance.get("owner") != pool.reserve_owner:
                continue
            mint = _get(tx, "meta", key, position, "mint")
            if mint not in (pool.base_mint, pool.quote_mint):
                raise _SkippedError(Skip.UNKNOWN_MINT)
            changes[mint] += sign * int(_get(tx, "meta", key, position, "uiTokenAmount", "amount"))
            decimals[mint] = _get(tx, "meta", key, position, "uiTokenAmount", "decimals")
    return changes, decimals


def _instruction_index(tx: Mapping[str, Any], program_id: str) -> int:
    """The first top-level instruction that runs `program_id`, itself or through its inner calls.

    Without one, the reserves moved without the pool's program (a plain transfer), which is no swap.
    """
    top_level = _program_ids(tx, "transaction", "message", "instructions")
    invoking = {index for index, program in enumerate(top_level) if program == program_id}
    for group in range(len(tx["meta"].get("innerInstructions") or [])):
        if program_id in _program_ids(tx, "meta", "innerInstructions", group, "instructions"):
            invoking.add(_get(tx, "meta", "innerInstructions", group, "index"))
    if not invoking:
        raise _SkippedError(Skip.NOT_A_SWAP)
    return min(invoking)


def _program_ids(tx: Mapping[str, Any], *path: str | int) -> list[str]:
    """The `programId` of each instruction in the list at `path`."""
    return [_get(tx, *path, n, "programId") for n in range(len(_get(tx, *path)))]


def _get(node: Any, *path: str | int) -> Any:
    """`node[path[0]][path[1]]...`, or a MalformedTransactionError naming the path that is missing."""
    for depth, key in enumerate(path):
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            dotted = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in path[: depth + 1])
            missing = dotted.lstrip(".")
            raise MalformedTransactionError(
                f"getTransaction result lacks {missing}; expected the jsonParsed transaction format"
            ) from None
    return node


def _unix_seconds(moment: datetime, name: str) -> float:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {moment}")
    return moment.timestamp()
