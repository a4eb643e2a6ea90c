"""Fabricated Solana JSON-RPC answers (tests/fixtures/solana) and the signature records that index them."""

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[3] / "fixtures" / "solana"


def response(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def tx(name: str) -> dict[str, Any]:
    return response(name)["result"]


def record_of(name: str) -> dict[str, Any]:
    """The getSignaturesForAddress entry that indexes the fixture transaction `name`."""
    transaction = tx(name)
    return record(
        transaction["transaction"]["signatures"][0],
        transaction["slot"],
        transaction["blockTime"],
        transaction["meta"]["err"],
    )


def record(signature: str, slot: int, block_time: int | None, err: Any = None) -> dict[str, Any]:
    return {
        "blockTime": block_time,
        "confirmationStatus": "finalized",
        "err": err,
        "memo": None,
        "signature": signature,
        "slot": slot,
    }
