"""Opening the risk guard for one pipeline run: on the persistent local LiteSVM, or on a real cluster.

Locally everything is made on first use and kept under one folder: the program id, authority and
keeper keypairs (generated, mode 0600, never committed) and the cluster's state file, so nightly
runs accumulate one paper-trading history. The program is rebuilt from source on every run (well
under a second) and redeployed, like an upgrade by its authority, when its bytes changed.
On a real cluster the program must already be deployed (`python -m onchain.deploy`), and the keys
come from the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from onchain.build import compile_program
from onchain.client import RiskGuardClient
from onchain.cluster import LocalCluster, RpcCluster
from onchain.deploy import CLUSTER_URLS, PROGRAMDATA_METADATA_SIZE, deploy_local, programdata_address
from onchain.keeper import RiskGuard, RiskGuardSetupError
from onchain.keypairs import load_or_create

LOCAL_LAMPORTS = 1_000_000_000_000  # 1,000 SOL of local fees and rent for the authority and keeper


@contextmanager
def open_local(state_path: Path, keys_dir: Path) -> Iterator[RiskGuard]:
    """The risk guard on the in-process LiteSVM stored at `state_path`; its state is saved on success."""
    program_keypair = load_or_create(keys_dir / "program-keypair.json")
    authority = load_or_create(keys_dir / "authority-keypair.json")
    keeper = load_or_create(keys_dir / "keeper-keypair.json")
    guard = local_guard(program_keypair.pubkey(), authority, keeper, state_path=state_path)
    yield guard
    guard.cluster.save()


def local_guard(
    program_id: Pubkey,
    authority: Keypair,
    keeper: Keypair,
    *,
    state_path: Path | None = None,
    program: bytes | None = None,
) -> RiskGuard:
    """The risk guard on an in-process LiteSVM (a `LocalCluster`, restored from `state_path` if it exists).

    `program` (by default the one built from source now) is deployed unless the same bytes already
    are, with `authority` as its upgrade authority, and both keys are funded for fees and rent.
    """
    client = RiskGuardClient(program_id)
    cluster = LocalCluster(state_path, error_namer=client.error_name)
    _install_program(
        cluster, program_id, authority.pubkey(), compile_program() if program is None else program
    )
    for keypair in (authority, keeper):
        if cluster.balance(keypair.pubkey()) < LOCAL_LAMPORTS // 2:
            cluster.airdrop(keypair.pubkey(), LOCAL_LAMPORTS)
    return RiskGuard(cluster, client, authority, keeper)


def _install_program(cluster: LocalCluster, program_id: Pubkey, authority: Pubkey, program: bytes) -> None:
    """Deploy `program` unless the same bytes are already deployed there."""
    deployed = cluster.account(programdata_address(program_id))
    if deployed is not None and deployed[PROGRAMDATA_METADATA_SIZE:] == program:
        return
    deploy_local(cluster, program_id, program, upgrade_authority=authority)


def open_rpc(
    cluster: str,
    program_id: str | None,
    authority: Keypair,
    keeper: Keypair,
    *,
    priority_fee_micro_lamports: int = 0,
    max_attempts: int = 5,
) -> RiskGuard:
    """The risk guard deployed at `program_id` on `cluster` (devnet, testnet, localnet or an RPC URL)."""
    if not program_id:
        raise RiskGuardSetupError(
            "no program id: deploy the program with `python -m onchain.deploy` and set MAMBAQUANT_PROGRAM_ID"
        )
    client = RiskGuardClient(Pubkey.from_string(program_id))
    rpc = RpcCluster(
        CLUSTER_URLS.get(cluster, cluster),
        compute_unit_price=priority_fee_micro_lamports,
        error_namer=client.error_name,
        max_attempts=max_attempts,
    )
    if rpc.account(client.program_id) is None:
        raise RiskGuardSetupError(f"program {program_id} is not deployed on {cluster}")
    return RiskGuard(rpc, client, authority, keeper)
