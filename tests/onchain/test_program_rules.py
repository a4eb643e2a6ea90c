"""Each risk rule broken by a real transaction in LiteSVM, with its exact error, and its passing case."""

from __future__ import annotations

from solders.pubkey import Pubkey

from onchain.client import Limits, OracleQuote
from tests.onchain.guard import CAPITAL, DEFAULT_LIMITS, MARKET, PRICE, Guard, rejected_with

MIN_INTERVAL = DEFAULT_LIMITS.min_interval_secs


def test_a_signal_within_every_limit_moves_the_book(guard: Guard) -> None:
    outcome = guard.expect_ok(guard.signal(100))
    book = guard.book()
    assert (book.position, book.avg_entry, book.equity, book.last_sequence) == (100, PRICE, CAPITAL, 1)
    assert book.symbol == MARKET and not book.halted
    assert outcome.compute_units > 0


def test_only_the_keeper_pushes_signals(guard: Guard) -> None:
    assert rejected_with(guard.signal(10, signer=guard.outsider), "NotKeeper")
    assert rejected_with(guard.signal(10, signer=guard.authority), "NotKeeper")
    assert guard.book().last_sequence == 0


def test_only_the_authority_runs_admin_instructions(guard: Guard) -> None:
    keeper = guard.keeper.pubkey()
    client = guard.client
    for instruction in (
        client.set_limits(keeper, DEFAULT_LIMITS),
        client.set_keeper(keeper, keeper),
        client.pause(keeper),
        client.resume(keeper, [guard.book_address]),
        client.open_book(keeper, "ETHUSDT", CAPITAL),
    ):
        assert rejected_with(guard.send(instruction, guard.keeper), "Unauthorized")


def test_rotating_the_keeper_retires_the_old_one(guard: Guard) -> None:
    new_keeper = guard.outsider
    guard.expect_ok(guard.admin(guard.client.set_keeper(guard.authority.pubkey(), new_keeper.pubkey())))
    assert rejected_with(guard.signal(10), "NotKeeper")
    guard.expect_ok(guard.signal(10, signer=new_keeper))


def test_pause_stops_signals_until_resume(guard: Guard) -> None:
    guard.expect_ok(guard.admin(guard.client.pause(guard.authority.pubkey())))
    assert rejected_with(guard.signal(10), "Paused")
    guard.expect_ok(guard.admin(guard.client.resume(guard.authority.pubkey())))
    guard.expect_ok(guard.signal(10))


def test_sequence_numbers_never_repeat(guard: Guard) -> None:
    guard.expect_ok(guard.signal(10, sequence=5))
    guard.advance(MIN_INTERVAL)
    assert rejected_with(guard.signal(20, sequence=5), "SequenceReplayed")
    assert rejected_with(guard.signal(20, sequence=4), "SequenceReplayed")
    guard.expect_ok(guard.signal(20, sequence=6))


def test_stale_and_future_signals_are_refused_against_the_clock(guard: Guard) -> None:
    now = guard.cluster.now()
    staleness = DEFAULT_LIMITS.max_staleness_secs
    assert rejected_with(guard.signal(10, ts=now + 1), "SignalFromFuture")
    assert rejected_with(guard.signal(10, ts=now - staleness - 1), "SignalStale")
    guard.expect_ok(guard.signal(10, ts=now - staleness))


def test_signals_keep_the_minimum_interval(guard: Guard) -> None:
    first = guard.cluster.now()
    guard.expect_ok(guard.signal(10, ts=first))
    guard.advance(MIN_INTERVAL)
    assert rejected_with(guard.signal(20, ts=first + MIN_INTERVAL - 1), "SignalTooFrequent")
    guard.expect_ok(guard.signal(20, ts=first + MIN_INTERVAL))


def test_price_and_confidence_must_be_meaningful(guard: Guard) -> None:
    assert rejected_with(guard.signal(10, price=0), "InvalidPrice")
    assert rejected_with(guard.signal(10, confidence_bps=10_001), "InvalidConfidence")


