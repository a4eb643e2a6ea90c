"""Our performance statistics against empyrical-reloaded's, and the trade statistics by hand."""

import empyrical
import numpy as np
import pandas as pd
import pytest

from backtest.engine import EngineConfig, run_backtest
from backtest.metrics import (
    annualized_return,
    bar_to_bar,
    max_drawdown,
    performance,
    sharpe_ratio,
    simple_returns,
    sortino_ratio,
)
from backtest.strategies import exposure
from tests.backtest.bars import daily_bars


@pytest.fixture
def equity() -> np.ndarray:
    rng = np.random.default_rng(7)
    return 100 * np.cumprod(np.r_[1.0, 1 + rng.normal(0.001, 0.03, 400)])


def test_return_statistics_match_empyrical(equity):
    returns = simple_returns(equity)
    series = pd.Series(returns)
    assert sharpe_ratio(returns, 365) == pytest.approx(empyrical.sharpe_ratio(series, annualization=365))
    assert sortino_ratio(returns, 365) == pytest.approx(empyrical.sortino_ratio(series, annualization=365))
    assert annualized_return(equity, 365) == pytest.approx(empyrical.annual_return(series, annualization=365))
    assert max_drawdown(equity) == pytest.approx(-empyrical.max_drawdown(series))


def test_performance_calmar_matches_empyrical(equity):
    bars = daily_bars(list(equity[1:] / equity[1] * 100))
    result = run_backtest(bars, np.r_[1.0, np.full(len(bars) - 1, np.nan)], exposure())
    stats = performance(result)
    returns = pd.Series(simple_returns(bar_to_bar(result.equity)))
    assert stats.calmar == pytest.approx(empyrical.calmar_ratio(returns, annualization=365))
    assert stats.exposure == 1.0
    assert stats.trades == 1


def test_a_year_of_closes_held_from_the_first_annualises_over_its_365_days():
    closes = 100 * 1.5 ** (np.arange(366) / 365)  # 366 closes span 365 days: +50 % in the year
    result = run_backtest(daily_bars(list(closes)), np.r_[1.0, np.full(365, np.nan)], exposure())
    stats = performance(result)
    assert len(result.equity) == 367  # the initial cash, then a mark at every close
    assert stats.annualized_return == pytest.approx(0.5)
    daily = 1.5 ** (1 / 365) - 1  # every day's return, the first one included: no zero-length period
    assert np.isnan(stats.sortino)  # no losing day to measure the risk by
    assert np.allclose(simple_returns(bar_to_bar(result.equity)), daily)


def test_annualised_return_is_undefined_over_a_single_bar_and_minus_one_once_wiped_out():
    assert np.isnan(annualized_return(np.array([100.0]), 365))
    assert annualized_return(np.array([100.0, 0.0]), 365) == -1.0


def test_trade_statistics():
    bars = daily_bars([100, 110, 100, 90, 100])
    # Buy 1 at 100, sell at 110 (+10); buy 1.1 at 100, sell at 90 (-11); flat at the end.
    result = run_backtest(bars, np.array([1.0, 0.0, 1.0, 0.0, np.nan]), exposure(), EngineConfig())
    stats = performance(result)
    assert stats.win_rate == 0.5
    assert stats.profit_factor == pytest.approx(10 / 11)
    assert stats.final_balance == pytest.approx(99.0)
    assert stats.exposure == pytest.approx(2 / 5)
    notional = 100 + 110 + 110 + 99
    assert stats.turnover == pytest.approx(notional / np.mean(result.equity))
