"""LocalCluster (LiteSVM, persisted) and RpcCluster (real HTTP JSON-RPC) sending real transactions.

The program is `tests/onchain/programs/hello.c` built by the project's own C -> SBPF toolchain and
deployed through loader-v3 accounts: `[0, i]` logs a greeting, `[1, code]` fails with custom error
`code`, anything else fails with InvalidInstructionData.
"""

from __future__ import annotations

import base64
import json
import struct
import time
from pathlib import Path

import pytest
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from onchain import cluster as cluster_module
from onchain.client import RiskGuardClient
from onchain.cluster import ClusterError, LocalCluster, RpcCluster, TxOutcome
from onchain.deploy import deploy_local, programdata_address
from onchain.linker import link
from onchain.toolchain import compile_c
from tests.http_server import ScriptedHttpServer, ScriptedResponse
from tests.onchain.fake_rpc import FakeRpcServer

PROGRAMS = Path(__file__).parent / "programs"
COMPUTE_BUDGET = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
SOL = 1_000_000_000


@pytest.fixture(scope="module")
def hello_so() -> bytes:
    return link(compile_c(PROGRAMS / "hello.c"))


def greet(program_id: Pubkey, index: int = 1) -> Instruction:
    return Instruction(program_id, bytes([0, index]), [])


def fail_with(program_id: Pubkey, code: int) -> Instruction:
    return Instruction(program_id, bytes([1, code]), [])


def pay(payer: Keypair, to: Pubkey, lamports: int) -> Instruction:
    return transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))


@pytest.fixture
def local(hello_so: bytes) -> tuple[LocalCluster, Pubkey, Keypair]:
    cluster = LocalCluster(error_namer=RiskGuardClient(Pubkey.new_unique()).error_name)
    program_id = Pubkey.new_unique()
    deploy_local(cluster, program_id, hello_so)
    payer = Keypair()
    cluster.airdrop(payer.pubkey(), 10 * SOL)
    return cluster, program_id, payer


# --- LocalCluster --------------------------------------------------------------------------------


def test_local_accepted_transaction(local: tuple[LocalCluster, Pubkey, Keypair]) -> None:
    cluster, program_id, payer = local
    outcome = cluster.send([greet(program_id, 2)], [], payer)
    assert outcome.accepted and outcome.error_code is None and outcome.error_name is None
    assert "Program log: hello from C" in outcome.logs
    assert "Program log: wagmi from C" in outcome.logs
    assert outcome.logs[-1] == f"Program {program_id} success"
    assert outcome.compute_units > 0
    assert len(bytes(Signature.from_string(outcome.signature))) == 64


def test_local_rejection_is_an_outcome_with_the_mapped_name(
    local: tuple[LocalCluster, Pubkey, Keypair],
) -> None:
    cluster, program_id, payer = local
    # 102 is Anchor's InstructionDidNotDeserialize: named through the client's error table.
    outcome = cluster.send([fail_with(program_id, 102)], [], payer)
    assert (outcome.accepted, outcome.error_code, outcome.error_name) == (
        False,
        102,
        "InstructionDidNotDeserialize",
    )
    assert outcome.logs[-1] == f"Program {program_id} failed: custom program error: 0x66"
    # A code nobody names keeps solders' form; the index is the failing instruction's.
    outcome = cluster.send([greet(program_id), fail_with(program_id, 42)], [], payer)
    assert (outcome.error_code, outcome.error_name) == (42, "InstructionError(1, Custom(42))")


def test_local_non_custom_errors_are_named_by_solders(local: tuple[LocalCluster, Pubkey, Keypair]) -> None:
    cluster, program_id, payer = local
    outcome = cluster.send([Instruction(program_id, bytes([9]), [])], [], payer)
    assert (outcome.accepted, outcome.error_code) == (False, None)
    assert outcome.error_name == "InstructionError(0, InvalidInstructionData)"
    assert "Program log: unknown instruction" in outcome.logs
    broke = cluster.send([greet(program_id)], [], Keypair())  # a fee payer that does not exist
    assert (broke.accepted, broke.error_code, broke.error_name) == (False, None, "AccountNotFound")
    system = cluster.send([pay(payer, Pubkey.new_unique(), 100 * SOL)], [], payer)
    assert (system.error_code, system.error_name) == (1, "InstructionError(0, Custom(1))")


