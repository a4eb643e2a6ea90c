"""Swap extraction from fabricated jsonParsed transactions, and the windowed load over a local RPC node."""

import logging
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest

from assets.contracts.dex_trades import DexTradesTable
from assets.ingest.http import HttpClient
from assets.ingest.solana.pools import METEORA_SOL_USDC, ORCA_SOL_USDC, RAYDIUM_SOL_USDC, PoolConfig
from assets.ingest.solana.rpc import SolanaRpc
from assets.ingest.solana.swaps import (
    TRADE_COLUMNS,
    MalformedTransactionError,
    TradesLoad,
    extract_swaps,
    load_pool_trades,
)
from assets.validation import validate_rows
from tests.assets.ingest.solana import rpc_fixtures
from tests.http_server import ScriptedHttpServer

POOL_KINDS = [("raydium", RAYDIUM_SOL_USDC), ("whirlpool", ORCA_SOL_USDC), ("dlmm", METEORA_SOL_USDC)]
USDT_MINT = "Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB"
# The whirlpool fixtures lie between 2024-06-01 00:10 (the buy) and 00:50:40 (the aggregator route).
START = pd.Timestamp("2024-06-01 00:10:00", tz="UTC")
END = pd.Timestamp("2024-06-01 01:00:00", tz="UTC")


def _load(
    server: ScriptedHttpServer,
    pool: PoolConfig,
    records: list[dict[str, Any]],
    answers: list[dict[str, Any] | None],
) -> TradesLoad:
    """Serve one signature page, then one batch answering the wanted transactions in reverse order.

    `answers` are getTransaction responses (None for a transaction the node lacks) in the order the
    loader asks for them, which is the order of the page's signatures it keeps.
    """
    batch = [
        {**(answer or {"jsonrpc": "2.0", "result": None}), "id": request_id}
        for request_id, answer in enumerate(answers)
    ]
    server.script("/rpc", {"jsonrpc": "2.0", "result": records, "id": 0}, batch[::-1])
    rpc = SolanaRpc(f"{server.url}/rpc", HttpClient())
    return load_pool_trades(rpc, pool, START, END)


def _before_start() -> dict[str, Any]:
    return rpc_fixtures.record("2" * 88, 1, int(START.timestamp()) - 1)


def _terms(trade: dict[str, Any]) -> tuple[str, float, float, float]:
    return trade["side"], trade["base_amount"], trade["quote_amount"], trade["price"]


@pytest.mark.parametrize("kind, pool", POOL_KINDS)
def test_a_buy_and_a_sell_on_each_pool_kind(kind, pool):
    buy_tx = rpc_fixtures.tx(f"{kind}_buy")
    [buy] = extract_swaps(buy_tx, pool)
    [sell] = extract_swaps(rpc_fixtures.tx(f"{kind}_sell"), pool)
    assert tuple(buy) == TRADE_COLUMNS
    assert _terms(buy) == ("buy", 1.5, 250.5, 167.0)
    assert _terms(sell) == ("sell", 2.25, 373.5, 166.0)
    assert buy == {
        **buy,
        "signature": buy_tx["transaction"]["signatures"][0],
        "instruction_index": 2,
        "slot": buy_tx["slot"],
        "block_time": pd.Timestamp(buy_tx["blockTime"], unit="s", tz="UTC"),
        "pool": pool.address,
        "program": pool.program_id,
        "base_mint": pool.base_mint,
        "quote_mint": pool.quote_mint,
        "trader": buy_tx["transaction"]["message"]["accountKeys"][0]["pubkey"],
    }


def test_a_swap_on_another_pool_is_not_attributed():
    assert extract_swaps(rpc_fixtures.tx("raydium_buy"), ORCA_SOL_USDC) == []


def test_a_swap_routed_through_an_aggregator_names_the_top_level_instruction():
    [trade] = extract_swaps(rpc_fixtures.tx("whirlpool_via_aggregator"), ORCA_SOL_USDC)
    assert trade["instruction_index"] == 3  # the Jupiter route; the whirlpool swap is its inner call
    assert _terms(trade) == ("buy", 3.0, 499.8, pytest.approx(166.6))


@pytest.mark.parametrize(
    "name",
    [
        "whirlpool_failed",
        "whirlpool_no_token_balances",
        "whirlpool_liquidity_add",
        "whirlpool_collect_reward",
    ],
)
def test_transactions_that_are_no_swap_give_no_trade(name):
    assert extract_swaps(rpc_fixtures.tx(name), ORCA_SOL_USDC) == []


