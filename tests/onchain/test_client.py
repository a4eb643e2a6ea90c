"""The IDL-driven client: instruction bytes and accounts, PDAs, account decoding, error names.

Expected bytes are built here independently of anchorpy: Anchor's discriminators from sha256, and
Borsh from a small encoder that reads the raw IDL JSON. If anchorpy and this encoder disagree
about the wire format, the program (which follows the IDL's Borsh layout) is the one that loses.
"""

from __future__ import annotations

import copy
import hashlib
import json
import struct
from typing import Any

import pytest
from anchorpy import Idl
from solders.instruction import AccountMeta
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from onchain.build import load_idl as load_idl_json
from onchain.client import (
    AccountDecodeError,
    Book,
    Config,
    Limits,
    OracleQuote,
    RiskGuardClient,
    market_bytes,
    market_symbol,
)
from onchain.cluster import describe_error

RAW_IDL = load_idl_json()
PROGRAM_ID = Pubkey.from_string("RiskGuard1111111111111111111111111111111111")
_INT_FORMATS = {
    "u8": "<B",
    "u16": "<H",
    "u32": "<I",
    "u64": "<Q",
    "i8": "<b",
    "i16": "<h",
    "i32": "<i",
    "i64": "<q",
}


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


def _struct_fields(name: str) -> list[dict[str, Any]]:
    for typedef in RAW_IDL["accounts"] + RAW_IDL["types"]:
        if typedef["name"] == name:
            return typedef["type"]["fields"]
    raise KeyError(name)


def borsh(ty: Any, value: Any) -> bytes:
    """Borsh-encode `value` as the raw IDL type `ty` (the subset this IDL uses)."""
    if isinstance(ty, str) and ty in _INT_FORMATS:
        return struct.pack(_INT_FORMATS[ty], value)
    if ty == "bool":
        return b"\x01" if value else b"\x00"
    if ty == "publicKey":
        return bytes(value)
    if isinstance(ty, dict) and "array" in ty:
        inner, length = ty["array"]
        assert len(value) == length
        return b"".join(borsh(inner, v) for v in value)
    if isinstance(ty, dict) and "defined" in ty:
        return borsh_struct(ty["defined"], value)
    raise NotImplementedError(ty)


def borsh_struct(name: str, value: Any) -> bytes:
    return b"".join(borsh(f["type"], getattr(value, _snake(f["name"]))) for f in _struct_fields(name))


def ix_discriminator(snake_name: str) -> bytes:
    return hashlib.sha256(f"global:{snake_name}".encode()).digest()[:8]


