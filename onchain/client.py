"""Python client of the risk-guard program, driven by its Anchor IDL (`onchain/idl/risk_guard.json`).

Instructions are built by anchorpy's own IDL-generated builders (`Program.instruction[...]`) and
accounts are decoded by anchorpy's `Coder`, so the IDL is the single description of the wire
format: the C program, this client and the tests all answer to it. The typed dataclasses here only
give the decoded values names and types; `RiskGuardClient` checks at construction that they
mirror the IDL field for field, so an IDL change that the dataclasses missed fails loudly instead
of silently mis-decoding.

The client never talks to a cluster: it makes `Instruction`s and reads account bytes. Sending is
`onchain.cluster`'s job (anchorpy's provider is async and RPC-only; the keeper also runs against
an in-process LiteSVM).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from anchorpy import Context, Idl, NamedInstruction, Program, Provider, Wallet
from anchorpy.error import LangErrorMessage
from construct import ConstructError
from pyheck import snake
from solana.rpc.async_api import AsyncClient
from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID

from onchain.build import IDL_PATH

MARKET_LEN = 16
CONFIG_SEED = b"config"
BOOK_SEED = b"book"
DISCRIMINATOR_LEN = 8
LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")

# Anchor's framework error codes (100-5000) by number, from anchorpy's table; the keys are IntEnum
# members whose names are Anchor's variant names.
_ANCHOR_ERROR_NAMES: dict[int, str] = {
    int(code): getattr(code, "name", str(code)) for code in LangErrorMessage
}


class AccountDecodeError(ValueError):
    """Account bytes that are not the expected risk-guard account."""


def market_bytes(symbol: str) -> bytes:
    """The 16-byte market key of the book PDA: the ASCII symbol, zero-padded (`"BTCUSDT"`)."""
    try:
        raw = symbol.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError(f"market symbol {symbol!r} must be ASCII") from None
    if not raw or len(raw) > MARKET_LEN or b"\0" in raw:
        raise ValueError(f"market symbol {symbol!r} must be 1-{MARKET_LEN} ASCII characters without NUL")
    return raw.ljust(MARKET_LEN, b"\0")


def market_symbol(raw: bytes) -> str:
    """The symbol back from a 16-byte market key."""
    return bytes(raw).rstrip(b"\0").decode("ascii")


@dataclass(frozen=True, kw_only=True)
class Limits:
    """The IDL's `Limits` struct (units and meaning in the IDL's docs); the zero oracle key disables it.

    Keyword-only: the fields are matched to the IDL by name, so the IDL may reorder its fields
    (it did, for alignment) without a positional call here silently swapping two limits.
    """

    max_order: int
    max_position: int
    max_notional: int
    max_staleness_secs: int
    min_interval_secs: int
    oracle_max_age_secs: int
    max_leverage_bps: int
    daily_loss_bps: int
    max_drawdown_bps: int
    min_confidence_bps: int
    oracle_max_deviation_bps: int
    oracle_max_conf_bps: int
    oracle: Pubkey = field(default_factory=Pubkey.default)


@dataclass(frozen=True, kw_only=True)
class Config:
    """The config PDA (seeds ["config"])."""

    authority: Pubkey
    keeper: Pubkey
    limits: Limits
    paused: bool
    bump: int


@dataclass(frozen=True, kw_only=True)
class Book:
    """A market's book PDA (seeds ["book", market])."""

    config: Pubkey
    address: Pubkey
    market: bytes
    capital: int
    position: int
    avg_entry: int
    realized_pnl: int
    equity: int
    high_water_mark: int
    day_start_equity: int
    day: int
    last_sequence: int
    last_signal_ts: int
    halted: bool
    bump: int

    @property
    def symbol(self) -> str:
        return market_symbol(self.market)


@dataclass(frozen=True, kw_only=True)
class OracleQuote:
    """The oracle quote account the program reads when the config names an oracle."""

    price: int
    conf: int
    publish_time: int


_T = TypeVar("_T")