@pytest.mark.parametrize(
    "path, expected",
    [
        (
            ("meta", "postTokenBalances", 3, "uiTokenAmount", "amount"),
            r"meta.postTokenBalances\[3\].uiTokenAmount.amount",
        ),
        (
            ("meta", "innerInstructions", 0, "instructions", 1, "programId"),
            r"meta.innerInstructions\[0\].instructions\[1\].programId",
        ),
        (
            ("transaction", "message", "accountKeys", 0, "pubkey"),
            r"transaction.message.accountKeys\[0\].pubkey",
        ),
    ],
    ids=["amount", "inner-program", "fee-payer"],
)
def test_a_malformed_transaction_names_the_missing_field(path, expected):
    tx = rpc_fixtures.tx("whirlpool_buy")
    parent = tx
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    with pytest.raises(
        MalformedTransactionError, match=f"lacks {expected}; expected the jsonParsed transaction format"
    ):
        extract_swaps(tx, ORCA_SOL_USDC)


def test_load_keeps_the_window_fetches_in_batches_and_counts_what_it_skips(http_server, caplog):
    caplog.set_level(logging.INFO, logger="assets.ingest.solana.swaps")
    missing = "3" * 88
    records = [
        rpc_fixtures.record("4" * 88, 9, int(END.timestamp())),  # at `end`: outside the half-open window
        rpc_fixtures.record_of("whirlpool_via_aggregator"),
        rpc_fixtures.record_of("whirlpool_collect_reward"),
        rpc_fixtures.record_of("whirlpool_liquidity_add"),
        rpc_fixtures.record_of("whirlpool_no_token_balances"),
        rpc_fixtures.record(missing, 8, rpc_fixtures.record_of("whirlpool_failed")["blockTime"] + 5),
        rpc_fixtures.record_of("whirlpool_failed"),  # failed in the index: counted, never fetched
        rpc_fixtures.record("5" * 88, 7, None),
        rpc_fixtures.record_of("whirlpool_sell"),
        rpc_fixtures.record_of("whirlpool_buy"),  # exactly at `start`: inside
        _before_start(),  # paging stops here ...
        rpc_fixtures.record_of("raydium_buy"),  # ... so this one is never looked at
    ]
    wanted = ["whirlpool_via_aggregator", "whirlpool_collect_reward", "whirlpool_liquidity_add"]
    wanted += ["whirlpool_no_token_balances", None, "whirlpool_sell", "whirlpool_buy"]
    load = _load(
        http_server,
        ORCA_SOL_USDC,
        records,
        [rpc_fixtures.response(name) if name else None for name in wanted],
    )

    assert list(load.trades.columns) == list(TRADE_COLUMNS)
    assert load.trades["side"].tolist() == ["buy", "sell", "buy"]
    assert load.trades["instruction_index"].tolist() == [2, 2, 3]
    assert load.trades["block_time"].iloc[0] == START
    assert load.skipped == {
        "failed": 1,
        "missing": 1,
        "no_token_balances": 1,
        "no_block_time": 1,
        "not_a_swap": 1,
        "unknown_mint": 1,
    }
    page, batch = (request.json() for request in http_server.requests)
    assert page["method"] == "getSignaturesForAddress" and page["params"][0] == ORCA_SOL_USDC.address
    asked = [call["params"][0] for call in batch]
    assert asked == [rpc_fixtures.record_of(name)["signature"] if name else missing for name in wanted]
    assert "'unknown_mint': 1" in caplog.text and "3 trades" in caplog.text

    rows = validate_rows(load.trades, DexTradesTable)
    assert rows.rejected.empty
    assert len(rows.valid) == 3


def test_a_mis_configured_pool_counts_unknown_mints(http_server):
    wrong_quote = replace(METEORA_SOL_USDC, quote_mint=USDT_MINT)
    load = _load(
        http_server,
        wrong_quote,
        [rpc_fixtures.record_of("dlmm_buy"), _before_start()],
        [rpc_fixtures.response("dlmm_buy")],
    )
    assert load.trades.empty
    assert load.skipped["unknown_mint"] == 1


def test_an_empty_window_gives_an_empty_frame_with_the_contract_columns(http_server):
    load = _load(http_server, ORCA_SOL_USDC, [_before_start()], [])
    assert load.trades.empty
    assert list(load.trades.columns) == list(TRADE_COLUMNS)
    assert set(load.skipped.values()) == {0}
    assert len(http_server.requests) == 1  # nothing to fetch, so no batch


def test_a_malformed_transaction_in_a_load_names_its_signature(http_server):
    broken = rpc_fixtures.response("whirlpool_sell")
    del broken["result"]["meta"]["preTokenBalances"][2]["mint"]
    record = rpc_fixtures.record_of("whirlpool_sell")
    expected = (
        rf"transaction {record['signature']}: getTransaction result lacks meta.preTokenBalances\[2\].mint"
    )
    with pytest.raises(MalformedTransactionError, match=expected):
        _load(http_server, ORCA_SOL_USDC, [record, _before_start()], [broken])


def test_the_window_must_be_zone_aware():
    rpc = SolanaRpc("http://127.0.0.1:1", HttpClient())
    with pytest.raises(ValueError, match="start must be timezone-aware"):
        load_pool_trades(rpc, ORCA_SOL_USDC, START.tz_localize(None), END)
