"""Properties over random markets: finite equity, no look-ahead, fee-free round trips keep equity."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.engine import EngineConfig, run_backtest
from backtest.strategies import exposure, smart, smart_with_short, vanilla
from tests.backtest.bars import daily_bars


def finite(low: float, high: float) -> st.SearchStrategy[float]:
    # The model package flushes subnormal floats process-wide (models/__init__.py), so hypothesis
    # must not try to generate them.
    return st.floats(low, high, allow_subnormal=False)


STRATEGIES = [vanilla(), smart(), smart_with_short(max_short_units=0.5)]
CONFIGS = [
    EngineConfig(),
    EngineConfig(fee_bps=10, slippage_bps=5, fill="next_open"),
    EngineConfig(mode="perp", leverage=20, fee_bps=4, stop_loss=0.05, take_profit=0.1),
    EngineConfig(halt_drawdown=0.3, stop_loss=0.02),
]


@st.composite
def markets(draw):
    n = draw(st.integers(2, 60))
    moves = draw(st.lists(finite(-0.3, 0.3), min_size=n, max_size=n))
    close = 100 * np.cumprod(1 + np.array(moves))
    wiggle = np.array(draw(st.lists(finite(0, 0.2), min_size=n, max_size=n)))
    forecast = close * (1 + np.array(draw(st.lists(finite(-0.1, 0.1), min_size=n, max_size=n))))
    forecast[-1] = np.nan
    bars = daily_bars(list(close), high=list(close * (1 + wiggle)), low=list(close * (1 - wiggle)))
    return bars, forecast


@settings(max_examples=150, deadline=None)
@given(markets(), st.sampled_from(STRATEGIES), st.sampled_from(CONFIGS))
def test_equity_is_never_nan(market, strategy, config):
    bars, forecast = market
    result = run_backtest(bars, forecast, strategy, config)
    assert np.all(np.isfinite(result.equity))
    assert np.all(np.isfinite(result.units))


@settings(max_examples=150, deadline=None)
@given(markets(), st.sampled_from(STRATEGIES), st.sampled_from(CONFIGS), st.data())
def test_prices_after_bar_t_never_change_decisions_up_to_t(market, strategy, config, data):
    bars, forecast = market
    t = data.draw(st.integers(0, len(bars) - 1))
    factor = data.draw(finite(0.5, 2.0))
    later = daily_bars(
        list(np.r_[bars.close[: t + 1], bars.close[t + 1 :] * factor]),
        high=list(np.r_[bars.high[: t + 1], bars.high[t + 1 :] * factor]),
        low=list(np.r_[bars.low[: t + 1], bars.low[t + 1 :] * factor]),
    )
    before = run_backtest(bars, forecast, strategy, config)
    after = run_backtest(later, forecast, strategy, config)
    np.testing.assert_array_equal(before.units[: t + 1], after.units[: t + 1])
    np.testing.assert_array_equal(before.equity[: t + 2], after.equity[: t + 2])


@settings(max_examples=100, deadline=None)
@given(
    st.lists(finite(-3, 3), min_size=2, max_size=40),
    st.sampled_from(["spot", "perp"]),
    st.sampled_from(["close", "next_open"]),
)
def test_a_fee_free_round_trip_at_a_constant_price_keeps_equity(targets, mode, fill):
    bars = daily_bars([250.0] * (len(targets) + 1))
    signal = np.r_[targets, 0.0]  # end flat
    config = EngineConfig(mode=mode, fill=fill, leverage=5, funding_rate=0.0)
    result = run_backtest(bars, signal, exposure(), config)
    np.testing.assert_allclose(result.equity, 100.0, rtol=1e-12)
