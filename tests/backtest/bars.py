"""Small bar series for hand-computed backtests."""

import numpy as np
import pandas as pd

from backtest.engine import Bars


def daily_bars(close: list[float], open_=None, high=None, low=None) -> Bars:
    """Daily bars from 2024-01-01; open/high/low default to the close."""
    ts = pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC")
    close_array = np.asarray(close, dtype=float)
    pick = lambda values: close_array if values is None else np.asarray(values, dtype=float)  # noqa: E731
    return Bars(ts, pick(open_), pick(high), pick(low), close_array)
