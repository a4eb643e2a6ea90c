"""The paper's rules and the engine's fills on hand-computed cases."""

import numpy as np
import pytest

from backtest.engine import EngineConfig, run_backtest
from backtest.strategies import exposure, smart, smart_with_short, vanilla
from tests.backtest.bars import daily_bars

NAN = np.nan


def test_vanilla_goes_all_in_above_threshold_and_all_out_below():
    bars = daily_bars([100, 110, 99])
    result = run_backtest(bars, np.array([105, 108, NAN]), vanilla())
    assert result.units.tolist() == [1.0, 0.0, 0.0]
    assert result.equity.tolist() == [100.0, 100.0, 110.0, 110.0]


def test_vanilla_keeps_the_position_inside_the_threshold():
    bars = daily_bars([100, 100.5, 120])
    result = run_backtest(bars, np.array([100.9, 101.4, NAN]), vanilla(threshold=0.01))
    assert result.fills.empty
    assert result.final_equity == 100.0


def test_vanilla_with_fees_pays_on_both_legs():
    bars = daily_bars([100, 110, 99])
    result = run_backtest(bars, np.array([105, 108, NAN]), vanilla(), EngineConfig(fee_bps=10))
    units = 100 / (100 * 1.001)  # all the cash, fee included
    assert result.units[0] == pytest.approx(units, rel=1e-12)
    assert result.final_equity == pytest.approx(units * 110 * 0.999, rel=1e-12)
    assert result.fills["fee"].sum() == pytest.approx(units * 100 * 0.001 + units * 110 * 0.001)


def test_smart_buys_and_sells_in_proportion_to_the_gap():
    bars = daily_bars([100, 102, 103])
    result = run_backtest(bars, np.array([101, 101, NAN]), smart(risk=0.02))
    diff = 101 * 0.02
    bought = 100 * (1 / diff) / 100  # fraction (101 - 100) / diff of the cash, at 100
    cash = 100 * (1 - 1 / diff)
    sold_fraction = (102 - 101) / diff
    held = bought * (1 - sold_fraction)
    cash += bought * sold_fraction * 102
    assert result.units[0] == pytest.approx(bought, rel=1e-12)
    assert result.units[1] == pytest.approx(held, rel=1e-12)
    assert result.final_equity == pytest.approx(cash + held * 103, rel=1e-12)


def test_smart_goes_all_in_far_below_and_all_out_far_above_the_forecast():
    bars = daily_bars([100, 120, 90])
    result = run_backtest(bars, np.array([110, 100, NAN]), smart(risk=0.02))
    assert result.units.tolist() == [1.0, 0.0, 0.0]
    assert result.final_equity == 120.0


def test_smart_with_short_shorts_the_capped_amount_and_covers_by_buying():
    bars = daily_bars([100, 90, 95])
    result = run_backtest(bars, np.array([90, 100, NAN]), smart_with_short(risk=0.02, max_short_units=0.5))
    assert result.units[0] == -0.5  # 100 > 90 * 1.02: short 0.5, cash 150
    # 90 < 100 - 2: buy with all the cash (150 / 90 units), netting the short.
    assert result.units[1] == pytest.approx(-0.5 + 150 / 90, rel=1e-12)
    assert result.final_equity == pytest.approx((-0.5 + 150 / 90) * 95, rel=1e-12)


def test_buy_and_hold_exposure_is_last_over_first():
    bars = daily_bars([100, 80, 130])
    result = run_backtest(bars, np.array([1.0, NAN, NAN]), exposure())
    assert result.final_equity == pytest.approx(130.0)
    assert len(result.fills) == 1


def test_next_open_fill_uses_the_following_open():
    bars = daily_bars([100, 104, 110], open_=[100, 102, 106], low=[100, 102, 106])
    result = run_backtest(bars, np.array([105, NAN, NAN]), vanilla(), EngineConfig(fill="next_open"))
    assert result.units.tolist() == [0.0, 100 / 102, 100 / 102]
    assert result.fills["price"].tolist() == [102.0]


def test_slippage_moves_the_fill_against_the_trader():
    bars = daily_bars([100, 100, 100])
    result = run_backtest(bars, np.array([110, 90, NAN]), vanilla(), EngineConfig(slippage_bps=50))
    assert result.fills["price"].tolist() == pytest.approx([100.5, 99.5])
    assert result.final_equity == pytest.approx(100 / 100.5 * 99.5)