def test_risk_increasing_signals_need_the_minimum_confidence(guard: Guard) -> None:
    low = DEFAULT_LIMITS.min_confidence_bps - 1
    assert rejected_with(guard.signal(10, confidence_bps=low), "ConfidenceTooLow")
    guard.expect_ok(guard.signal(10, confidence_bps=low + 1))
    guard.advance(MIN_INTERVAL)
    guard.expect_ok(guard.signal(5, confidence_bps=0))  # reducing risk needs no confidence


def test_order_size_is_capped(guard: Guard) -> None:
    assert rejected_with(guard.signal(DEFAULT_LIMITS.max_order + 1), "OrderTooLarge")
    assert rejected_with(guard.signal(-DEFAULT_LIMITS.max_order - 1), "OrderTooLarge")
    guard.expect_ok(guard.signal(-DEFAULT_LIMITS.max_order))


def test_position_is_capped(guard: Guard) -> None:
    guard.set_limits(max_order=1_000)
    assert rejected_with(guard.signal(DEFAULT_LIMITS.max_position + 1, price=1_000), "PositionLimitExceeded")
    guard.expect_ok(guard.signal(DEFAULT_LIMITS.max_position, price=1_000))


def test_notional_is_capped(guard: Guard) -> None:
    guard.set_limits(max_order=1_000, max_leverage_bps=100_000)
    limit_price = DEFAULT_LIMITS.max_notional // 300
    assert rejected_with(guard.signal(300, price=limit_price + 1), "NotionalLimitExceeded")
    guard.expect_ok(guard.signal(300, price=limit_price))


def test_leverage_against_equity_is_capped(guard: Guard) -> None:
    guard.set_limits(max_order=1_000)
    # 2x of 1e9 equity is 2e9 of notional: 250 lots at 8e6.
    assert rejected_with(guard.signal(250, price=8_000_001), "LeverageLimitExceeded")
    guard.expect_ok(guard.signal(250, price=8_000_000))


def _build_long(guard: Guard, lots: int) -> None:
    """A long of `lots` at PRICE, bought in steps of max_order a minimum interval apart."""
    held = 0
    while held < lots:
        held = min(lots, held + DEFAULT_LIMITS.max_order)
        guard.expect_ok(guard.signal(held))
        guard.advance(MIN_INTERVAL)


def test_daily_loss_limit_halts_the_book_until_resume(guard: Guard) -> None:
    _build_long(guard, 100)
    crash = PRICE - 600_000  # 100 lots x 6e5 = 6% of equity lost today (limit 5%)
    assert rejected_with(guard.signal(150, price=crash), "DailyLossLimitHit")
    assert not guard.book().halted  # a rejected transaction changes nothing
    guard.expect_ok(guard.signal(50, price=crash))  # reducing risk passes and records the halt
    book = guard.book()
    assert book.halted and book.position == 50 and book.equity == CAPITAL - 60_000_000
    guard.advance(MIN_INTERVAL)
    assert rejected_with(guard.signal(60, price=crash), "BookHalted")
    assert rejected_with(guard.signal(-10, price=crash), "BookHalted")  # flipping side adds risk
    guard.expect_ok(guard.signal(0, price=crash))
    guard.advance(MIN_INTERVAL)
    guard.expect_ok(guard.admin(guard.client.resume(guard.authority.pubkey(), [guard.book_address])))
    resumed = guard.book()
    assert not resumed.halted and resumed.high_water_mark == resumed.day_start_equity == resumed.equity
    guard.expect_ok(guard.signal(10, price=crash))


def test_drawdown_from_the_high_water_mark_halts_the_book(guard: Guard) -> None:
    guard.set_limits(daily_loss_bps=10_000)
    _build_long(guard, 200)
    slump = PRICE - 600_000  # 200 lots x 6e5 = 12% below the high-water mark (limit 10%)
    assert rejected_with(guard.signal(250, price=slump), "MaxDrawdownHit")
    guard.expect_ok(guard.signal(200, price=slump))  # holding is not adding risk
    assert guard.book().halted
    guard.advance(MIN_INTERVAL)
    assert rejected_with(guard.signal(201, price=slump), "BookHalted")