def test_local_identical_transactions_both_land(local: tuple[LocalCluster, Pubkey, Keypair]) -> None:
    cluster, program_id, payer = local
    first = cluster.send([greet(program_id)], [], payer)
    second = cluster.send([greet(program_id)], [], payer)
    assert first.accepted and second.accepted
    assert first.signature != second.signature


def test_local_extra_signers_and_payer_dedup(local: tuple[LocalCluster, Pubkey, Keypair]) -> None:
    cluster, _program_id, payer = local
    other = Keypair()
    cluster.airdrop(other.pubkey(), SOL)
    ix = pay(other, payer.pubkey(), 1_000)
    assert cluster.send([ix], [other, payer, other], payer).accepted


def test_local_clock_is_set_before_sending(local: tuple[LocalCluster, Pubkey, Keypair]) -> None:
    cluster, program_id, payer = local
    assert abs(cluster.now() - time.time()) < 5  # wall clock by default
    cluster.set_time(1_700_000_000)
    assert cluster.now() == 1_700_000_000
    slot = cluster.svm.get_clock().slot
    cluster.send([greet(program_id)], [], payer)
    clock = cluster.svm.get_clock()
    assert (clock.unix_timestamp, clock.slot) == (1_700_000_000, slot + 1)
    cluster.set_time(None)
    assert abs(cluster.now() - time.time()) < 5


def test_local_state_persists_between_runs(tmp_path: Path, hello_so: bytes) -> None:
    state = tmp_path / "var" / "localnet.json"
    first = LocalCluster(state)
    program_id = Pubkey.new_unique()
    deploy_local(first, program_id, hello_so)
    payer, dest = Keypair(), Pubkey.new_unique()
    first.airdrop(payer.pubkey(), 10 * SOL)
    quote = Pubkey.new_unique()
    first.set_account(quote, Account(SOL, b"quote-bytes", program_id, False, 0))
    first.set_time(1_700_000_000)
    assert first.send([pay(payer, dest, 3 * SOL), greet(program_id)], [], payer).accepted
    first.save()

    saved = json.loads(state.read_text())
    expected = {program_id, programdata_address(program_id), payer.pubkey(), dest, quote}
    assert set(saved["accounts"]) == {str(k) for k in expected}
    assert str(Pubkey.from_string("11111111111111111111111111111111")) not in saved["accounts"]

    second = LocalCluster(state)
    assert second.account(quote) == b"quote-bytes"
    assert second.balance(dest) == 3 * SOL
    assert second.balance(payer.pubkey()) == first.balance(payer.pubkey())
    assert second.svm.get_clock().slot == first.svm.get_clock().slot
    assert second.svm.get_clock().unix_timestamp == 1_700_000_000
    # The program came back from its saved loader-v3 accounts and still runs.
    outcome = second.send([greet(program_id)], [], payer)
    assert outcome.accepted, outcome
    assert second.tracked >= first.tracked


def test_local_save_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "localnet.json"
    cluster = LocalCluster(state)
    cluster.airdrop(Pubkey.new_unique(), SOL)
    cluster.save()
    before = state.read_bytes()
    cluster.airdrop(Pubkey.new_unique(), SOL)
    monkeypatch.setattr(cluster_module.os, "replace", lambda *_a: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError):
        cluster.save()
    assert state.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["localnet.json"]


def test_local_bad_state_file_names_the_path(tmp_path: Path) -> None:
    state = tmp_path / "localnet.json"
    state.write_text("{not json")
    with pytest.raises(ClusterError, match=r"localnet\.json"):
        LocalCluster(state)
    state.write_text(json.dumps({"version": 99}))
    with pytest.raises(ClusterError, match="state format 99"):
        LocalCluster(state)


