"""From the newest forecast to a target position and a confidence: what gets pushed on-chain.

The target position is the one the strategy holds after acting on the newest forecast, having
traded the model's test-split forecasts before it. The account's history matters because the
paper's rules are incremental (Vanilla keeps its position inside the threshold, Smart buys or sells
a fraction of what it has), so the same forecast can mean different positions. It is expressed as
a fraction of equity, so it does not depend on the account size that pushes it.

Confidence is the probability that the forecast's direction is right, with the forecast's return
error taken as Gaussian with the spread it had on the training split: Phi(|expected return| / spread).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from backtest.engine import Bars, EngineConfig
from backtest.experiments import ForecastTrack, run_strategy


@dataclass(frozen=True)
class Signal:
    target_position: float  # fraction of equity; negative is short
    confidence: float
    expected_return: float


def latest_signal(
    history: ForecastTrack, live_ts: pd.Timestamp, live_price: float, live_forecast: float, rule: str
) -> Signal:
    """The signal of `rule` after `history` (a traded track) and one more decision at `live_price`."""
    bars = history.bars
    ts = bars.ts
    close = bars.close
    if live_ts > ts[-1]:
        ts = ts.append(pd.DatetimeIndex([live_ts]))
        close = np.r_[close, live_price]
    elif live_ts != ts[-1]:
        raise ValueError(f"the live decision bar {live_ts} is older than the history's last bar {ts[-1]}")
    forecast = np.r_[history.forecast[: len(bars) - 1], np.full(len(ts) - len(bars) + 1, np.nan)]
    forecast[-1] = live_forecast
    track = ForecastTrack(Bars.from_closes(ts, close), forecast, history.error_spread)
    result = run_strategy(track, rule, EngineConfig())
    position = float(result.units[-1] * close[-1] / result.equity[-1]) if result.equity[-1] > 0 else 0.0
    expected = live_forecast / live_price - 1.0
    return Signal(position, float(ndtr(abs(expected) / history.error_spread)), expected)