def account_discriminator(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


def _idl_ix(name: str) -> dict[str, Any]:
    return next(ix for ix in RAW_IDL["instructions"] if _snake(ix["name"]) == name)


def _expected_metas(name: str, keys: dict[str, Pubkey]) -> list[AccountMeta]:
    return [
        AccountMeta(keys[_snake(acc["name"])], is_signer=acc["isSigner"], is_writable=acc["isMut"])
        for acc in _idl_ix(name)["accounts"]
    ]


def _args(name: str, values: dict[str, Any]) -> bytes:
    return b"".join(borsh(arg["type"], values[_snake(arg["name"])]) for arg in _idl_ix(name)["args"])


LIMITS = Limits(
    max_order=11,
    max_position=22,
    max_notional=33_000_000_000,
    max_staleness_secs=120,
    min_interval_secs=60,
    oracle_max_age_secs=30,
    max_leverage_bps=30_000,
    daily_loss_bps=500,
    max_drawdown_bps=1_500,
    min_confidence_bps=5_100,
    oracle_max_deviation_bps=200,
    oracle_max_conf_bps=50,
    oracle=Pubkey(bytes(range(1, 33))),
)


@pytest.fixture(scope="module")
def client() -> RiskGuardClient:
    return RiskGuardClient(PROGRAM_ID)


def test_pdas(client: RiskGuardClient) -> None:
    config, _ = Pubkey.find_program_address([b"config"], PROGRAM_ID)
    book, _ = Pubkey.find_program_address([b"book", b"BTCUSDT" + b"\x00" * 9], PROGRAM_ID)
    assert client.config_address() == config
    assert client.book_address("BTCUSDT") == book
    assert client.book_address(market_bytes("BTCUSDT")) == book
    assert client.book_address("ETHUSDT") != book


def test_market_bytes() -> None:
    assert market_bytes("BTCUSDT") == b"BTCUSDT\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    assert market_bytes("A" * 16) == b"A" * 16
    assert market_symbol(market_bytes("SOLUSDC")) == "SOLUSDC"
    for bad in ["", "A" * 17, "BTC€", "BT\x00C"]:
        with pytest.raises(ValueError, match="market symbol"):
            market_bytes(bad)


def test_every_idl_instruction_has_a_builder_with_anchors_discriminator(client: RiskGuardClient) -> None:
    authority, keeper = Keypair().pubkey(), Keypair().pubkey()
    book = client.book_address("BTCUSDT")
    built = {
        "initialize": client.initialize(authority, keeper, LIMITS),
        "set_limits": client.set_limits(authority, LIMITS),
        "set_keeper": client.set_keeper(authority, keeper),
        "pause": client.pause(authority),
        "resume": client.resume(authority, []),
        "open_book": client.open_book(authority, "BTCUSDT", 1),
        "push_signal": client.push_signal(keeper, book, 1, 1, 1, 1, 1),
    }
    assert sorted(built) == sorted(_snake(ix["name"]) for ix in RAW_IDL["instructions"])
    for name, ix in built.items():
        assert ix.program_id == PROGRAM_ID
        assert bytes(ix.data[:8]) == ix_discriminator(name), name


def test_initialize_bytes_and_accounts(client: RiskGuardClient) -> None:
    authority, keeper = Keypair().pubkey(), Keypair().pubkey()
    ix = client.initialize(authority, keeper, LIMITS)
    assert bytes(ix.data) == ix_discriminator("initialize") + bytes(keeper) + borsh_struct("Limits", LIMITS)
    assert bytes(ix.data) == ix_discriminator("initialize") + _args(
        "initialize", {"keeper": keeper, "limits": LIMITS}
    )
    loader = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
    program_data = Pubkey.find_program_address([bytes(client.program_id)], loader)[0]
    keys = {
        "config": client.config_address(),
        "authority": authority,
        "program_data": program_data,
        "system_program": SYSTEM_PROGRAM_ID,
    }
    assert list(ix.accounts) == _expected_metas("initialize", keys)
    # The authority pays for the config account: it must be a writable signer.
    assert ix.accounts[1] == AccountMeta(authority, is_signer=True, is_writable=True)


def test_limits_default_oracle_is_the_zero_key(client: RiskGuardClient) -> None:
    fields = {k: v for k, v in vars(LIMITS).items() if k != "oracle"}
    limits = Limits(**fields)
    assert limits.oracle == Pubkey.default()
    assert bytes(client.set_limits(Keypair().pubkey(), limits).data).endswith(b"\x00" * 32)


def test_authority_instructions(client: RiskGuardClient) -> None:
    authority, keeper = Keypair().pubkey(), Keypair().pubkey()
    keys = {"config": client.config_address(), "authority": authority}
    set_limits = client.set_limits(authority, LIMITS)
    assert bytes(set_limits.data) == ix_discriminator("set_limits") + borsh_struct("Limits", LIMITS)
    assert list(set_limits.accounts) == _expected_metas("set_limits", keys)
    set_keeper = client.set_keeper(authority, keeper)
    assert bytes(set_keeper.data) == ix_discriminator("set_keeper") + bytes(keeper)
    assert list(set_keeper.accounts) == _expected_metas("set_keeper", keys)
    pause = client.pause(authority)
    assert bytes(pause.data) == ix_discriminator("pause")
    assert list(pause.accounts) == _expected_metas("pause", keys)


def test_resume_passes_books_as_writable_remaining_accounts(client: RiskGuardClient) -> None:
    authority = Keypair().pubkey()
    books = [client.book_address("BTCUSDT"), client.book_address("ETHUSDT")]
    ix = client.resume(authority, books)
    assert bytes(ix.data) == ix_discriminator("resume")
    fixed = _expected_metas("resume", {"config": client.config_address(), "authority": authority})
    assert list(ix.accounts) == [*fixed, *(AccountMeta(b, is_signer=False, is_writable=True) for b in books)]


def test_open_book_bytes_and_accounts(client: RiskGuardClient) -> None:
    authority = Keypair().pubkey()
    ix = client.open_book(authority, "ETHUSDT", 250_000_000)
    market = market_bytes("ETHUSDT")
    assert bytes(ix.data) == ix_discriminator("open_book") + market + struct.pack("<Q", 250_000_000)
    keys = {
        "config": client.config_address(),
        "book": client.book_address("ETHUSDT"),
        "authority": authority,
        "system_program": SYSTEM_PROGRAM_ID,
    }
    assert list(ix.accounts) == _expected_metas("open_book", keys)


def test_push_signal_bytes_accounts_and_oracle(client: RiskGuardClient) -> None:
    keeper, oracle = Keypair().pubkey(), Keypair().pubkey()
    book = client.book_address("BTCUSDT")
    ix = client.push_signal(keeper, book, 7, -3, 65_000_00, 1_700_000_000, 6_200)
    values = {
        "sequence": 7,
        "target_position": -3,
        "price": 65_000_00,
        "signal_ts": 1_700_000_000,
        "confidence_bps": 6_200,
    }
    assert bytes(ix.data) == ix_discriminator("push_signal") + _args("push_signal", values)
    assert bytes(ix.data)[8:] == struct.pack("<QqQqH", 7, -3, 65_000_00, 1_700_000_000, 6_200)
    fixed = _expected_metas(
        "push_signal", {"config": client.config_address(), "book": book, "keeper": keeper}
    )
    assert list(ix.accounts) == fixed
    with_oracle = client.push_signal(keeper, book, 7, -3, 65_000_00, 1_700_000_000, 6_200, oracle=oracle)
    assert bytes(with_oracle.data) == bytes(ix.data)
    assert list(with_oracle.accounts) == [*fixed, AccountMeta(oracle, is_signer=False, is_writable=False)]


@pytest.mark.parametrize(
    ("build", "argument"),
    [
        (lambda c: c.open_book(Keypair().pubkey(), "BTCUSDT", -1), "capital"),
        (
            lambda c: c.push_signal(Keypair().pubkey(), Keypair().pubkey(), 1, 0, 1, 0, 70_000),
            "confidence_bps",
        ),
    ],
)
def test_out_of_range_arguments_are_refused_by_name(
    client: RiskGuardClient, build: Any, argument: str
) -> None:
    with pytest.raises(ValueError, match=argument):
        build(client)


def _sample_config() -> Config:
    return Config(
        authority=Keypair().pubkey(), keeper=Keypair().pubkey(), limits=LIMITS, paused=True, bump=254
    )


def _sample_book(client: RiskGuardClient) -> Book:
    return Book(
        config=client.config_address(),
        address=client.book_address("BTCUSDT"),
        market=market_bytes("BTCUSDT"),
        capital=1_000_000,
        position=-4,
        avg_entry=65_000,
        realized_pnl=-1_234,
        equity=998_000,
        high_water_mark=1_001_000,
        day_start_equity=999_000,
        day=19_700,
        last_sequence=41,
        last_signal_ts=1_702_080_000,
        halted=True,
        bump=253,
    )


def test_config_decodes_from_idl_layout_bytes(client: RiskGuardClient) -> None:
    config = _sample_config()
    data = account_discriminator("Config") + borsh_struct("Config", config)
    assert client.decode_config(data) == config
    assert client.encode_account("Config", config) == data
    # Accounts are often allocated larger than their Borsh size: trailing bytes are ignored.
    assert client.decode_config(data + b"\x00" * 16) == config


def test_book_decodes_from_idl_layout_bytes(client: RiskGuardClient) -> None:
    book = _sample_book(client)
    data = account_discriminator("Book") + borsh_struct("Book", book)
    decoded = client.decode_book(data)
    assert decoded == book
    assert decoded.symbol == "BTCUSDT"
    assert client.encode_account("Book", book) == data


def test_oracle_quote_encodes_and_decodes(client: RiskGuardClient) -> None:
    quote = OracleQuote(price=64_990_00, conf=1_500, publish_time=1_702_080_000)
    data = client.encode_oracle_quote(quote)
    assert data == account_discriminator("OracleQuote") + struct.pack("<QQq", 64_990_00, 1_500, 1_702_080_000)
    assert client.decode_oracle_quote(data) == quote


def test_decoding_the_wrong_account_or_short_data_fails_clearly(client: RiskGuardClient) -> None:
    quote = client.encode_oracle_quote(OracleQuote(price=1, conf=1, publish_time=1))
    with pytest.raises(AccountDecodeError, match="expected a Book account, got OracleQuote"):
        client.decode_book(quote)
    with pytest.raises(AccountDecodeError, match="unknown discriminator"):
        client.decode_config(b"\x00" * 200)
    config = client.encode_account("Config", _sample_config())
    with pytest.raises(AccountDecodeError, match="does not parse"):
        client.decode_config(config[:40])


def test_error_names(client: RiskGuardClient) -> None:
    for error in RAW_IDL["errors"]:
        assert client.error_name(error["code"]) == error["name"]
    assert client.error_codes()["SequenceReplayed"] == 6003
    # Anchor's framework errors, from anchorpy's table.
    assert client.error_name(3012) == "AccountNotInitialized"
    assert client.error_name(2006) == "ConstraintSeeds"
    assert client.error_name(101) == "InstructionFallbackNotFound"
    assert client.error_name(0) is None
    assert client.error_name(7000) is None


def test_a_failed_transactions_custom_code_is_named_through_the_client(client: RiskGuardClient) -> None:
    err = TransactionErrorInstructionError(1, InstructionErrorCustom(6014))
    assert describe_error(err, client.error_name) == (6014, "DailyLossLimitHit")
    err = TransactionErrorInstructionError(0, InstructionErrorCustom(1))
    assert describe_error(err, client.error_name) == (1, "InstructionError(0, Custom(1))")


def test_an_idl_the_dataclasses_do_not_mirror_is_refused() -> None:
    raw = copy.deepcopy(RAW_IDL)
    limits = next(t for t in raw["types"] if t["name"] == "Limits")
    limits["type"]["fields"].append({"name": "maxOpenBooks", "type": "u8"})
    with pytest.raises(ValueError, match="do not mirror"):
        RiskGuardClient(PROGRAM_ID, Idl.from_json(json.dumps(raw)))