def test_local_tracks_what_transactions_write(local: tuple[LocalCluster, Pubkey, Keypair]) -> None:
    cluster, _program_id, payer = local
    dest, reader = Pubkey.new_unique(), Pubkey.new_unique()
    ix = pay(payer, dest, SOL)
    ix = Instruction(ix.program_id, bytes(ix.data), [*ix.accounts, AccountMeta(reader, False, False)])
    cluster.send([ix], [], payer)
    assert dest in cluster.tracked and payer.pubkey() in cluster.tracked
    assert reader not in cluster.tracked


# --- RpcCluster over real HTTP -------------------------------------------------------------------


@pytest.fixture
def rpc(hello_so: bytes):  # type: ignore[no-untyped-def]
    with FakeRpcServer() as server:
        program_id = Pubkey.new_unique()
        deploy_local(server.node.svm, program_id, hello_so)
        payer = Keypair()
        server.node.svm.airdrop(payer.pubkey(), 10 * SOL)
        yield server, program_id, payer


def _cluster(server: FakeRpcServer, sleeps: list[float] | None = None, **kwargs: object) -> RpcCluster:
    record = sleeps if sleeps is not None else []
    return RpcCluster(
        server.url,
        error_namer=RiskGuardClient(Pubkey.new_unique()).error_name,
        sleep=record.append,
        **kwargs,  # type: ignore[arg-type]
    )


