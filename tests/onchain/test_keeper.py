"""The keeper's code path, on the local LiteSVM and over JSON-RPC: the same `RiskGuard` drives both."""

from __future__ import annotations

from dataclasses import replace

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from onchain import deployment
from onchain.deploy import deploy_local
from onchain.deployment import open_rpc
from onchain.keeper import RiskGuard, RiskGuardSetupError
from onchain.paper import SignalOrder, paper_limits
from tests.onchain.fake_rpc import FakeRpcServer
from tests.onchain.guard import START_TIME

LIMITS = paper_limits(10_000)
CAPITAL = 10_000 * 1_000_000
SOL = 1_000_000_000


def _order(sequence: int = 1, target: int = 100, ts: int = START_TIME) -> SignalOrder:
    return SignalOrder("BTC-USD", sequence, target, 6_000_000, ts, 9_000)


@pytest.fixture
def local_guard(program: bytes) -> RiskGuard:
    guard = deployment.local_guard(Pubkey.new_unique(), Keypair(), Keypair(), program=program)
    guard.cluster.set_time(START_TIME)
    return guard


def test_setup_is_idempotent_and_follows_the_settings(local_guard: RiskGuard) -> None:
    local_guard.ensure_config(LIMITS)
    local_guard.ensure_config(LIMITS)  # nothing to change: no transaction fails
    tighter = replace(LIMITS, max_leverage_bps=10_000)
    local_guard.ensure_config(tighter)
    config = local_guard.client.decode_config(
        local_guard.cluster.account(local_guard.client.config_address())
    )
    assert config.limits == tighter
    first = local_guard.ensure_book("BTC-USD", CAPITAL)
    again = local_guard.ensure_book("BTC-USD", CAPITAL * 2)
    assert first == again and first.capital == CAPITAL


def test_a_rotated_keeper_is_written_to_the_config(local_guard: RiskGuard) -> None:
    local_guard.ensure_config(LIMITS)
    local_guard.keeper = Keypair()
    local_guard.cluster.airdrop(local_guard.keeper.pubkey(), SOL)
    local_guard.ensure_config(LIMITS)
    local_guard.ensure_book("BTC-USD", CAPITAL)
    assert local_guard.push(_order()).accepted


def test_another_authority_is_refused_clearly(local_guard: RiskGuard) -> None:
    local_guard.ensure_config(LIMITS)
    impostor = RiskGuard(local_guard.cluster, local_guard.client, Keypair(), local_guard.keeper)
    with pytest.raises(RiskGuardSetupError, match="authority"):
        impostor.ensure_config(LIMITS)


def test_refusals_are_outcomes_not_exceptions(local_guard: RiskGuard) -> None:
    local_guard.ensure_config(LIMITS)
    local_guard.ensure_book("BTC-USD", CAPITAL)
    assert local_guard.push(_order()).accepted
    replay = local_guard.push(_order())
    assert (replay.accepted, replay.error_name) == (False, "SequenceReplayed")
    assert local_guard.book("BTC-USD").position == 100


def test_the_same_keeper_runs_over_json_rpc(program: bytes) -> None:
    """devnet by configuration: the RPC cluster under the same keeper code, against an RPC test double."""
    with FakeRpcServer() as server:
        program_id = Pubkey.new_unique()
        authority, keeper = Keypair(), Keypair()
        deploy_local(server.node.svm, program_id, program, upgrade_authority=authority.pubkey())
        clock = server.node.svm.get_clock()
        clock.unix_timestamp = START_TIME
        server.node.svm.set_clock(clock)
        for key in (authority, keeper):
            server.node.svm.airdrop(key.pubkey(), 10 * SOL)
        guard = open_rpc(server.url, str(program_id), authority, keeper, priority_fee_micro_lamports=1_000)
        guard.ensure_config(LIMITS)
        guard.ensure_book("BTC-USD", CAPITAL)
        accepted = guard.push(_order())
        assert accepted.accepted and accepted.compute_units > 0
        replay = guard.push(_order())
        assert (replay.accepted, replay.error_name) == (False, "SequenceReplayed")
        assert guard.book("BTC-USD").position == 100


def test_rpc_needs_a_deployed_program(program: bytes) -> None:
    with FakeRpcServer() as server:
        with pytest.raises(RiskGuardSetupError, match="MAMBAQUANT_PROGRAM_ID"):
            open_rpc(server.url, None, Keypair(), Keypair())
        with pytest.raises(RiskGuardSetupError, match="not deployed"):
            open_rpc(server.url, str(Pubkey.new_unique()), Keypair(), Keypair())
