"""Signals in the program's integers, the paper book's limits, and the submission jitter."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from onchain import spec
from onchain.jitter import SubmissionJitter
from onchain.paper import PaperUnits, paper_limits

UNITS = PaperUnits(lot_size=0.0001)


def test_prices_and_sizes_become_exact_integers() -> None:
    assert UNITS.price_units(60_000.0) == 6_000_000  # micro-USD per 0.0001 BTC
    assert UNITS.price_usd(6_000_000) == pytest.approx(60_000.0)
    assert UNITS.price_units(1e-12) == 1  # never 0, which the program refuses
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive finite"):
            UNITS.price_units(bad)


def test_target_lots_round_toward_flat() -> None:
    equity = UNITS.quote_units(10_000)
    assert UNITS.target_lots(0.5, equity, 6_000_000) == 833  # $5,000 / $6 a lot, 833.3 rounded down
    assert UNITS.target_lots(-0.5, equity, 6_000_000) == -833
    assert UNITS.target_lots(1.0, 0, 6_000_000) == 0  # a wiped-out book asks for nothing


def test_a_signal_row_becomes_an_order() -> None:
    generated = pd.Timestamp("2024-09-16 02:00:01.250", tz="UTC")
    row = pd.Series(
        {
            "symbol": "BTC-USD",
            "generated_at": generated,
            "price": 58_000.0,
            "target_position": 1.0,
            "confidence": 0.61,
        }
    )
    order = UNITS.order(row, UNITS.quote_units(10_000))
    assert order.market == "BTC-USD"
    assert order.sequence == generated.value // 1_000_000 and order.signal_ts == int(generated.timestamp())
    assert (order.price_units, order.target_lots, order.confidence_bps) == (5_800_000, 1_724, 6_100)


@pytest.mark.parametrize("capital", [100.0, 10_000.0, 1e7])
def test_paper_limits_are_ones_the_program_accepts(capital: float) -> None:
    limits = paper_limits(capital)
    assert spec.limits_are_valid(limits)
    assert limits.max_notional == round(UNITS.quote_units(capital) * 1.5)
    assert limits.max_leverage_bps == 15_000


def test_jitter_waits_a_uniform_delay_within_the_window() -> None:
    slept: list[float] = []
    jitter = SubmissionJitter(30.0, random.Random(7), slept.append)
    delays = [jitter.wait() for _ in range(2_000)]
    assert delays == slept
    assert min(delays) >= 0.0 and max(delays) <= 30.0
    assert 14.0 < sum(delays) / len(delays) < 16.0  # uniform: mean about half the window
    assert len({round(delay, 6) for delay in delays}) == len(delays)  # not a fixed offset


def test_no_window_means_no_wait() -> None:
    slept: list[float] = []
    assert SubmissionJitter(0.0, random.Random(1), slept.append).wait() == 0.0
    assert slept == []
    with pytest.raises(ValueError, match=">= 0"):
        SubmissionJitter(-1.0)
