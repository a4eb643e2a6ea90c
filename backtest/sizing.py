"""Exposure signals (fractions of equity) built from data known at each bar's close.

- Buy-and-hold: all in at the first bar, then no decisions.
- A Buy/Hold/Sell classifier policy: long when P(buy) reaches the confidence threshold, short (or
  flat when long-only) when P(sell) does, otherwise keep the position.
- Class probabilities from a point forecast: the forecast's return error is taken as Gaussian with
  the spread measured on the training split, so a regression model can drive the classifier policy.
- Kelly sizing with a drawdown cap: f* = (p*b - q)/b from the hit rate p and payoff ratio b of
  the forecast's past calls, capped by f_safe = min(f*, max_dd / expected loss). Only calls whose
  outcome was known at the bar's close count, so there is no look-ahead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

SELL, HOLD, BUY = 0, 1, 2


def buy_and_hold(bars: int) -> np.ndarray:
    exposure = np.full(bars, np.nan)
    exposure[0] = 1.0
    return exposure


def classifier_policy(probabilities: np.ndarray, threshold: float, long_only: bool = True) -> np.ndarray:
    """Exposure from (bars, 3) probabilities of sell, hold and buy; NaN rows keep the position."""
    if probabilities.ndim != 2 or probabilities.shape[1] != 3:
        raise ValueError(
            f"probabilities have shape {probabilities.shape}, expected (bars, 3): sell, hold, buy"
        )
    exposure = np.full(len(probabilities), np.nan)
    exposure[probabilities[:, SELL] >= threshold] = 0.0 if long_only else -1.0
    exposure[probabilities[:, BUY] >= threshold] = 1.0
    return exposure


def forecast_class_probabilities(
    forecast: np.ndarray, price: np.ndarray, error_spread: float, band: float
) -> np.ndarray:
    """P(return < -band), P(|return| ≤ band), P(return > band) for forecasts with Gaussian errors.

    `error_spread` is the standard deviation of (actual - forecast) / price on the training split.
    """
    if not error_spread > 0:
        raise ValueError(f"error_spread={error_spread}: expected > 0 (measure it on the training split)")
    expected = forecast / price - 1.0
    sell = ndtr((-band - expected) / error_spread)
    buy = 1.0 - ndtr((band - expected) / error_spread)
    return np.column_stack([sell, 1.0 - sell - buy, buy])


def return_error_spread(forecast: np.ndarray, actual: np.ndarray, price: np.ndarray) -> float:
    """Standard deviation of the forecast's return error; pass training rows only."""
    return float(np.std((actual - forecast) / price, ddof=1))


def kelly_exposure(
    forecast: np.ndarray,
    price: np.ndarray,
    threshold: float = 0.0,
    lookback: int = 90,
    min_calls: int = 20,
    max_drawdown: float = 0.2,
    max_leverage: float = 1.0,
    long_only: bool = True,
) -> np.ndarray:
    """Kelly-sized exposure of the forecast's direction, from its own track record up to each bar.

    `price[t]` is bar t's close and `forecast[t]` the forecast of bar t+1's close made then. A call
    at bar s is settled at bar s+1's close, so the statistics used at bar t cover calls s < t only.
    """
    move = forecast / price - 1.0
    direction = np.where(np.abs(move) > threshold, np.sign(move), 0.0)
    outcome = np.r_[price[1:] / price[:-1] - 1.0, np.nan]  # the return a call at t earns by t+1
    bet = pd.Series(np.where(direction != 0.0, direction * outcome, np.nan))
    settled = bet.shift(1)  # known at the close of bar t: calls up to t-1
    calls = settled.rolling(lookback, min_periods=1).count()
    hit_rate = (settled > 0).where(settled.notna()).rolling(lookback, min_periods=1).mean()
    mean_win = settled.where(settled > 0).rolling(lookback, min_periods=1).mean()
    mean_loss = -settled.where(settled < 0).rolling(lookback, min_periods=1).mean()
    payoff = mean_win / mean_loss
    kelly = (hit_rate * payoff - (1.0 - hit_rate)) / payoff
    capped = np.minimum(kelly, max_drawdown / mean_loss).clip(lower=0.0, upper=max_leverage)
    size = capped.where(calls >= min_calls, 0.0).fillna(0.0).to_numpy()
    exposure = direction * size
    if long_only:
        exposure = np.maximum(exposure, 0.0)
    exposure[np.isnan(forecast)] = np.nan
    return exposure
