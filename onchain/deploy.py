"""Deploy an SBPF program through the upgradeable BPF loader (loader v3).

Two ways, one result (a Program account pointing at a ProgramData account holding the ELF):

* `deploy_local` writes both accounts into a `LocalCluster` directly, byte for byte as a real
  deploy leaves them. LiteSVM (solders 0.26) refuses `DeployWithMaxDataLen` - its feature set
  disables new loader-v3 deployments ("Unsupported instruction") - but it does load and run a
  program whose accounts are already there.
* `deploy_rpc` runs the real sequence against a cluster: create and initialize a buffer, `Write`
  the ELF into it in transaction-sized chunks, then create the program account and
  `DeployWithMaxDataLen` from the buffer, the way `solana program deploy` does.

Layouts (agave `sdk/program/src/bpf_loader_upgradeable.rs`, `loader_upgradeable_instruction.rs`):
`UpgradeableLoaderState` and the instructions are bincode - a u32 little-endian variant tag, u64
lengths and `usize`, `Option` as a u8 flag then the value:

* Buffer       tag 1, Option<Pubkey> authority                   -> 37-byte header, then the ELF
* Program      tag 2, Pubkey programdata_address                  -> 36 bytes
* ProgramData  tag 3, u64 slot, Option<Pubkey> upgrade_authority  -> 45-byte header, then the ELF
* InitializeBuffer       tag 0; accounts [buffer (w), authority]
* Write                  tag 1, u32 offset, u64 len + bytes; accounts [buffer (w), authority (s)]
* DeployWithMaxDataLen   tag 2, u64 max_data_len; accounts [payer (s, w), programdata (w),
  program (w), buffer (w), rent sysvar, clock sysvar, system program, authority (s)]
"""

from __future__ import annotations

import argparse
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction

from onchain.client import LOADER_V3, programdata_address
from onchain.cluster import Cluster, LocalCluster, RpcCluster, TxOutcome
from onchain.keypairs import load_keypair

BUFFER_METADATA_SIZE = 37
PROGRAM_ACCOUNT_SIZE = 36
PROGRAMDATA_METADATA_SIZE = 45
PACKET_DATA_SIZE = 1232  # the most bytes a serialized transaction may have

_BUFFER_TAG, _PROGRAM_TAG, _PROGRAMDATA_TAG = 1, 2, 3
_INITIALIZE_BUFFER, _WRITE, _DEPLOY_WITH_MAX_DATA_LEN = 0, 1, 2

CLUSTER_URLS = {
    "devnet": "https://api.devnet.solana.com",
    "testnet": "https://api.testnet.solana.com",
    "localnet": "http://127.0.0.1:8899",
}


class DeployError(RuntimeError):
    """A deploy step was rejected; the message names the step, the error and what is left behind."""


# --- account layouts ---------------------------------------------------------------------------


def _option_pubkey(key: Pubkey | None) -> bytes:
    return b"\x00" if key is None else b"\x01" + bytes(key)


def buffer_header(authority: Pubkey | None) -> bytes:
    """The Buffer state as InitializeBuffer writes it (a None authority still takes 37 bytes)."""
    return struct.pack("<I", _BUFFER_TAG) + _option_pubkey(authority).ljust(33, b"\x00")


def program_account_data(program_id: Pubkey) -> bytes:
    return struct.pack("<I", _PROGRAM_TAG) + bytes(programdata_address(program_id))


def programdata_account_data(elf: bytes, slot: int, upgrade_authority: Pubkey | None) -> bytes:
    header = struct.pack("<IQ", _PROGRAMDATA_TAG, slot) + _option_pubkey(upgrade_authority).ljust(33, b"\x00")
    return header + elf


# --- instructions ------------------------------------------------------------------------------


def initialize_buffer(buffer: Pubkey, authority: Pubkey) -> Instruction:
    return Instruction(
        LOADER_V3,
        struct.pack("<I", _INITIALIZE_BUFFER),
        [AccountMeta(buffer, is_signer=False, is_writable=True), AccountMeta(authority, False, False)],
    )


def write(buffer: Pubkey, authority: Pubkey, offset: int, chunk: bytes) -> Instruction:
    return Instruction(
        LOADER_V3,
        struct.pack("<IIQ", _WRITE, offset, len(chunk)) + chunk,
        [AccountMeta(buffer, is_signer=False, is_writable=True), AccountMeta(authority, True, False)],
    )


