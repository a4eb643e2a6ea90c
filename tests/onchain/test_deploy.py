"""Loader-v3 deploys: account layouts and instruction bytes against agave's definitions, for real in LiteSVM.

Layouts checked here, from agave `sdk/program/src/bpf_loader_upgradeable.rs` and
`loader_upgradeable_instruction.rs` (bincode: u32 LE variant tag, u64 lengths/usize, Option as a
u8 flag): Buffer 37-byte header, Program 36 bytes, ProgramData 45-byte header; InitializeBuffer
[buffer w, authority], Write [buffer w, authority s], DeployWithMaxDataLen [payer s w,
programdata w, program w, buffer w, rent, clock, system program, authority s].
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction, VersionedTransaction

from onchain.cluster import LocalCluster, RpcCluster
from onchain.deploy import (
    LOADER_V3,
    DeployError,
    chunks,
    create_buffer,
    create_buffer_instructions,
    deploy_from_buffer,
    deploy_instructions,
    deploy_local,
    deploy_rpc,
    deploy_with_max_data_len,
    initialize_buffer,
    main,
    max_chunk_size,
    program_account_data,
    programdata_account_data,
    programdata_address,
    write,
    write_buffer,
)
from onchain.keypairs import write_keypair
from onchain.linker import link
from onchain.toolchain import compile_c
from tests.onchain.fake_rpc import FakeRpcServer

PROGRAMS = Path(__file__).parent / "programs"
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
RENT = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
CLOCK = Pubkey.from_string("SysvarC1ock11111111111111111111111111111111")
SOL = 1_000_000_000


@pytest.fixture(scope="module")
def hello_so() -> bytes:
    return link(compile_c(PROGRAMS / "hello.c"))


# --- layouts and encodings -----------------------------------------------------------------------


def test_loader_id_and_programdata_address() -> None:
    assert str(LOADER_V3) == "BPFLoaderUpgradeab1e11111111111111111111111"
    program_id = Pubkey.new_unique()
    assert programdata_address(program_id) == Pubkey.find_program_address([bytes(program_id)], LOADER_V3)[0]


def test_program_and_programdata_account_layouts() -> None:
    program_id, authority = Pubkey.new_unique(), Pubkey.new_unique()
    program = program_account_data(program_id)
    assert len(program) == 36
    assert program == b"\x02\x00\x00\x00" + bytes(programdata_address(program_id))
    elf = b"\x7fELF-not-really"
    data = programdata_account_data(elf, 1234, authority)
    assert data[:4] == b"\x03\x00\x00\x00"
    assert data[4:12] == struct.pack("<Q", 1234)
    assert data[12:45] == b"\x01" + bytes(authority)
    assert data[45:] == elf
    immutable = programdata_account_data(elf, 7, None)
    assert immutable[12:45] == b"\x00" * 33 and immutable[45:] == elf


def test_initialize_buffer_encoding() -> None:
    buffer, authority = Pubkey.new_unique(), Pubkey.new_unique()
    ix = initialize_buffer(buffer, authority)
    assert ix.program_id == LOADER_V3
    assert bytes(ix.data) == b"\x00\x00\x00\x00"
    assert list(ix.accounts) == [AccountMeta(buffer, False, True), AccountMeta(authority, False, False)]


def test_write_encoding() -> None:
    buffer, authority = Pubkey.new_unique(), Pubkey.new_unique()
    ix = write(buffer, authority, 0x01020304, b"abc")
    assert bytes(ix.data) == bytes.fromhex("01000000" + "04030201" + "0300000000000000") + b"abc"
    assert list(ix.accounts) == [AccountMeta(buffer, False, True), AccountMeta(authority, True, False)]


def test_deploy_with_max_data_len_encoding() -> None:
    payer, program_id, buffer, authority = (Pubkey.new_unique() for _ in range(4))
    ix = deploy_with_max_data_len(payer, program_id, buffer, authority, 0x0102030405)
    assert bytes(ix.data) == bytes.fromhex("02000000" + "0504030201000000")
    assert list(ix.accounts) == [
        AccountMeta(payer, True, True),
        AccountMeta(programdata_address(program_id), False, True),
        AccountMeta(program_id, False, True),
        AccountMeta(buffer, False, True),
        AccountMeta(RENT, False, False),
        AccountMeta(CLOCK, False, False),
        AccountMeta(SYSTEM, False, False),
        AccountMeta(authority, True, False),
    ]


def _create_account_data(lamports: int, space: int, owner: Pubkey) -> bytes:
    """System program CreateAccount: u32 tag 0, u64 lamports, u64 space, owner."""
    return struct.pack("<IQQ", 0, lamports, space) + bytes(owner)


def test_buffer_and_program_account_creation() -> None:
    payer, buffer, authority, program_id = (Pubkey.new_unique() for _ in range(4))
    create, init = create_buffer_instructions(payer, buffer, authority, 5_000, 2_432)
    assert create.program_id == SYSTEM
    assert bytes(create.data) == _create_account_data(5_000, 37 + 2_432, LOADER_V3)
    assert list(create.accounts) == [AccountMeta(payer, True, True), AccountMeta(buffer, True, True)]
    assert init == initialize_buffer(buffer, authority)
    create, deploy = deploy_instructions(payer, program_id, buffer, authority, 9_000, 4_096)
    assert bytes(create.data) == _create_account_data(9_000, 36, LOADER_V3)
    assert list(create.accounts) == [AccountMeta(payer, True, True), AccountMeta(program_id, True, True)]
    assert deploy == deploy_with_max_data_len(payer, program_id, buffer, authority, 4_096)


@pytest.mark.parametrize("prefix_price", [None, 50_000])
def test_write_chunks_fill_a_transaction_exactly(prefix_price: int | None) -> None:
    payer, authority, buffer = Keypair(), Keypair(), Pubkey.new_unique()
    prefix = (
        []
        if prefix_price is None
        else RpcCluster("http://127.0.0.1:9", compute_unit_price=prefix_price).budget_instructions()
    )
    size = max_chunk_size(payer, authority, buffer, prefix)
    ixs = [*prefix, write(buffer, authority.pubkey(), 123_456, b"\xab" * size)]
    tx = Transaction(
        [payer, authority], Message.new_with_blockhash(ixs, payer.pubkey(), Hash.default()), Hash.default()
    )
    assert len(bytes(tx)) == 1232
    elf = bytes(range(256)) * 9
    pieces = list(chunks(elf, size))
    assert b"".join(p for _, p in pieces) == elf
    assert [o for o, _ in pieces] == list(range(0, len(elf), size))


# --- (a) LiteSVM: the accounts a deploy leaves, loaded and run -----------------------------------


def test_local_deploy_is_loaded_and_run_by_litesvm(hello_so: bytes) -> None:
    cluster = LocalCluster()
    payer, authority = Keypair(), Pubkey.new_unique()
    cluster.airdrop(payer.pubkey(), SOL)
    program_id = Pubkey.new_unique()
    before = cluster.send([Instruction(program_id, b"\x00\x01", [])], [], payer)
    assert before.error_name == "InvalidProgramForExecution"

    slot = cluster.svm.get_clock().slot
    deployment = deploy_local(cluster, program_id, hello_so, authority)
    program = cluster.account_info(program_id)
    programdata = cluster.account_info(deployment.programdata)
    assert program is not None and programdata is not None
    assert (program.owner, program.executable, bytes(program.data)) == (
        LOADER_V3,
        True,
        program_account_data(program_id),
    )
    assert (programdata.owner, programdata.executable) == (LOADER_V3, False)
    assert bytes(programdata.data) == programdata_account_data(hello_so, slot, authority)
    assert program.lamports == cluster.rent_exempt_minimum(36)
    assert programdata.lamports == cluster.rent_exempt_minimum(45 + len(hello_so))

    outcome = cluster.send([Instruction(program_id, b"\x00\x01", [])], [], payer)
    assert outcome.accepted, outcome
    assert outcome.logs[:3] == (
        f"Program {program_id} invoke [1]",
        "Program log: hello from C",
        "Program log: gn from C",
    )


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(
            lambda elf, pid: (programdata_account_data(elf, 0, None)[1:], program_account_data(pid)),
            id="elf-one-byte-early",
        ),
        pytest.param(
            lambda elf, pid: (programdata_account_data(elf[:200], 0, None), program_account_data(pid)),
            id="truncated-elf",
        ),
        pytest.param(
            lambda elf, pid: (
                programdata_account_data(elf, 0, None),
                b"\x02\x00\x00\x00" + bytes(Pubkey.new_unique()),
            ),
            id="wrong-programdata",
        ),
        pytest.param(
            lambda elf, pid: (
                programdata_account_data(elf, 0, None),
                b"\x03\x00\x00\x00" + bytes(programdata_address(pid)),
            ),
            id="wrong-tag",
        ),
    ],
)
def test_litesvm_really_reads_the_loader_accounts(hello_so: bytes, corrupt) -> None:  # type: ignore[no-untyped-def]
    """LiteSVM checks the Program account's tag and ProgramData address and reads the ELF at offset 45.

    (It does not check the ProgramData account's own tag or slot; a real cluster's deploy writes
    them, so `deploy_local` writes them as a deploy would.)
    """
    cluster = LocalCluster()
    program_id = Pubkey.new_unique()
    programdata, program = corrupt(hello_so, program_id)
    cluster.set_account(programdata_address(program_id), Account(SOL, programdata, LOADER_V3, False, 0))
    # solders.LiteSVMError is not importable by name; its messages are the loader's errors.
    with pytest.raises(
        Exception, match=r"invalid account data for instruction|account required .* is missing"
    ):
        cluster.set_account(program_id, Account(SOL, program, LOADER_V3, True, 0))


def test_local_deploy_of_a_broken_elf_is_a_deploy_error(hello_so: bytes) -> None:
    with pytest.raises(DeployError, match="LiteSVM cannot load"):
        deploy_local(LocalCluster(), Pubkey.new_unique(), hello_so[: len(hello_so) // 2])


# --- (b) the real sequence, through JSON-RPC into LiteSVM ----------------------------------------


@pytest.fixture
def node():  # type: ignore[no-untyped-def]
    with FakeRpcServer() as server:
        yield server


def test_buffer_create_initialize_and_write_for_real(node: FakeRpcServer, hello_so: bytes) -> None:
    payer, authority, buffer = Keypair(), Keypair(), Keypair()
    node.node.svm.airdrop(payer.pubkey(), 10 * SOL)
    cluster = RpcCluster(node.url, compute_unit_price=1_000, sleep=lambda _s: None)
    create_buffer(cluster, payer, buffer, authority, len(hello_so))
    account = node.node.svm.get_account(buffer.pubkey())
    assert account is not None and account.owner == LOADER_V3
    assert bytes(account.data) == b"\x01\x00\x00\x00\x01" + bytes(authority.pubkey()) + b"\x00" * len(
        hello_so
    )

    signatures = write_buffer(
        cluster, payer, buffer.pubkey(), authority, hello_so, cluster.budget_instructions()
    )
    assert len(signatures) == -(
        -len(hello_so) // max_chunk_size(payer, authority, buffer.pubkey(), cluster.budget_instructions())
    )
    assert len(signatures) > 1  # more than one chunk: offsets are exercised
    data = cluster.account(buffer.pubkey())
    assert data == b"\x01\x00\x00\x00\x01" + bytes(authority.pubkey()) + hello_so
    assert data[37:] == hello_so


def test_write_needs_the_buffer_authority(node: FakeRpcServer, hello_so: bytes) -> None:
    payer, authority, buffer = Keypair(), Keypair(), Keypair()
    node.node.svm.airdrop(payer.pubkey(), 10 * SOL)
    cluster = RpcCluster(node.url, sleep=lambda _s: None)
    create_buffer(cluster, payer, buffer, authority, len(hello_so))
    with pytest.raises(DeployError, match=r"write rejected: InstructionError\(0, IncorrectAuthority\)"):
        write_buffer(cluster, payer, buffer.pubkey(), Keypair(), hello_so)


def test_litesvm_refuses_deploy_with_max_data_len(node: FakeRpcServer, hello_so: bytes) -> None:
    """Why deploy_local exists: this LiteSVM's feature set turns new loader-v3 deploys off.

    If a LiteSVM upgrade ever accepts the instruction, this fails, and the RPC path can be tested
    to the end.
    """
    payer, program, buffer = Keypair(), Keypair(), Keypair()
    node.node.svm.airdrop(payer.pubkey(), 10 * SOL)
    cluster = RpcCluster(node.url, sleep=lambda _s: None)
    create_buffer(cluster, payer, buffer, payer, len(hello_so))
    write_buffer(cluster, payer, buffer.pubkey(), payer, hello_so)
    with pytest.raises(
        DeployError, match=r"deploy rejected: InstructionError\(1, InvalidInstructionData\)"
    ) as info:
        deploy_from_buffer(cluster, payer, program, buffer.pubkey(), payer, len(hello_so))
    assert "Unsupported instruction" in str(info.value)
    assert str(buffer.pubkey()) in str(info.value)
    assert cluster.account(program.pubkey()) is None  # the create_account in the same transaction rolled back


def test_deploy_rpc_refuses_an_existing_program(node: FakeRpcServer, hello_so: bytes) -> None:
    payer, program = Keypair(), Keypair()
    node.node.svm.airdrop(payer.pubkey(), 10 * SOL)
    node.node.svm.airdrop(program.pubkey(), SOL)
    with pytest.raises(DeployError, match="already exists"):
        deploy_rpc(RpcCluster(node.url, sleep=lambda _s: None), payer, program, hello_so)
    assert node.node.sent == []


def test_cli_runs_the_sequence(
    node: FakeRpcServer, hello_so: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payer, program = Keypair(), Keypair()
    node.node.svm.airdrop(payer.pubkey(), 10 * SOL)
    so = tmp_path / "hello.so"
    so.write_bytes(hello_so)
    args = [
        "--cluster", node.url, "--program", str(so),
        "--program-keypair", str(write_keypair(tmp_path / "program-keypair.json", program)),
        "--payer-keypair", str(write_keypair(tmp_path / "payer-keypair.json", payer)),
        "--compute-unit-price", "5",
    ]  # fmt: skip
    assert main(args) == 1  # LiteSVM refuses the final step (see above) ...
    err = capsys.readouterr().err
    assert "deploy failed: deploy rejected" in err
    # ... after the CLI created, initialized and filled a buffer with the program for real.
    buffers = [
        a
        for a in (node.node.svm.get_account(Pubkey.from_string(k)) for k in _written_accounts(node))
        if a is not None and a.owner == LOADER_V3
    ]
    assert [bytes(a.data)[37:] for a in buffers] == [hello_so]


def _written_accounts(node: FakeRpcServer) -> set[str]:
    keys: set[str] = set()
    for landed in node.node.landed.values():
        keys.update(str(k) for k in VersionedTransaction.from_bytes(landed.raw).message.account_keys)
    return keys


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--cluster", "mainnet-ish"], 2, "neither"),
        (["--cluster", "localnet", "--payer-keypair", "/nowhere/payer.json"], 1, "/nowhere/payer.json"),
    ],
)
def test_cli_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: int, message: str
) -> None:
    so = tmp_path / "p.so"
    so.write_bytes(b"\x7fELF")
    program = write_keypair(tmp_path / "program-keypair.json", Keypair())
    base = ["--program", str(so), "--program-keypair", str(program), "--payer-keypair", str(program)]
    assert main([*base, *args]) == code
    assert message in capsys.readouterr().err
