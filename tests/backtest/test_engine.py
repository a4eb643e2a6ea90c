"""Engine mechanics: margin, funding, liquidation, stops, halts and input checks."""

import numpy as np
import pandas as pd
import pytest

from backtest.engine import Bars, EngineConfig, run_backtest
from backtest.strategies import exposure
from tests.backtest.bars import daily_bars

NAN = np.nan
PERP = EngineConfig(mode="perp", leverage=10, maintenance_margin=0.005, funding_rate=0.0)


def test_perp_funding_is_charged_three_times_a_day_on_the_held_notional():
    bars = daily_bars([100, 100, 100])
    config = EngineConfig(mode="perp", funding_rate=0.0001)
    result = run_backtest(bars, np.array([1.0, NAN, NAN]), exposure(), config)
    assert result.funding_paid == pytest.approx(2 * 3 * 1.0 * 100 * 0.0001)
    assert result.final_equity == pytest.approx(100 - 0.06)


def test_perp_short_receives_positive_funding():
    bars = daily_bars([100, 100])
    config = EngineConfig(mode="perp", funding_rate=0.0001)
    result = run_backtest(bars, np.array([-1.0, NAN]), exposure(), config)
    assert result.final_equity == pytest.approx(100 + 0.03)


def test_perp_leverage_caps_the_position():
    bars = daily_bars([100, 100])
    result = run_backtest(bars, np.array([50.0, NAN]), exposure(), PERP)
    assert result.units[0] == pytest.approx(10.0)  # 10 * equity / price


def test_perp_liquidation_at_the_maintenance_margin_price():
    bars = daily_bars([100, 95, 100], low=[100, 90, 100])
    result = run_backtest(bars, np.array([10.0, NAN, NAN]), exposure(), PERP)
    liquidation = 900 / (10 * (1 - 0.005))
    fill = result.fills.iloc[-1]
    assert fill["reason"] == "liquidation"
    assert fill["price"] == pytest.approx(liquidation)
    assert result.final_equity == pytest.approx(0.005 * 10 * liquidation)
    assert result.units[-1] == 0.0


def test_a_gap_through_the_liquidation_price_loses_at_most_the_equity():
    bars = daily_bars([100, 85, 200], open_=[100, 85, 200], low=[100, 80, 200])
    result = run_backtest(bars, np.array([10.0, NAN, 1.0]), exposure(), PERP)
    assert result.fills.iloc[1]["price"] == 85.0
    assert result.final_equity == 0.0
    assert result.halted_at == bars.ts[1]  # nothing left to trade with


def test_short_liquidation_on_the_high():
    bars = daily_bars([100, 105, 100], high=[100, 111, 100])
    result = run_backtest(bars, np.array([-10.0, NAN, NAN]), exposure(), PERP)
    liquidation = 1100 / (10 * 1.005)
    assert result.fills.iloc[-1]["reason"] == "liquidation"
    assert result.fills.iloc[-1]["price"] == pytest.approx(liquidation)


def test_stop_loss_fills_at_the_stop_or_at_a_gapped_open():
    config = EngineConfig(stop_loss=0.05)
    touched = run_backtest(
        daily_bars([100, 97, 97], low=[100, 94, 97]), np.array([1.0, NAN, NAN]), exposure(), config
    )
    assert touched.fills.iloc[-1]["reason"] == "stop_loss"
    assert touched.final_equity == pytest.approx(95.0)
    gapped = run_backtest(
        daily_bars([100, 92, 97], open_=[100, 90, 97], low=[100, 88, 97]),
        np.array([1.0, NAN, NAN]),
        exposure(),
        config,
    )
    assert gapped.final_equity == pytest.approx(90.0)


def test_take_profit_and_the_adverse_side_first_when_both_are_touched():
    config = EngineConfig(stop_loss=0.05, take_profit=0.1)
    profit = run_backtest(daily_bars([100, 105], high=[100, 111]), np.array([1.0, NAN]), exposure(), config)
    assert profit.fills.iloc[-1]["reason"] == "take_profit"
    assert profit.final_equity == pytest.approx(110.0)
    both = run_backtest(
        daily_bars([100, 105], high=[100, 111], low=[100, 94]), np.array([1.0, NAN]), exposure(), config
    )
    assert both.fills.iloc[-1]["reason"] == "stop_loss"


def test_drawdown_halt_flattens_and_stops_trading():
    bars = daily_bars([100, 90, 75, 120, 130])
    config = EngineConfig(halt_drawdown=0.2)
    result = run_backtest(bars, np.array([1.0, NAN, NAN, 1.0, NAN]), exposure(), config)
    assert result.halted_at == bars.ts[2]
    assert result.fills.iloc[-1]["reason"] == "halt"
    assert result.final_equity == pytest.approx(75.0)


def test_realized_pnl_is_booked_on_reductions_net_of_fees():
    bars = daily_bars([100, 110, 120])
    result = run_backtest(bars, np.array([1.0, 0.5, NAN]), exposure(), EngineConfig(fee_bps=0))
    reduction = result.fills.iloc[1]
    assert reduction["realized_pnl"] == pytest.approx(-reduction["quantity"] * 10)
    assert np.isnan(result.fills.iloc[0]["realized_pnl"])


def test_bad_bars_and_signals_are_refused_with_the_row():
    ts = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    with pytest.raises(ValueError, match=r"open at row 1 .* is nan, expected > 0"):
        Bars.from_closes(ts, np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="strictly increasing"):
        Bars.from_closes(ts[::-1], np.ones(3))
    with pytest.raises(ValueError, match=r"signal has shape \(2,\), expected \(3,\)"):
        run_backtest(Bars.from_closes(ts, np.ones(3)), np.ones(2), exposure())
    with pytest.raises(ValueError, match="fill='tomorrow'"):
        EngineConfig(fill="tomorrow")
    with pytest.raises(ValueError, match=r"row 0 .* outside \[low, high\]"):
        Bars(ts, np.ones(3), np.full(3, 0.5), np.full(3, 0.5), np.ones(3))