def programdata_address(program_id: Pubkey) -> Pubkey:
    """The ProgramData account the upgradeable loader keeps a program's code and upgrade authority in."""
    return Pubkey.find_program_address([bytes(program_id)], LOADER_V3)[0]


def load_idl(path: Path = IDL_PATH) -> Idl:
    return Idl.from_json(path.read_text(encoding="utf-8"))


def _idl_struct_fields(idl: Idl, name: str) -> list[str]:
    """Snake-case field names of an IDL account or type, read from the raw JSON anchorpy parsed."""
    for typedef in [*idl.accounts, *idl.types]:
        if typedef.name == name:
            return [snake(f.name) for f in typedef.ty.fields]
    raise KeyError(f"the IDL has no account or type named {name}")


def _check_mirrors(idl: Idl) -> None:
    for cls, name in ((Limits, "Limits"), (Config, "Config"), (Book, "Book"), (OracleQuote, "OracleQuote")):
        # By name, not order: values travel to and from anchorpy as name-keyed dicts.
        ours = sorted(f.name for f in fields(cls))
        theirs = sorted(_idl_struct_fields(idl, name))
        if ours != theirs:
            raise ValueError(f"{cls.__name__} fields {ours} do not mirror the IDL's {name} {theirs}")


def _as_dict(value: Any) -> dict[str, Any]:
    """A dataclass as a flat dict (not `asdict`, which deep-copies `Pubkey`s it does not need to)."""
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _convert(cls: type[_T], decoded: Any) -> _T:
    """anchorpy's decoded dataclass -> ours, turning u8 arrays into bytes and nested Limits into ours."""
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = getattr(decoded, f.name)
        if f.name == "limits":
            value = _convert(Limits, value)
        elif f.name == "market":
            value = bytes(value)
        values[f.name] = value
    return cls(**values)


