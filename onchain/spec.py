"""The risk guard's rules as plain Python: the executable specification of `push_signal` and `resume`.

The C program in `onchain/program/` must make exactly the same decisions with exactly the same
integer arithmetic; the differential tests run both on thousands of random signal sequences and
compare every accept/reject and every book field. Python integers never overflow, so each place
where the program's 64-bit arithmetic could overflow is checked here explicitly and answers
`MathOverflow`, as the program does.

Units: positions in lots (signed), prices in quote units per lot, equity and PnL in quote units,
times in Unix seconds, ratios in basis points.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1
BPS = 10_000
SECONDS_PER_DAY = 86_400


class RiskLimits(Protocol):
    """The fields of the IDL's `Limits` struct the rules read (the client's `Limits` has them)."""

    max_order: int
    max_position: int
    max_notional: int
    max_leverage_bps: int
    daily_loss_bps: int
    max_drawdown_bps: int
    max_staleness_secs: int
    min_interval_secs: int
    min_confidence_bps: int
    oracle_max_deviation_bps: int
    oracle_max_conf_bps: int
    oracle_max_age_secs: int


@dataclass(frozen=True)
class BookState:
    """The rule-relevant fields of the `Book` account."""

    capital: int
    position: int = 0
    avg_entry: int = 0
    realized_pnl: int = 0
    equity: int = 0
    high_water_mark: int = 0
    day_start_equity: int = 0
    day: int = 0
    last_sequence: int = 0
    last_signal_ts: int = 0
    halted: bool = False

    @classmethod
    def opened(cls, capital: int) -> BookState:
        """A book as `open_book` creates it."""
        return cls(capital=capital, equity=capital, high_water_mark=capital, day_start_equity=capital)


@dataclass(frozen=True)
class Signal:
    """The arguments of `push_signal`."""

    sequence: int
    target_position: int
    price: int
    signal_ts: int
    confidence_bps: int


@dataclass(frozen=True)
class Quote:
    """An oracle quote as the program reads it from the `OracleQuote` account."""

    price: int
    conf: int
    publish_time: int


class RuleViolationError(Exception):
    """A rejected instruction; `name` is the IDL error's name."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _i64(value: int) -> int:
    if not I64_MIN <= value <= I64_MAX:
        raise RuleViolationError("MathOverflow")
    return value


def _u64(value: int) -> int:
    if not 0 <= value <= U64_MAX:
        raise RuleViolationError("MathOverflow")
    return value


def _seconds_before(now: int, seconds: int) -> int:
    """now - seconds, where the u64 duration must first fit in i64 (as on chain)."""
    return _i64(now - _i64(seconds))


