"""Paper-trading units: the pipeline's signals (fractions of equity, USD prices) as the program's integers.

The program counts in lots and in quote units (micro-USD), so every amount is an exact integer
and the on-chain checks need no floating point. A lot is `lot_size` of the base asset (0.0001 BTC
by default, $6 at $60,000), small enough that a $10,000 book holds a position to within 0.06 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from onchain.client import Limits

QUOTE_UNITS_PER_USD = 1_000_000
BPS = 10_000


@dataclass(frozen=True)
class SignalOrder:
    """One `push_signal`'s arguments, derived from one row of the `signals` table."""

    market: str
    sequence: int
    target_lots: int
    price_units: int
    signal_ts: int
    confidence_bps: int


@dataclass(frozen=True)
class PaperUnits:
    """How USD amounts and base-asset sizes map onto the program's integers."""

    lot_size: float = 0.0001

    def price_units(self, price_usd: float) -> int:
        """Quote units per lot at `price_usd` per base unit (at least 1: the program refuses 0)."""
        if not math.isfinite(price_usd) or price_usd <= 0:
            raise ValueError(f"price must be a positive finite USD amount, got {price_usd!r}")
        return max(1, round(price_usd * self.lot_size * QUOTE_UNITS_PER_USD))

    @staticmethod
    def usd(units: int) -> float:
        return units / QUOTE_UNITS_PER_USD

    def price_usd(self, units_per_lot: int) -> float:
        """USD per base unit of a price in quote units per lot (the inverse of `price_units`)."""
        return units_per_lot / QUOTE_UNITS_PER_USD / self.lot_size

    @staticmethod
    def quote_units(usd: float) -> int:
        return round(usd * QUOTE_UNITS_PER_USD)

    @staticmethod
    def target_lots(fraction: float, equity_units: int, price_units: int) -> int:
        """Lots worth `fraction` of the book's equity, rounded toward flat (never more than asked)."""
        if equity_units <= 0:
            return 0
        return math.trunc(fraction * equity_units / price_units)

    def order(self, signal: pd.Series, equity_units: int) -> SignalOrder:
        """The on-chain order of a `signals` row for a book holding `equity_units`.

        The sequence number is the signal's generation time in milliseconds: it grows from run to
        run, and pushing the same signal row twice is refused on chain as a replay.
        """
        generated_at = pd.Timestamp(signal["generated_at"])
        price = self.price_units(float(signal["price"]))
        return SignalOrder(
            market=str(signal["symbol"]),
            sequence=int(generated_at.value // 1_000_000),
            target_lots=self.target_lots(float(signal["target_position"]), equity_units, price),
            price_units=price,
            signal_ts=int(generated_at.timestamp()),
            confidence_bps=min(BPS, max(0, round(float(signal["confidence"]) * BPS))),
        )


def paper_limits(
    capital_usd: float,
    max_leverage: float = 1.5,
    daily_loss: float = 0.05,
    max_drawdown: float = 0.20,
    reference_price_usd: float = 60_000.0,
    units: PaperUnits = PaperUnits(),
) -> Limits:
    """Limits for a `capital_usd` paper book; position caps follow from leverage at a reference price."""
    capital = PaperUnits.quote_units(capital_usd)
    max_notional = round(capital * max_leverage)
    max_position = max(1, max_notional // units.price_units(reference_price_usd) * 2)
    return Limits(
        max_order=max_position,
        max_position=max_position,
        max_notional=max_notional,
        # Signals are pushed in the run that made them; a day-old signal is refused.
        max_staleness_secs=3_600,
        # The nightly schedule pushes once a day; more than one signal an hour is a runaway keeper.
        min_interval_secs=3_600,
        oracle_max_age_secs=120,
        max_leverage_bps=round(max_leverage * BPS),
        daily_loss_bps=round(daily_loss * BPS),
        max_drawdown_bps=round(max_drawdown * BPS),
        # Only signals whose direction is more likely right than wrong may add risk.
        min_confidence_bps=5_000,
        oracle_max_deviation_bps=200,
        oracle_max_conf_bps=100,
    )
