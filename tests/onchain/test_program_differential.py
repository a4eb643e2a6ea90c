"""The program against its specification (`onchain/spec.py`) on thousands of random signal sequences.

Every step runs as a real transaction through LiteSVM and through the Python rules; the accept or
reject decision, the error's name and every field of the book afterwards must be identical. The
draws crowd the boundaries where an off-by-one would hide: exactly the minimum interval or the
staleness window, targets around the order and position caps, crashes deep enough to halt the
book, replayed sequence numbers, and a sprinkling of values at the edges of u64 and i64.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from onchain import spec
from onchain.client import Book, Config, Limits, OracleQuote
from tests.onchain.guard import PRICE, START_TIME, Guard

SEQUENCES = 5_000
ORACLE = Pubkey.new_unique()
BOOK_FIELDS = [field.name for field in fields(spec.BookState)]
EXTREME_PRICES = (0, 1, 2**63 - 1, 2**63, 2**64 - 1)
EXTREME_TARGETS = (-(2**63), 2**63 - 1)


def mostly(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """Draws from `common` nine times in ten: enough signals pass to move the book, enough fail."""
    return st.integers(0, 9).flatmap(lambda draw: rare if draw == 0 else common)


limits_strategy = st.builds(
    Limits,
    max_order=mostly(st.integers(20, 400), st.integers(1, 19)),
    max_position=mostly(st.integers(50, 800), st.integers(1, 49)),
    max_notional=mostly(st.integers(10**9, 10**10), st.integers(1, 10**9)),
    max_staleness_secs=mostly(st.sampled_from([120, 600]), st.sampled_from([0, 30, 2**63, 2**64 - 1])),
    min_interval_secs=st.sampled_from([0, 1, 60]),
    oracle_max_age_secs=mostly(st.just(10**6), st.sampled_from([0, 60, 600])),
    max_leverage_bps=mostly(st.integers(10_000, 60_000), st.integers(1, 9_999)),
    daily_loss_bps=mostly(st.integers(100, 2_000), st.integers(1, 10_000)),
    max_drawdown_bps=mostly(st.integers(200, 3_000), st.integers(1, 10_000)),
    min_confidence_bps=mostly(st.sampled_from([0, 3_000, 6_000]), st.integers(0, 10_000)),
    oracle_max_deviation_bps=mostly(st.integers(1_000, 10_000), st.integers(0, 999)),
    oracle_max_conf_bps=mostly(st.integers(500, 10_000), st.integers(0, 499)),
    oracle=st.sampled_from([Pubkey.default(), Pubkey.default(), ORACLE]),
)


@dataclass(frozen=True)
class Step:
    """One keeper signal, described relative to the book and clock it meets, or an authority resume."""

    resume: bool
    wait: int
    sequence_step: int
    target_move: int
    extreme_target: int | None
    price_move_bps: int
    extreme_price: int | None
    ts_offset: int
    confidence_bps: int
    pass_oracle: bool


step_strategy = st.builds(
    Step,
    resume=st.integers(0, 9).map(lambda draw: draw == 0),
    wait=mostly(st.sampled_from([60, 61, 3_600, 86_400]), st.sampled_from([0, 1, 59])),
    sequence_step=mostly(st.just(1), st.sampled_from([0, -1, 2, 2**64])),
    target_move=mostly(st.integers(-40, 40), st.integers(-1_000, 1_000)),
    extreme_target=mostly(st.none(), st.sampled_from(EXTREME_TARGETS)),
    price_move_bps=mostly(st.integers(-1_500, 1_500), st.integers(-5_000, 5_000)),
    extreme_price=mostly(st.none(), st.sampled_from(EXTREME_PRICES)),
    ts_offset=mostly(st.just(0), st.sampled_from([-1, -30, -31, -120, -121, -600, -601, 1, -(2**63)])),
    confidence_bps=mostly(st.integers(6_000, 10_000), st.integers(0, 10_001)),
    pass_oracle=st.integers(0, 9).map(lambda draw: draw != 0),
)

quote_strategy = st.builds(
    OracleQuote,
    price=mostly(st.integers(PRICE * 9 // 10, PRICE * 11 // 10), st.sampled_from([0, 1, 2**64 - 1])),
    conf=mostly(st.integers(0, PRICE // 100), st.integers(0, 2**64 - 1)),
    publish_time=mostly(st.integers(START_TIME - 60, START_TIME), st.integers(-(2**63), 2**63 - 1)),
)

_guards: dict[bytes, Guard] = {}


def _guard(program: bytes) -> Guard:
    """One deployment for every example: each example rewrites the config and the book it starts from."""
    if program not in _guards:
        _guards[program] = Guard(program)
    return _guards[program]


def _book_state(book: Book) -> spec.BookState:
    return spec.BookState(**{name: getattr(book, name) for name in BOOK_FIELDS})


def _reset(guard: Guard, limits: Limits, capital: int, quote: OracleQuote) -> Book:
    config = guard.client.decode_config(guard.config_data())
    fresh_config = Config(
        authority=config.authority, keeper=config.keeper, limits=limits, paused=False, bump=config.bump
    )
    guard.put_account(guard.client.config_address(), guard.client.encode_account("Config", fresh_config))
    opened = spec.BookState.opened(capital)
    template = guard.book()
    book = Book(**{**template.__dict__, **{name: getattr(opened, name) for name in BOOK_FIELDS}})
    guard.put_book(book)
    guard.put_quote(ORACLE, quote)
    guard.cluster.set_time(START_TIME)
    return book


def _signal(step: Step, book: spec.BookState, price: int, now: int) -> spec.Signal:
    target = step.extreme_target if step.extreme_target is not None else book.position + step.target_move
    return spec.Signal(
        sequence=min(max(0, book.last_sequence + step.sequence_step), 2**64 - 1),
        target_position=target,
        price=step.extreme_price if step.extreme_price is not None else price,
        signal_ts=now + step.ts_offset,
        confidence_bps=step.confidence_bps,
    )


def _next_price(step: Step, price: int) -> int:
    """The market's random walk; a step's extreme price replaces it for that signal only."""
    return max(1, price * (10_000 + step.price_move_bps) // 10_000)


def _run_step(
    guard: Guard, step: Step, limits: Limits, quote: OracleQuote, expected: spec.BookState, price: int
):
    now = guard.advance(step.wait)
    if step.resume:
        guard.expect_ok(guard.admin(guard.client.resume(guard.authority.pubkey(), [guard.book_address])))
        return spec.resume(expected)
    signal = _signal(step, expected, price, now)
    oracle_enabled = limits.oracle == ORACLE
    try:
        predicted: spec.BookState | str = spec.push_signal(
            expected,
            limits,
            signal,
            now,
            oracle_enabled=oracle_enabled,
            quote=spec.Quote(quote.price, quote.conf, quote.publish_time) if step.pass_oracle else None,
        )
    except spec.RuleViolationError as violation:
        predicted = violation.name
    outcome = guard.signal(
        signal.target_position,
        price=signal.price,
        ts=signal.signal_ts,
        confidence_bps=signal.confidence_bps,
        sequence=signal.sequence,
        oracle=ORACLE if step.pass_oracle else None,
    )
    actual = _book_state(guard.book())
    event(outcome.error_name or ("accepted, halted" if actual.halted else "accepted"))
    if isinstance(predicted, str):
        assert (outcome.accepted, outcome.error_name) == (False, predicted), (
            signal,
            expected,
            outcome.logs[-3:],
        )
        assert actual == expected, "a rejected signal changed the book"
        return expected
    assert outcome.accepted, (signal, expected, outcome.error_name)
    assert actual == predicted, (signal, expected)
    return predicted


@settings(
    max_examples=SEQUENCES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    limits=limits_strategy,
    capital=mostly(st.integers(10**8, 2 * 10**9), st.sampled_from([1, 2**63 - 1])),
    quote=quote_strategy,
    steps=st.lists(step_strategy, min_size=1, max_size=8),
)
def test_program_matches_the_spec_on_random_signal_sequences(
    program: bytes, limits: Limits, capital: int, quote: OracleQuote, steps: list[Step]
) -> None:
    guard = _guard(program)
    _reset(guard, limits, capital, quote)
    expected = spec.BookState.opened(capital)
    price = PRICE
    for step in steps:
        price = _next_price(step, price)
        expected = _run_step(guard, step, limits, quote, expected, price)
