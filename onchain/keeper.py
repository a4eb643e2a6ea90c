"""The keeper's side of the risk guard: make sure the config and books exist, push orders, read books.

The same code drives the in-process LiteSVM and a real cluster: only the `Cluster` differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from onchain.client import Book, Limits, RiskGuardClient
from onchain.cluster import Cluster, TxOutcome
from onchain.paper import SignalOrder


class RiskGuardSetupError(RuntimeError):
    """The config or a book could not be created or updated (the chain's error is in the message)."""


@dataclass
class RiskGuard:
    """A deployed risk guard with its authority (admin) and keeper (signals) keys."""

    cluster: Cluster
    client: RiskGuardClient
    authority: Keypair
    keeper: Keypair

    def _require(self, outcome: TxOutcome, what: str) -> None:
        if not outcome.accepted:
            raise RiskGuardSetupError(f"{what} failed on chain: {outcome.error_name} ({outcome.signature})")

    def _admin(self, instruction: Instruction, what: str) -> None:
        self._require(self.cluster.send([instruction], [self.authority], self.authority), what)

    def ensure_config(self, limits: Limits) -> None:
        """Create the config, or bring its keeper and limits in line with this deployment's settings."""
        authority = self.authority.pubkey()
        data = self.cluster.account(self.client.config_address())
        if data is None:
            self._admin(self.client.initialize(authority, self.keeper.pubkey(), limits), "initialize")
            return
        config = self.client.decode_config(data)
        if config.authority != authority:
            raise RiskGuardSetupError(
                f"the config's authority is {config.authority}, not this deployment's {authority}"
            )
        if config.keeper != self.keeper.pubkey():
            self._admin(self.client.set_keeper(authority, self.keeper.pubkey()), "set_keeper")
        if config.limits != limits:
            self._admin(self.client.set_limits(authority, limits), "set_limits")

    def book(self, market: str) -> Book | None:
        data = self.cluster.account(self.client.book_address(market))
        return None if data is None else self.client.decode_book(data)

    def ensure_book(self, market: str, capital_units: int) -> Book:
        """The market's book, opened with `capital_units` of paper equity the first time."""
        book = self.book(market)
        if book is None:
            self._admin(self.client.open_book(self.authority.pubkey(), market, capital_units), "open_book")
            book = self.book(market)
        if book is None:
            raise RiskGuardSetupError(f"open_book for {market} succeeded but the book is not readable")
        return book

    def push(self, order: SignalOrder) -> TxOutcome:
        """Send one signal; a refusal by the program is an outcome to record, not an exception."""
        instruction = self.client.push_signal(
            self.keeper.pubkey(),
            self.client.book_address(order.market),
            order.sequence,
            order.target_lots,
            order.price_units,
            order.signal_ts,
            order.confidence_bps,
            self._oracle(),
        )
        return self.cluster.send([instruction], [self.keeper], self.keeper)

    def _oracle(self) -> Pubkey | None:
        """The oracle quote account the config names, which then must ride along with every signal."""
        data = self.cluster.account(self.client.config_address())
        oracle = None if data is None else self.client.decode_config(data).limits.oracle
        return None if oracle is None or oracle == Pubkey.default() else oracle
