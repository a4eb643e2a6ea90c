"""Decision rules: at a bar's close, from the price, the signal and the account, the position wanted.

Each rule is a small numba function returning the target position in units of the asset; the
engine fills it (price, slippage, fees, what cash or margin allows). The CryptoMamba paper's rules
are transcribed from its Algorithms 1 and 2 and the published `utils/trade.py`:

- Vanilla (Alg. 1): when the forecast is at least `threshold` away from today's close, go all in
  (forecast above) or all out (below); otherwise keep the position.
- Smart (Alg. 2): with `diff = forecast * risk`, sell everything when today's close is above
  forecast + diff, sell the fraction (close - forecast) / diff when it is above the forecast, buy
  with the fraction (forecast - close) / diff of cash when below, and with all cash below
  forecast - diff.
- Smart with short: the mirror image for buying, and a short of at most `max_short_units` when
  today's close is above forecast + diff (the published code shorts 0.002 BTC).

`exposure` holds whatever fraction of equity its signal asks for (buy-and-hold, the classifier
policy and Kelly sizing are exposures computed beforehand from data known at each bar).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

VANILLA, SMART, SMART_WITH_SHORT, EXPOSURE = 0, 1, 2, 3


@dataclass(frozen=True)
class Strategy:
    """A decision rule by name, the rule's kernel and its parameters."""

    name: str
    kind: int
    params: tuple[float, ...] = ()

    def parameter_array(self) -> np.ndarray:
        return np.asarray(self.params or (0.0,), dtype=np.float64)


def vanilla(threshold: float = 0.01) -> Strategy:
    return Strategy("vanilla", VANILLA, (threshold,))


def smart(risk: float = 0.02) -> Strategy:
    return Strategy("smart", SMART, (risk,))


def smart_with_short(risk: float = 0.02, max_short_units: float = 0.002) -> Strategy:
    return Strategy("smart_w_short", SMART_WITH_SHORT, (risk, max_short_units))


def exposure(name: str = "exposure") -> Strategy:
    """Hold signal * equity / price units; the signal is a fraction of equity (negative: short)."""
    return Strategy(name, EXPOSURE)


@njit(cache=True)
def _vanilla(price: float, forecast: float, cash: float, units: float, threshold: float) -> float:
    if abs(forecast - price) / price < threshold:
        return units
    if forecast > price:
        return units + max(cash, 0.0) / price
    return 0.0


@njit(cache=True)
def _smart(price: float, forecast: float, cash: float, units: float, risk: float) -> float:
    diff = forecast * risk
    long_units = max(units, 0.0)
    if price > forecast + diff:
        return units - long_units
    if price > forecast:
        return units - long_units * (price - forecast) / diff
    if price > forecast - diff:
        return units + max(cash, 0.0) * (forecast - price) / diff / price
    return units + max(cash, 0.0) / price


@njit(cache=True)
def _smart_with_short(
    price: float, forecast: float, cash: float, units: float, risk: float, max_short_units: float
) -> float:
    diff = forecast * risk
    if price < forecast - diff:
        return units + max(cash, 0.0) / price
    if price < forecast:
        return units + max(cash, 0.0) * (forecast - price) / diff / price
    if price < forecast + diff:
        if units > 0.0:
            return units * (1.0 - (price - forecast) / diff)
        return units
    return -max_short_units


@njit(cache=True)
def decide(
    kind: int, params: np.ndarray, price: float, signal: float, cash: float, units: float, equity: float
) -> float:
    """The target position (units) of strategy `kind` at a close of `price`."""
    if kind == VANILLA:
        return _vanilla(price, signal, cash, units, params[0])
    if kind == SMART:
        return _smart(price, signal, cash, units, params[0])
    if kind == SMART_WITH_SHORT:
        return _smart_with_short(price, signal, cash, units, params[0], params[1])
    return signal * max(equity, 0.0) / price
