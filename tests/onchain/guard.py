"""A risk guard deployed on an in-process LiteSVM, with its authority and keeper, for the program tests.

Every call sends a real signed transaction through `LocalCluster`; nothing here bypasses the
program except `put_account`, which writes accounts the way an attacker's substitute (or a
differential test's fresh book) would already sit on chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from onchain.client import Book, Limits, OracleQuote, RiskGuardClient
from onchain.cluster import LocalCluster, TxOutcome
from onchain.deployment import local_guard

START_TIME = 1_700_000_000
MARKET = "BTCUSDT"
CAPITAL = 1_000_000_000  # quote units: $1,000 at 1e6 units per dollar
PRICE = 6_000_000  # quote units per lot
LAMPORTS = 10**12

DEFAULT_LIMITS = Limits(
    max_order=100,
    max_position=300,
    max_notional=2_400_000_000,
    max_staleness_secs=120,
    min_interval_secs=60,
    oracle_max_age_secs=300,
    max_leverage_bps=20_000,
    daily_loss_bps=500,
    max_drawdown_bps=1_000,
    min_confidence_bps=5_000,
    oracle_max_deviation_bps=200,
    oracle_max_conf_bps=100,
)


@dataclass
class Guard:
    """The deployed program, its config and one open book, driven by named keypairs."""

    program: bytes
    limits: Limits = DEFAULT_LIMITS
    ready: bool = True  # initialize the config and open the book
    cluster: LocalCluster = field(init=False)
    client: RiskGuardClient = field(init=False)
    authority: Keypair = field(default_factory=Keypair)
    keeper: Keypair = field(default_factory=Keypair)
    outsider: Keypair = field(default_factory=Keypair)
    sequence: int = 0

    def __post_init__(self) -> None:
        deployed = local_guard(Pubkey.new_unique(), self.authority, self.keeper, program=self.program)
        self.client, self.cluster = deployed.client, deployed.cluster
        self.cluster.airdrop(self.outsider.pubkey(), LAMPORTS)
        self.cluster.set_time(START_TIME)
        if not self.ready:
            return
        self.expect_ok(
            self.admin(self.client.initialize(self.authority.pubkey(), self.keeper.pubkey(), self.limits))
        )
        self.expect_ok(self.admin(self.client.open_book(self.authority.pubkey(), MARKET, CAPITAL)))

    @property
    def book_address(self) -> Pubkey:
        return self.client.book_address(MARKET)

    def send(self, instruction: Instruction, signer: Keypair) -> TxOutcome:
        return self.cluster.send([instruction], [signer], signer)

    def admin(self, instruction: Instruction) -> TxOutcome:
        return self.send(instruction, self.authority)

    def signal(
        self,
        target: int,
        *,
        price: int = PRICE,
        ts: int | None = None,
        confidence_bps: int = 9_000,
        sequence: int | None = None,
        signer: Keypair | None = None,
        oracle: Pubkey | None = None,
        book: Pubkey | None = None,
    ) -> TxOutcome:
        """Push a signal (next sequence number, stamped now, by the keeper unless told otherwise)."""
        if sequence is None:
            self.sequence += 1
            sequence = self.sequence
        signer = signer or self.keeper
        instruction = self.client.push_signal(
            signer.pubkey(),
            book or self.book_address,
            sequence,
            target,
            price,
            self.cluster.now() if ts is None else ts,
            confidence_bps,
            oracle,
        )
        return self.send(instruction, signer)

    def advance(self, seconds: int) -> int:
        now = self.cluster.now() + seconds
        self.cluster.set_time(now)
        return now

    def book(self) -> Book:
        return self.client.decode_book(self.cluster.account(self.book_address) or b"")

    def config_data(self) -> bytes:
        return self.cluster.account(self.client.config_address()) or b""

    def put_account(self, address: Pubkey, data: bytes, owner: Pubkey | None = None) -> Pubkey:
        """Write an account directly, owned by the program unless told otherwise."""
        account = Account(LAMPORTS, data, owner or self.client.program_id, False, 0)
        self.cluster.set_account(address, account)
        return address

    def put_book(self, book: Book) -> None:
        self.put_account(self.book_address, self.client.encode_account("Book", book))

    def put_quote(self, address: Pubkey, quote: OracleQuote) -> Pubkey:
        return self.put_account(address, self.client.encode_oracle_quote(quote), owner=Pubkey.new_unique())

    def with_keys(self, instruction: Instruction, replace_at: dict[int, AccountMeta]) -> Instruction:
        """The instruction with some account metas swapped (substitution and signer attacks)."""
        metas = [replace_at.get(index, meta) for index, meta in enumerate(instruction.accounts)]
        return Instruction(instruction.program_id, instruction.data, metas)

    def set_limits(self, **changes: int | Pubkey) -> None:
        self.limits = replace(self.limits, **changes)
        self.expect_ok(self.admin(self.client.set_limits(self.authority.pubkey(), self.limits)))

    @staticmethod
    def expect_ok(outcome: TxOutcome) -> TxOutcome:
        assert outcome.accepted, (outcome.error_name, outcome.logs)
        return outcome


def rejected_with(outcome: TxOutcome, error_name: str) -> bool:
    """The transaction failed with exactly this error (its logs in the assertion message otherwise)."""
    assert not outcome.accepted, f"accepted, expected {error_name}"
    assert outcome.error_name == error_name, (outcome.error_name, outcome.logs[-4:])
    return True