def deploy_with_max_data_len(
    payer: Pubkey, program_id: Pubkey, buffer: Pubkey, authority: Pubkey, max_data_len: int
) -> Instruction:
    return Instruction(
        LOADER_V3,
        struct.pack("<IQ", _DEPLOY_WITH_MAX_DATA_LEN, max_data_len),
        [
            AccountMeta(payer, is_signer=True, is_writable=True),
            AccountMeta(programdata_address(program_id), is_signer=False, is_writable=True),
            AccountMeta(program_id, is_signer=False, is_writable=True),
            AccountMeta(buffer, is_signer=False, is_writable=True),
            AccountMeta(RENT, is_signer=False, is_writable=False),
            AccountMeta(CLOCK, is_signer=False, is_writable=False),
            AccountMeta(SYSTEM_PROGRAM_ID, is_signer=False, is_writable=False),
            AccountMeta(authority, is_signer=True, is_writable=False),
        ],
    )


def create_buffer_instructions(
    payer: Pubkey, buffer: Pubkey, authority: Pubkey, lamports: int, program_len: int
) -> list[Instruction]:
    """System create_account (owner: the loader) and InitializeBuffer, which must share a transaction."""
    space = BUFFER_METADATA_SIZE + program_len
    create = create_account(
        CreateAccountParams(
            from_pubkey=payer, to_pubkey=buffer, lamports=lamports, space=space, owner=LOADER_V3
        )
    )
    return [create, initialize_buffer(buffer, authority)]


def deploy_instructions(
    payer: Pubkey,
    program_id: Pubkey,
    buffer: Pubkey,
    authority: Pubkey,
    program_lamports: int,
    max_data_len: int,
) -> list[Instruction]:
    """Create the 36-byte program account and deploy into it, in one transaction (else anyone could)."""
    create = create_account(
        CreateAccountParams(
            from_pubkey=payer,
            to_pubkey=program_id,
            lamports=program_lamports,
            space=PROGRAM_ACCOUNT_SIZE,
            owner=LOADER_V3,
        )
    )
    return [create, deploy_with_max_data_len(payer, program_id, buffer, authority, max_data_len)]


def max_chunk_size(
    payer: Keypair, authority: Keypair, buffer: Pubkey, prefix: Sequence[Instruction] = ()
) -> int:
    """The most ELF bytes one Write transaction carries: 1232 minus that transaction with no bytes.

    The empty-chunk transaction is signed for real, so signatures, keys and compact-array lengths
    are all counted; the length prefix of the data grows by at most one byte past 127, hence -1.
    """
    signers = [payer] if authority.pubkey() == payer.pubkey() else [payer, authority]
    ixs = [*prefix, write(buffer, authority.pubkey(), 0, b"")]
    empty = Transaction(
        signers, Message.new_with_blockhash(ixs, payer.pubkey(), Hash.default()), Hash.default()
    )
    return PACKET_DATA_SIZE - len(bytes(empty)) - 1


def chunks(elf: bytes, size: int) -> Iterator[tuple[int, bytes]]:
    for offset in range(0, len(elf), size):
        yield offset, elf[offset : offset + size]


# --- deploying ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    program_id: Pubkey
    programdata: Pubkey
    buffer: Pubkey | None
    signatures: tuple[str, ...]


def deploy_local(
    target: LocalCluster | LiteSVM,
    program_id: Pubkey,
    elf: bytes,
    upgrade_authority: Pubkey | None = None,
    slot: int | None = None,
) -> Deployment:
    """Write the Program and ProgramData accounts as DeployWithMaxDataLen would (max_data_len = ELF size).

    `target` is a LocalCluster (which then tracks and persists both accounts) or a bare LiteSVM.
    The ProgramData account goes in first: LiteSVM compiles the program when the executable Program
    account is set - raising if the ELF does not load - reading the ELF from ProgramData then.
    """
    svm = target.svm if isinstance(target, LocalCluster) else target
    deploy_slot = svm.get_clock().slot if slot is None else slot
    data = programdata_account_data(elf, deploy_slot, upgrade_authority)
    programdata = programdata_address(program_id)
    rent = svm.minimum_balance_for_rent_exemption
    target.set_account(programdata, Account(rent(len(data)), data, LOADER_V3, False, 0))
    program = program_account_data(program_id)
    try:
        target.set_account(program_id, Account(rent(len(program)), program, LOADER_V3, True, 0))
    except Exception as exc:  # solders.LiteSVMError, which solders 0.26 does not export by name
        raise DeployError(f"LiteSVM cannot load {program_id} from its ProgramData: {exc}") from exc
    return Deployment(program_id, programdata, None, ())


def _require(outcome: TxOutcome, step: str, leftover: str = "") -> str:
    if not outcome.accepted:
        tail = "\n".join(outcome.logs[-8:])
        raise DeployError(
            f"{step} rejected: {outcome.error_name} ({outcome.signature}){leftover}\n{tail}".rstrip()
        )
    return outcome.signature


