"""The local risk guard across runs: keys made once, the program deployed once, books kept."""

from __future__ import annotations

from pathlib import Path

import onchain.deployment as deployment
from onchain.deploy import PROGRAMDATA_METADATA_SIZE, programdata_address
from onchain.deployment import open_local
from onchain.paper import paper_limits
from tests.onchain.test_keeper import CAPITAL, _order


def test_state_and_keys_persist_between_runs(tmp_path: Path) -> None:
    state, keys = tmp_path / "cluster.json", tmp_path / "keys"
    with open_local(state, keys) as guard:
        guard.ensure_config(paper_limits(10_000))
        guard.ensure_book("BTC-USD", CAPITAL)
        guard.cluster.set_time(1_700_000_000)
        assert guard.push(_order(ts=1_700_000_000)).accepted
        program_id = guard.client.program_id
    with open_local(state, keys) as guard:
        assert guard.client.program_id == program_id
        assert guard.book("BTC-USD").position == 100
        guard.cluster.set_time(1_700_000_000 + 7_200)
        assert guard.push(_order(sequence=2, target=50, ts=1_700_000_000 + 7_200)).accepted
    with open_local(state, keys) as guard:
        assert guard.book("BTC-USD").position == 50


def test_a_changed_program_is_redeployed(tmp_path: Path, monkeypatch) -> None:
    state, keys = tmp_path / "cluster.json", tmp_path / "keys"
    with open_local(state, keys) as guard:
        program_id = guard.client.program_id
    original = deployment.compile_program()
    changed = original + b"\0" * 8  # same code, different bytes: enough to tell a redeploy happened
    monkeypatch.setattr(deployment, "compile_program", lambda: changed)
    with open_local(state, keys) as guard:
        deployed = guard.cluster.account(programdata_address(program_id))
        assert deployed[PROGRAMDATA_METADATA_SIZE:] == changed