def test_rpc_accepted_transaction_with_priority_fee(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    outcome = _cluster(server, compute_unit_price=1_000).send([greet(program_id, 0)], [], payer)
    assert outcome.accepted, outcome
    landed = server.node.landed[outcome.signature]
    assert outcome.compute_units == landed.compute_units > 0
    assert "Program log: gm from C" in outcome.logs
    tx = VersionedTransaction.from_bytes(landed.raw)
    keys = tx.message.account_keys
    first, second = tx.message.instructions
    assert keys[first.program_id_index] == COMPUTE_BUDGET
    assert bytes(first.data) == b"\x03" + struct.pack("<Q", 1_000)  # SetComputeUnitPrice
    assert keys[second.program_id_index] == program_id
    assert server.node.methods == [
        "getLatestBlockhash",
        "sendTransaction",
        "getSignatureStatuses",
        "getTransaction",
    ]


def test_rpc_no_budget_instruction_without_a_price(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    outcome = _cluster(server).send([greet(program_id)], [], payer)
    tx = VersionedTransaction.from_bytes(server.node.landed[outcome.signature].raw)
    assert [tx.message.account_keys[i.program_id_index] for i in tx.message.instructions] == [program_id]


def test_rpc_preflight_rejection_is_an_outcome(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    outcome = _cluster(server).send([fail_with(program_id, 3)], [], payer)
    assert (outcome.accepted, outcome.error_code, outcome.error_name) == (
        False,
        3,
        "InstructionError(0, Custom(3))",
    )
    assert outcome.logs[-1] == f"Program {program_id} failed: custom program error: 0x3"
    assert outcome.compute_units > 0
    assert not server.node.signature_landed(outcome.signature)  # preflight stops it before the chain


def test_rpc_onchain_failure_read_back_from_the_ledger(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    cluster = _cluster(server, skip_preflight=True, commitment="processed")
    outcome = cluster.send([fail_with(program_id, 102)], [], payer)
    assert (outcome.accepted, outcome.error_code, outcome.error_name) == (
        False,
        102,
        "InstructionDidNotDeserialize",
    )
    assert server.node.signature_landed(outcome.signature)  # it landed, failed, and paid its fee
    assert outcome.compute_units == server.node.landed[outcome.signature].compute_units


def test_rpc_retries_transport_errors_with_backoff(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    sleeps: list[float] = []
    server.node.fail_http = 2
    outcome = _cluster(server, sleeps, backoff_s=0.25).send([greet(program_id)], [], payer)
    assert outcome.accepted
    assert sleeps[:2] == [0.25, 0.5]
    assert server.node.methods[:3] == ["getLatestBlockhash"] * 3


def test_rpc_gives_up_after_max_attempts(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    server.node.fail_http = 100
    with pytest.raises(ClusterError, match="failed 3 times"):
        _cluster(server, max_attempts=3).send([greet(program_id)], [], payer)
    assert len(server.node.methods) == 3
    assert server.node.sent == []


def test_rpc_resigns_when_the_blockhash_is_not_found(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    server.node.blockhash_not_found = 1
    outcome = _cluster(server).send([greet(program_id)], [], payer)
    assert outcome.accepted
    assert server.node.methods.count("getLatestBlockhash") == 2
    assert server.node.sent == [outcome.signature]


def test_rpc_resigns_when_a_sent_transaction_expires_unlanded(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, payer = rpc
    server.node.drop_sends = 1
    outcome = _cluster(server).send([greet(program_id)], [], payer)
    assert outcome.accepted
    assert server.node.methods[:5] == [
        "getLatestBlockhash",
        "sendTransaction",
        "getSignatureStatuses",
        "getBlockHeight",
        "getLatestBlockhash",
    ]
    assert server.node.sent == [outcome.signature]  # only the re-signed one ran


def test_rpc_reads_accounts_clock_and_rent(rpc) -> None:  # type: ignore[no-untyped-def]
    server, program_id, _payer = rpc
    svm = server.node.svm
    clock = svm.get_clock()
    clock.unix_timestamp = 1_700_000_123
    svm.set_clock(clock)
    holder = Pubkey.new_unique()
    svm.set_account(holder, Account(SOL, b"\x01\x02\x03", program_id, False, 0))
    cluster = _cluster(server)
    assert cluster.now() == 1_700_000_123
    assert cluster.account(holder) == b"\x01\x02\x03"
    assert cluster.account(Pubkey.new_unique()) is None
    assert cluster.rent_exempt_minimum(200) == svm.minimum_balance_for_rent_exemption(200)


def test_rpc_parses_a_recorded_preflight_failure(http_server: ScriptedHttpServer) -> None:
    """Recorded-format responses, independent of the LiteSVM double: a 503, a blockhash, a -32002."""
    program_id = Pubkey.from_string("RiskGuard1111111111111111111111111111111111")
    logs = [
        f"Program {program_id} invoke [1]",
        "Program log: AnchorError occurred. Error Code: SequenceReplayed. Error Number: 6003.",
        f"Program {program_id} consumed 4321 of 200000 compute units",
        f"Program {program_id} failed: custom program error: 0x1773",
    ]
    http_server.script(
        "/",
        ScriptedResponse("upstream busy", status=503),
        {
            "jsonrpc": "2.0",
            "result": {
                "context": {"apiVersion": "2.1.13", "slot": 341197053},
                "value": {
                    "blockhash": "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N",
                    "lastValidBlockHeight": 319371387,
                },
            },
            "id": 1,
        },
        {
            "jsonrpc": "2.0",
            "error": {
                "code": -32002,
                "message": "Transaction simulation failed: Error processing Instruction 0: "
                "custom program error: 0x1773",
                "data": {
                    "accounts": None,
                    "err": {"InstructionError": [0, {"Custom": 6003}]},
                    "innerInstructions": None,
                    "logs": logs,
                    "replacementBlockhash": None,
                    "returnData": None,
                    "unitsConsumed": 4321,
                },
            },
            "id": 2,
        },
    )
    payer = Keypair()
    client = RiskGuardClient(program_id)
    cluster = RpcCluster(http_server.url, error_namer=client.error_name, sleep=lambda _s: None)
    ix = client.push_signal(payer.pubkey(), client.book_address("BTCUSDT"), 5, 1, 100, 1_700_000_000, 9_000)
    outcome = cluster.send([ix], [], payer)
    assert outcome == TxOutcome(
        signature=outcome.signature,
        accepted=False,
        error_code=6003,
        error_name="SequenceReplayed",
        compute_units=4321,
        logs=tuple(logs),
    )
    methods = [r.json()["method"] for r in http_server.requests]
    assert methods == ["getLatestBlockhash", "getLatestBlockhash", "sendTransaction"]
    params = http_server.requests[-1].json()["params"]
    assert params[1]["encoding"] == "base64" and params[1]["preflightCommitment"] == "confirmed"
    sent = VersionedTransaction.from_bytes(base64.b64decode(params[0]))
    assert str(sent.signatures[0]) == outcome.signature
    assert str(sent.message.recent_blockhash) == "EkSnNWid2cvwEVnVx9aBqawnmiCNiDgp3gUdkDPTKN1N"