class RiskGuardClient:
    """Builds the risk guard's instructions and decodes its accounts for one deployed program id."""

    def __init__(self, program_id: Pubkey, idl: Idl | None = None) -> None:
        self.program_id = program_id
        self.idl = idl if idl is not None else load_idl()
        _check_mirrors(self.idl)
        # anchorpy's Program wants a provider; it is never used (nothing here sends), so a read-only
        # one pointing nowhere in particular stands in. No connection is opened by constructing it.
        provider = Provider(AsyncClient("http://127.0.0.1:8899"), Wallet.dummy())
        self.program = Program(self.idl, program_id, provider)
        self.coder = self.program.coder
        self._error_names = {e.code: e.name for e in (self.idl.errors or [])}

    # --- addresses ---------------------------------------------------------------------------

    def config_address(self) -> Pubkey:
        return Pubkey.find_program_address([CONFIG_SEED], self.program_id)[0]

    def book_address(self, market: str | bytes) -> Pubkey:
        key = market_bytes(market) if isinstance(market, str) else bytes(market)
        if len(key) != MARKET_LEN:
            raise ValueError(f"a market key is {MARKET_LEN} bytes, got {len(key)}")
        return Pubkey.find_program_address([BOOK_SEED, key], self.program_id)[0]

    # --- instructions ------------------------------------------------------------------------

    def _build(
        self,
        name: str,
        args: Sequence[Any],
        accounts: dict[str, Pubkey],
        remaining: Sequence[AccountMeta] = (),
    ) -> Instruction:
        try:
            return self.program.instruction[name](
                *args, ctx=Context(accounts=accounts, remaining_accounts=list(remaining))
            )
        except ConstructError as exc:
            # construct says which argument is out of range ("... -> open_book -> capital ...").
            raise ValueError(f"{name}: argument does not fit its IDL type: {exc}") from None

    def initialize(self, authority: Pubkey, keeper: Pubkey, limits: Limits) -> Instruction:
        return self._build(
            "initialize",
            [keeper, _as_dict(limits)],
            {
                "config": self.config_address(),
                "authority": authority,
                "program_data": programdata_address(self.program_id),
                "system_program": SYSTEM_PROGRAM_ID,
            },
        )

    def set_limits(self, authority: Pubkey, limits: Limits) -> Instruction:
        return self._build(
            "set_limits", [_as_dict(limits)], {"config": self.config_address(), "authority": authority}
        )

    def set_keeper(self, authority: Pubkey, keeper: Pubkey) -> Instruction:
        return self._build("set_keeper", [keeper], {"config": self.config_address(), "authority": authority})

    def pause(self, authority: Pubkey) -> Instruction:
        return self._build("pause", [], {"config": self.config_address(), "authority": authority})

    def resume(self, authority: Pubkey, books: Sequence[Pubkey] = ()) -> Instruction:
        """Resume; every book passed (as a writable remaining account) is un-halted and re-based."""
        remaining = [AccountMeta(book, is_signer=False, is_writable=True) for book in books]
        return self._build("resume", [], {"config": self.config_address(), "authority": authority}, remaining)

    def open_book(self, authority: Pubkey, market: str | bytes, capital: int) -> Instruction:
        key = market_bytes(market) if isinstance(market, str) else bytes(market)
        return self._build(
            "open_book",
            [key, capital],
            {
                "config": self.config_address(),
                "book": self.book_address(key),
                "authority": authority,
                "system_program": SYSTEM_PROGRAM_ID,
            },
        )

    def push_signal(
        self,
        keeper: Pubkey,
        book: Pubkey,
        sequence: int,
        target_position: int,
        price: int,
        signal_ts: int,
        confidence_bps: int,
        oracle: Pubkey | None = None,
    ) -> Instruction:
        """A signal for `book`; `oracle`, when the config names one, goes first among remaining accounts."""
        remaining = [] if oracle is None else [AccountMeta(oracle, is_signer=False, is_writable=False)]
        return self._build(
            "push_signal",
            [sequence, target_position, price, signal_ts, confidence_bps],
            {"config": self.config_address(), "book": book, "keeper": keeper},
            remaining,
        )

    # --- accounts ----------------------------------------------------------------------------

    def _decode(self, name: str, data: bytes) -> Any:
        expected = self.coder.accounts.acc_name_to_discriminator[name]
        head = bytes(data[:DISCRIMINATOR_LEN])
        if head != expected:
            actual = self.coder.accounts.discriminator_to_acc_name.get(
                head, f"unknown discriminator {head.hex()}"
            )
            raise AccountDecodeError(f"expected a {name} account, got {actual}")
        try:
            return self.coder.accounts.decode(bytes(data))
        except ConstructError as exc:
            raise AccountDecodeError(
                f"{name} account data does not parse ({len(data)} bytes): {exc}"
            ) from None

    def decode_config(self, data: bytes) -> Config:
        return _convert(Config, self._decode("Config", data))

    def decode_book(self, data: bytes) -> Book:
        return _convert(Book, self._decode("Book", data))

    def decode_oracle_quote(self, data: bytes) -> OracleQuote:
        return _convert(OracleQuote, self._decode("OracleQuote", data))

    def encode_account(self, name: str, value: Any) -> bytes:
        """Account bytes (discriminator + Borsh) for a Config, Book or OracleQuote; tests write these."""
        payload = _as_dict(value)
        if "limits" in payload:
            payload["limits"] = _as_dict(payload["limits"])
        if "market" in payload:
            payload["market"] = bytes(payload["market"])
        try:
            return self.coder.accounts.build(NamedInstruction(name=name, data=payload))
        except ConstructError as exc:
            raise ValueError(f"{name}: a field does not fit its IDL type: {exc}") from None

    def encode_oracle_quote(self, quote: OracleQuote) -> bytes:
        return self.encode_account("OracleQuote", quote)

    # --- errors ------------------------------------------------------------------------------

    def error_name(self, code: int) -> str | None:
        """The name of a custom error code: the IDL's (>= 6000), else Anchor's framework one, else None."""
        name = self._error_names.get(code)
        if name is not None:
            return name
        return _ANCHOR_ERROR_NAMES.get(code)

    def error_codes(self) -> dict[str, int]:
        """The IDL's error names to codes (tests and callers compare outcomes by name)."""
        return {name: code for code, name in self._error_names.items()}