def test_a_new_day_restarts_the_daily_loss_reference(guard: Guard) -> None:
    _build_long(guard, 100)
    guard.expect_ok(guard.signal(100, price=PRICE - 400_000))  # -4% today: within 5%
    guard.advance(86_400)
    guard.expect_ok(guard.signal(100, price=PRICE - 800_000))  # -4.2% from the last mark before today
    book = guard.book()
    assert book.day_start_equity == CAPITAL - 40_000_000 and not book.halted


def _with_oracle(guard: Guard, quote: OracleQuote) -> Pubkey:
    oracle = guard.put_quote(Pubkey.new_unique(), quote)
    guard.set_limits(oracle=oracle)
    return oracle


def test_the_configured_oracle_must_be_passed(guard: Guard) -> None:
    now = guard.cluster.now()
    oracle = _with_oracle(guard, OracleQuote(price=PRICE, conf=1_000, publish_time=now))
    impostor = guard.put_quote(Pubkey.new_unique(), OracleQuote(price=PRICE, conf=1_000, publish_time=now))
    assert rejected_with(guard.signal(10), "OracleMismatch")
    assert rejected_with(guard.signal(10, oracle=impostor), "OracleMismatch")
    guard.expect_ok(guard.signal(10, oracle=oracle))


def test_oracle_age_confidence_and_deviation_are_checked(guard: Guard) -> None:
    now = guard.cluster.now()
    limits: Limits = DEFAULT_LIMITS
    stale = _with_oracle(
        guard, OracleQuote(price=PRICE, conf=0, publish_time=now - limits.oracle_max_age_secs - 1)
    )
    assert rejected_with(guard.signal(10, oracle=stale), "OracleStale")
    wide = _with_oracle(guard, OracleQuote(price=PRICE, conf=PRICE // 100 + 1, publish_time=now))
    assert rejected_with(guard.signal(10, oracle=wide), "OracleConfidenceTooWide")
    fair = _with_oracle(guard, OracleQuote(price=PRICE, conf=PRICE // 100, publish_time=now))
    assert rejected_with(guard.signal(10, price=PRICE + PRICE // 50 + 1, oracle=fair), "OracleDeviation")
    guard.expect_ok(guard.signal(10, price=PRICE + PRICE // 50, oracle=fair))


def test_arithmetic_overflow_is_an_error_not_a_wrap(guard: Guard) -> None:
    guard.expect_ok(guard.signal(100))
    guard.advance(MIN_INTERVAL)
    assert rejected_with(guard.signal(100, price=2**63), "MathOverflow")  # price beyond i64 when marked
    guard.set_limits(max_order=1_000, max_notional=2**64 - 1, max_position=1_000)
    assert rejected_with(guard.signal(300, price=2**62), "MathOverflow")  # 300 lots x 2^62


def test_limits_must_be_consistent(guard: Guard) -> None:
    authority = guard.authority.pubkey()
    for broken in (
        {"max_drawdown_bps": 0},
        {"daily_loss_bps": 10_001},
        {"max_order": 0},
        {"max_leverage_bps": 0},
        {"oracle_max_conf_bps": 10_001},
    ):
        limits = Limits(**{**DEFAULT_LIMITS.__dict__, **broken})
        assert rejected_with(guard.admin(guard.client.set_limits(authority, limits)), "InvalidLimits")


def test_initialize_refuses_inconsistent_limits(program: bytes) -> None:
    fresh = Guard(program, ready=False)
    broken = Limits(**{**DEFAULT_LIMITS.__dict__, "min_confidence_bps": 10_001})
    instruction = fresh.client.initialize(fresh.authority.pubkey(), fresh.keeper.pubkey(), broken)
    assert rejected_with(fresh.admin(instruction), "InvalidLimits")
    assert fresh.config_data() == b""


def test_a_book_needs_positive_capital_within_i64(guard: Guard) -> None:
    authority = guard.authority.pubkey()
    assert rejected_with(guard.admin(guard.client.open_book(authority, "ETHUSDT", 0)), "InvalidCapital")
    assert rejected_with(guard.admin(guard.client.open_book(authority, "ETHUSDT", 2**63)), "InvalidCapital")
    guard.expect_ok(guard.admin(guard.client.open_book(authority, "ETHUSDT", 2**63 - 1)))