def bps_of(amount: int, bps: int) -> int:
    """floor(amount x bps / 10000) for amount >= 0, saturating at u64::MAX (never overflows on chain)."""
    return min(amount * bps // BPS, U64_MAX)


def exceeds_bps(excess: int, base: int, bps: int) -> bool:
    """Whether `excess` is more than `bps` basis points of a positive `base`."""
    return excess > bps_of(base, bps)


def is_risk_reducing(position: int, target: int) -> bool:
    """Flat, or the same side and no larger: the only signals a halted book accepts."""
    if target == 0:
        return True
    return position != 0 and (position > 0) == (target > 0) and abs(target) <= abs(position)


def marked_equity(book: BookState, price: int) -> int:
    """capital + realized PnL + position x (price - average entry), with the program's overflow checks."""
    base = _i64(book.capital + book.realized_pnl)
    if book.position == 0:
        return base
    per_lot = _i64(_i64(price) - _i64(book.avg_entry))
    return _i64(base + _i64(book.position * per_lot))


def _check_oracle(limits: RiskLimits, signal: Signal, quote: Quote | None, now: int) -> None:
    if quote is None:
        raise RuleViolationError("OracleMismatch")
    if quote.publish_time < _seconds_before(now, limits.oracle_max_age_secs):
        raise RuleViolationError("OracleStale")
    if quote.price == 0:
        raise RuleViolationError("OracleDeviation")
    if exceeds_bps(quote.conf, quote.price, limits.oracle_max_conf_bps):
        raise RuleViolationError("OracleConfidenceTooWide")
    if exceeds_bps(abs(signal.price - quote.price), quote.price, limits.oracle_max_deviation_bps):
        raise RuleViolationError("OracleDeviation")


def _check_timing(book: BookState, limits: RiskLimits, signal: Signal, now: int) -> None:
    if signal.signal_ts > now:
        raise RuleViolationError("SignalFromFuture")
    oldest = _seconds_before(now, limits.max_staleness_secs)
    if signal.signal_ts < 0 or signal.signal_ts < oldest:
        raise RuleViolationError("SignalStale")
    if book.last_sequence == 0:
        return
    if signal.signal_ts < _i64(book.last_signal_ts + _i64(limits.min_interval_secs)):
        raise RuleViolationError("SignalTooFrequent")


def _check_exposure(limits: RiskLimits, position: int, signal: Signal, equity: int) -> None:
    target = signal.target_position
    if signal.confidence_bps < limits.min_confidence_bps:
        raise RuleViolationError("ConfidenceTooLow")
    if abs(target - position) > limits.max_order:
        raise RuleViolationError("OrderTooLarge")
    if abs(target) > limits.max_position:
        raise RuleViolationError("PositionLimitExceeded")
    notional = _u64(abs(target) * signal.price)
    if notional > limits.max_notional:
        raise RuleViolationError("NotionalLimitExceeded")
    if equity <= 0 or exceeds_bps(notional, equity, limits.max_leverage_bps):
        raise RuleViolationError("LeverageLimitExceeded")


def _pnl(side: int, lots: int, per_lot: int) -> int:
    """Realized PnL of closing `lots` of a position on `side` (+1 long, -1 short) at `per_lot` gain."""
    return _i64(side * _i64(lots * per_lot))


def loss_limit_hit(reference: int, equity: int, bps: int) -> bool:
    """Equity fell more than `bps` below `reference`; any loss counts once the reference is not positive."""
    if equity >= reference:
        return False
    return reference <= 0 or exceeds_bps(reference - equity, reference, bps)


def _trade(book: BookState, target: int, price: int) -> tuple[int, int]:
    """(average entry, realized PnL) after moving the position to `target` at `price`."""
    position, avg, realized = book.position, book.avg_entry, book.realized_pnl
    if target == position:
        return avg, realized
    if position == 0:
        return price, realized
    side = 1 if position > 0 else -1
    per_lot = _i64(_i64(price) - _i64(avg))
    if (target > 0) == (position > 0) and target != 0:
        held, wanted = abs(position), abs(target)
        if wanted > held:
            cost = _u64(_u64(held * avg) + _u64((wanted - held) * price))
            return cost // wanted, realized
        return avg, _i64(realized + _pnl(side, held - wanted, per_lot))
    realized = _i64(realized + _pnl(side, abs(position), per_lot))
    return (0 if target == 0 else price), realized


def push_signal(
    book: BookState,
    limits: RiskLimits,
    signal: Signal,
    now: int,
    *,
    paused: bool = False,
    oracle_enabled: bool = False,
    quote: Quote | None = None,
) -> BookState:
    """The book after an accepted signal; raises `RuleViolationError` naming the first rule it breaks."""
    if paused:
        raise RuleViolationError("Paused")
    if signal.sequence <= book.last_sequence:
        raise RuleViolationError("SequenceReplayed")
    _check_timing(book, limits, signal, now)
    if signal.price == 0:
        raise RuleViolationError("InvalidPrice")
    if signal.confidence_bps > BPS:
        raise RuleViolationError("InvalidConfidence")
    if oracle_enabled:
        _check_oracle(limits, signal, quote, now)
    equity = marked_equity(book, signal.price)
    day = signal.signal_ts // SECONDS_PER_DAY
    # A new day starts from the last marked equity, so an overnight loss counts against the new day.
    day_start = book.equity if day > book.day else book.day_start_equity
    high_water_mark = max(book.high_water_mark, equity)
    drawdown_hit = loss_limit_hit(high_water_mark, equity, limits.max_drawdown_bps)
    daily_loss_hit = loss_limit_hit(day_start, equity, limits.daily_loss_bps)
    if not is_risk_reducing(book.position, signal.target_position):
        if book.halted:
            raise RuleViolationError("BookHalted")
        if drawdown_hit:
            raise RuleViolationError("MaxDrawdownHit")
        if daily_loss_hit:
            raise RuleViolationError("DailyLossLimitHit")
        _check_exposure(limits, book.position, signal, equity)
    avg_entry, realized = _trade(book, signal.target_position, signal.price)
    return replace(
        book,
        position=signal.target_position,
        avg_entry=avg_entry,
        realized_pnl=realized,
        equity=equity,
        high_water_mark=high_water_mark,
        day_start_equity=day_start,
        day=day,
        last_sequence=signal.sequence,
        last_signal_ts=signal.signal_ts,
        halted=book.halted or drawdown_hit or daily_loss_hit,
    )


def resume(book: BookState) -> BookState:
    """`resume` lifts a book's halt and restarts its drawdown and daily-loss references at its equity."""
    return replace(book, halted=False, high_water_mark=book.equity, day_start_equity=book.equity)


def limits_are_valid(limits: RiskLimits) -> bool:
    """What `initialize` and `set_limits` accept (otherwise `InvalidLimits`)."""
    positive = (
        limits.max_order,
        limits.max_position,
        limits.max_notional,
        limits.max_leverage_bps,
        limits.daily_loss_bps,
        limits.max_drawdown_bps,
    )
    bounded = (
        limits.daily_loss_bps,
        limits.max_drawdown_bps,
        limits.min_confidence_bps,
        limits.oracle_max_deviation_bps,
        limits.oracle_max_conf_bps,
    )
    return (
        all(value > 0 for value in positive)
        and all(value <= BPS for value in bounded)
    )