def create_buffer(
    cluster: Cluster, payer: Keypair, buffer: Keypair, authority: Keypair, program_len: int
) -> str:
    """Create and initialize a buffer for `program_len` bytes; returns the signature."""
    lamports = cluster.rent_exempt_minimum(BUFFER_METADATA_SIZE + program_len)
    ixs = create_buffer_instructions(
        payer.pubkey(), buffer.pubkey(), authority.pubkey(), lamports, program_len
    )
    return _require(cluster.send(ixs, [buffer], payer), "create buffer")


def write_buffer(
    cluster: Cluster,
    payer: Keypair,
    buffer: Pubkey,
    authority: Keypair,
    elf: bytes,
    prefix: Sequence[Instruction] = (),
) -> list[str]:
    """Write the ELF into the buffer chunk by chunk; `prefix` is what the cluster prepends (fees)."""
    size = max_chunk_size(payer, authority, buffer, prefix)
    leftover = f"; buffer {buffer} holds the lamports, close it with `solana program close`"
    return [
        _require(
            cluster.send([write(buffer, authority.pubkey(), offset, chunk)], [authority], payer),
            "write",
            leftover,
        )
        for offset, chunk in chunks(elf, size)
    ]


def deploy_from_buffer(
    cluster: Cluster,
    payer: Keypair,
    program: Keypair,
    buffer: Pubkey,
    authority: Keypair,
    max_data_len: int,
) -> str:
    lamports = cluster.rent_exempt_minimum(PROGRAM_ACCOUNT_SIZE)
    ixs = deploy_instructions(
        payer.pubkey(), program.pubkey(), buffer, authority.pubkey(), lamports, max_data_len
    )
    leftover = f"; buffer {buffer} still holds the program and its lamports"
    return _require(cluster.send(ixs, [program, authority], payer), "deploy", leftover)


def deploy_rpc(
    cluster: RpcCluster,
    payer: Keypair,
    program: Keypair,
    elf: bytes,
    *,
    authority: Keypair | None = None,
    buffer: Keypair | None = None,
    max_data_len: int | None = None,
) -> Deployment:
    """The full buffer -> write -> deploy sequence. The program account must not exist yet.

    `max_data_len` defaults to the ELF's length (what `solana program deploy` does today); a
    larger program later needs ExtendProgram first.
    """
    authority = authority or payer
    buffer = buffer or Keypair()
    if cluster.account(program.pubkey()) is not None:
        raise DeployError(f"{program.pubkey()} already exists; upgrading is not supported here")
    data_len = len(elf) if max_data_len is None else max_data_len
    if data_len < len(elf):
        raise DeployError(f"max_data_len {data_len} is smaller than the program ({len(elf)} bytes)")
    signatures = [create_buffer(cluster, payer, buffer, authority, len(elf))]
    prefix = cluster.budget_instructions()
    signatures += write_buffer(cluster, payer, buffer.pubkey(), authority, elf, prefix)
    signatures.append(deploy_from_buffer(cluster, payer, program, buffer.pubkey(), authority, data_len))
    return Deployment(
        program.pubkey(), programdata_address(program.pubkey()), buffer.pubkey(), tuple(signatures)
    )


# --- command line ------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m onchain.deploy", description="Deploy an SBPF .so through the upgradeable loader."
    )
    parser.add_argument("--cluster", required=True, help="devnet, testnet, localnet, or an RPC URL")
    parser.add_argument("--program", required=True, type=Path, help="the program's .so")
    parser.add_argument(
        "--program-keypair", required=True, type=Path, help="keypair whose pubkey is the program id"
    )
    parser.add_argument("--payer-keypair", required=True, type=Path, help="pays and is the upgrade authority")
    parser.add_argument(
        "--compute-unit-price", type=int, default=0, help="priority fee, micro-lamports per CU"
    )
    parser.add_argument(
        "--max-data-len", type=int, default=None, help="room for upgrades (default: .so size)"
    )
    parser.add_argument("--commitment", default="confirmed", choices=["processed", "confirmed", "finalized"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    url = CLUSTER_URLS.get(args.cluster, args.cluster)
    if not url.startswith(("http://", "https://")):
        print(
            f"--cluster: {args.cluster!r} is neither {sorted(CLUSTER_URLS)} nor an http(s) URL",
            file=sys.stderr,
        )
        return 2
    try:
        elf = args.program.read_bytes()
        program = load_keypair(args.program_keypair)
        payer = load_keypair(args.payer_keypair)
        cluster = RpcCluster(url, commitment=args.commitment, compute_unit_price=args.compute_unit_price)
        deployment = deploy_rpc(cluster, payer, program, elf, max_data_len=args.max_data_len)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return 1
    print(f"program id:  {deployment.program_id}")
    print(f"programdata: {deployment.programdata}")
    print(f"transactions: {len(deployment.signatures)}, last {deployment.signatures[-1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
