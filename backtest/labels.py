"""Training labels for classifiers: triple-barrier outcomes and a 5-class ordinal direction.

Labels are targets, so by construction they look ahead (up to `horizon` bars); the inputs they
are paired with must not. Bars whose horizon runs past the data get no label (NaN), rather than
a label computed on a shortened future.

Triple barrier (López de Prado, *Advances in Financial Machine Learning*, 3.4): from bar t's
close, an upper barrier at close * (1 + upper * sigma_t), a lower one at close * (1 - lower * sigma_t)
and a vertical one `horizon` bars later; sigma_t is the exponentially weighted standard deviation of
daily returns up to t. The label is +1 when the upper barrier is touched first, -1 for the lower,
and the sign of the return at the vertical barrier otherwise (0 when flat). Touches are checked on
each later bar's high and low; a bar touching both counts as the lower (the cautious reading, since
the path inside a bar is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

ORDINAL_CLASSES = ("strong_down", "down", "flat", "up", "strong_up")


@dataclass(frozen=True)
class TripleBarrierLabels:
    label: np.ndarray  # +1, -1, 0, or NaN where the horizon runs past the data
    touched_after: np.ndarray  # bars until the deciding barrier (the vertical one: horizon)
    volatility: np.ndarray  # sigma_t used for the barriers


def daily_volatility(close: np.ndarray, span: int = 20) -> np.ndarray:
    """EWM standard deviation of simple returns, known at each close (NaN for the first bar)."""
    returns = pd.Series(close).pct_change()
    return returns.ewm(span=span, min_periods=2).std().to_numpy()


def triple_barrier(
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    horizon: int = 10,
    upper: float = 2.0,
    lower: float = 2.0,
    volatility_span: int = 20,
) -> TripleBarrierLabels:
    if horizon < 1 or upper <= 0 or lower <= 0:
        raise ValueError("triple_barrier: horizon must be >= 1 and the barrier widths > 0")
    volatility = daily_volatility(close, volatility_span)
    label, touched = _barriers(close, high, low, volatility, horizon, upper, lower)
    return TripleBarrierLabels(label, touched, volatility)


@njit(cache=True)
def _barriers(close, high, low, volatility, horizon, upper, lower):
    n = close.shape[0]
    label = np.full(n, np.nan)
    touched = np.full(n, np.nan)
    for t in range(n - horizon):
        if np.isnan(volatility[t]):
            continue
        top = close[t] * (1.0 + upper * volatility[t])
        bottom = close[t] * (1.0 - lower * volatility[t])
        for step in range(1, horizon + 1):
            if low[t + step] <= bottom:
                label[t], touched[t] = -1.0, step
                break
            if high[t + step] >= top:
                label[t], touched[t] = 1.0, step
                break
        if np.isnan(label[t]):
            label[t], touched[t] = np.sign(close[t + horizon] - close[t]), horizon
    return label, touched


def ordinal_direction(
    close: np.ndarray, horizon: int = 1, flat: float = 0.01, strong: float = 0.03
) -> np.ndarray:
    """Class 0..4 (strong down, down, flat, up, strong up) of the return `horizon` bars ahead.

    |return| ≤ `flat` is flat; beyond `strong` is strong. NaN where the future is not in the data.
    """
    if not 0 <= flat < strong:
        raise ValueError(f"ordinal_direction: expected 0 <= flat ({flat}) < strong ({strong})")
    ahead = np.full(len(close), np.nan)
    ahead[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    classes = np.full(len(close), 2.0)
    classes[ahead > flat] = 3.0
    classes[ahead > strong] = 4.0
    classes[ahead < -flat] = 1.0
    classes[ahead < -strong] = 0.0
    classes[np.isnan(ahead)] = np.nan
    return classes
