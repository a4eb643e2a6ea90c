"""The bar-by-bar engine: fills, fees, slippage, cash or margin, funding, stops, liquidation, halts.

One account trades one asset. At each bar's close the strategy sees only that close, its signal
for the bar and the account, and names a target position; the order fills at that close or at the
next bar's open (`fill`). The loop is compiled with numba because Smart and the stops are path
dependent; everything around it is vectorised.

Accounting is the same in both modes: equity = cash + units * price, and a trade of q units at p
moves q * p out of cash (plus the fee). In `spot` mode a buy can spend only the cash there is;
in `perp` mode cash may go negative (it is collateral minus the position's entry value) and the
position is limited by `leverage` * equity instead, is charged funding every `funding_hours`, and
is liquidated when equity falls to `maintenance_margin` * notional, at the price where that
happens (or the open, when the bar gaps through it); an isolated-margin account never loses more
than its equity.

Order of events within bar t: funding on the position carried into the bar; a pending order fills
at the open; stops, take-profits and liquidation against the bar's open, high and low (the adverse
level first when both sides are touched: we cannot know the path inside a bar, so we assume the
worse one); at the close, equity is marked, the drawdown halt is checked, and the strategy
decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numba import njit

from backtest.strategies import Strategy, decide

SIGNAL, STOP_LOSS, TAKE_PROFIT, LIQUIDATION, HALT = 0, 1, 2, 3, 4
FILL_REASONS = ("signal", "stop_loss", "take_profit", "liquidation", "halt")


@dataclass(frozen=True)
class Bars:
    """OHLC bars in time order; `ts` is each bar's open time (UTC)."""

    ts: pd.DatetimeIndex
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("open", "high", "low", "close"):
            values = getattr(self, name)
            if len(values) != n:
                raise ValueError(f"bars: {name} has {len(values)} values, expected {n} (one per ts)")
            if not np.all(np.isfinite(values) & (values > 0)):
                bad = int(np.flatnonzero(~(np.isfinite(values) & (values > 0)))[0])
                raise ValueError(f"bars: {name} at row {bad} ({self.ts[bad]}) is {values[bad]}, expected > 0")
        outside = (self.high < np.maximum(self.open, self.close)) | (
            self.low > np.minimum(self.open, self.close)
        )
        if np.any(outside):
            bad = int(np.flatnonzero(outside)[0])
            raise ValueError(f"bars: row {bad} ({self.ts[bad]}) has open/close outside [low, high]")
        if n > 1 and not np.all(np.diff(self.ts.asi8) > 0):
            raise ValueError("bars: ts must be strictly increasing")

    def __len__(self) -> int:
        return len(self.ts)

    @classmethod
    def from_closes(cls, ts: pd.DatetimeIndex, close: np.ndarray) -> Bars:
        """Bars known only by their closes (open = high = low = close): no intrabar path."""
        close = np.asarray(close, dtype=np.float64)
        return cls(ts, close, close, close, close)


@dataclass(frozen=True)
class EngineConfig:
    """How orders fill and what the account allows."""

    mode: Literal["spot", "perp"] = "spot"
    fill: Literal["close", "next_open"] = "close"
    initial_cash: float = 100.0
    fee_bps: float = 0.0
    slippage_bps: float = 0.0
    leverage: float = 1.0  # perp: the most notional per unit of equity
    maintenance_margin: float = 0.005  # perp: fraction of notional
    funding_rate: float = 0.0001  # perp: per funding period, paid by longs when positive
    funding_hours: float = 8.0
    stop_loss: float = 0.0  # fraction of the entry price; 0 = none
    take_profit: float = 0.0
    halt_drawdown: float = 0.0  # flatten and stop trading at this drawdown from the peak; 0 = never

    def __post_init__(self) -> None:
        if self.mode not in ("spot", "perp"):
            raise ValueError(f"mode={self.mode!r}: expected 'spot' or 'perp'")
        if self.fill not in ("close", "next_open"):
            raise ValueError(f"fill={self.fill!r}: expected 'close' or 'next_open'")
        for name in ("fee_bps", "slippage_bps", "maintenance_margin", "stop_loss", "take_profit"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)}: expected >= 0")
        if not 0 <= self.halt_drawdown < 1:
            raise ValueError(f"halt_drawdown={self.halt_drawdown}: expected a fraction in [0, 1)")
        if self.initial_cash <= 0 or self.leverage <= 0 or self.funding_hours <= 0:
            raise ValueError("initial_cash, leverage and funding_hours must be > 0")


@dataclass(frozen=True)
class BacktestResult:
    """The account bar by bar and every fill."""

    ts: pd.DatetimeIndex
    equity: np.ndarray  # (bars + 1,): the initial cash, then equity at each close
    units: np.ndarray  # (bars,): position after each close
    fills: pd.DataFrame  # bar, ts, quantity, price, fee, realized_pnl, reason
    funding_paid: float
    halted_at: pd.Timestamp | None

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1])


def run_backtest(
    bars: Bars,
    signal: np.ndarray,
    strategy: Strategy,
    config: EngineConfig = EngineConfig(),
    funding_rates: np.ndarray | None = None,
) -> BacktestResult:
    """Trade `strategy` on `signal` (one value per bar, known at its close; NaN = no decision).

    `funding_rates` (perp) gives the rate per funding period in force during each bar; by default
    `config.funding_rate` throughout.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.shape != (len(bars),):
        raise ValueError(f"signal has shape {signal.shape}, expected ({len(bars)},): one value per bar")
    rates = (
        np.full(len(bars), config.funding_rate) if funding_rates is None else np.asarray(funding_rates, float)
    )
    if rates.shape != (len(bars),):
        raise ValueError(f"funding_rates has shape {rates.shape}, expected ({len(bars)},)")
    equity, units, fill_columns, fill_count, funding, halted = _simulate(
        bars.ts.asi8 // 10**9,
        bars.open, bars.high, bars.low, bars.close,
        signal, strategy.kind, strategy.parameter_array(),
        config.initial_cash, config.mode == "perp", config.fill == "next_open",
        config.fee_bps / 1e4, config.slippage_bps / 1e4, config.leverage, config.maintenance_margin,
        rates, int(config.funding_hours * 3600),
        config.stop_loss, config.take_profit, config.halt_drawdown,
    )  # fmt: skip
    bar, quantity, price, fee, realized, reason = (column[:fill_count] for column in fill_columns)
    bar = bar.astype(np.int64)
    fills = pd.DataFrame(
        {
            "bar": bar,
            "ts": bars.ts[bar],
            "quantity": quantity,
            "price": price,
            "fee": fee,
            "realized_pnl": realized,
            "reason": pd.Categorical.from_codes(reason.astype(np.int64), FILL_REASONS),
        }
    )
    return BacktestResult(
        ts=bars.ts,
        equity=equity,
        units=units,
        fills=fills,
        funding_paid=float(funding),
        halted_at=bars.ts[halted] if halted >= 0 else None,
    )


@njit(cache=True)
def _trade(cash, units, entry, quantity, price, fee_rate):
    """Fill `quantity` (signed) at `price`: the new cash, units and entry, the fee and realized PnL.

    Realized PnL is booked when a position shrinks, net of that fill's fee; the entry price is the
    average cost of what is held, reset when the position flips.
    """
    fee = abs(quantity) * price * fee_rate
    realized = np.nan
    new_units = units + quantity
    if units != 0.0 and np.sign(quantity) != np.sign(units):
        closed = min(abs(quantity), abs(units))
        realized = closed * (price - entry) * np.sign(units) - fee
        if abs(quantity) > abs(units):
            entry = price
        elif new_units == 0.0:
            entry = 0.0
    else:
        entry = (units * entry + quantity * price) / new_units
    return cash - quantity * price - fee, new_units, entry, fee, realized


@njit(cache=True)
def _fillable(target, cash, units, price, fee_rate, perp, leverage):
    """The part of the order towards `target` the account allows at `price`."""
    if perp:
        equity = cash + units * price
        limit = max(equity, 0.0) * leverage / (price * (1.0 + fee_rate * leverage))
        target = min(max(target, -limit), limit)
    quantity = target - units
    if not perp and quantity > 0.0:
        quantity = min(quantity, max(cash, 0.0) / (price * (1.0 + fee_rate)))
    if abs(quantity) * price <= 1e-12 * (abs(cash) + abs(units) * price):
        return 0.0  # rounding noise of a target equal to the position, not an order
    return quantity


@njit(cache=True)
def _record(fills, count, bar, quantity, price, fee, realized, reason):
    fills[0, count] = bar
    fills[1, count] = quantity
    fills[2, count] = price
    fills[3, count] = fee
    fills[4, count] = realized
    fills[5, count] = reason
    return count + 1


@njit(cache=True)
def _simulate(
    ts, open_, high, low, close, signal, kind, params, initial_cash, perp, next_open, fee_rate, slippage,
    leverage, maintenance, funding_rates, funding_seconds, stop_loss, take_profit, halt_drawdown,
):  # fmt: skip
    n = close.shape[0]
    equity_curve = np.empty(n + 1)
    equity_curve[0] = initial_cash
    held = np.empty(n)
    capacity = 3 * n + 1
    fills = np.empty((6, capacity))
    count = 0
    cash, units, entry, peak, funding_paid = initial_cash, 0.0, 0.0, initial_cash, 0.0
    pending = np.nan
    halted = -1
    for t in range(n):
        if perp and t > 0 and units != 0.0:
            events = ts[t] // funding_seconds - ts[t - 1] // funding_seconds
            payment = units * close[t] * funding_rates[t] * events
            cash -= payment
            funding_paid += payment
        if next_open and not np.isnan(pending) and halted < 0:
            side = np.sign(pending - units)
            price = open_[t] * (1.0 + side * slippage)
            quantity = _fillable(pending, cash, units, price, fee_rate, perp, leverage)
            if quantity != 0.0:
                cash, units, entry, fee, realized = _trade(cash, units, entry, quantity, price, fee_rate)
                count = _record(fills, count, t, quantity, price, fee, realized, SIGNAL)
        pending = np.nan
        if units != 0.0:
            direction = np.sign(units)
            level, reason = np.nan, -1
            if stop_loss > 0.0:
                level, reason = entry * (1.0 - direction * stop_loss), STOP_LOSS
            if perp:
                liquidation = -cash / (units * (1.0 - maintenance * direction))
                if liquidation > 0.0 and (np.isnan(level) or direction * (liquidation - level) > 0.0):
                    level, reason = liquidation, LIQUIDATION
            exit_price = np.nan
            if reason >= 0 and direction * (open_[t] - level) <= 0.0:
                exit_price = open_[t]
            elif reason >= 0 and direction * ((low[t] if direction > 0 else high[t]) - level) <= 0.0:
                exit_price = level
            elif take_profit > 0.0:
                target_price = entry * (1.0 + direction * take_profit)
                if direction * (open_[t] - target_price) >= 0.0:
                    exit_price, reason = open_[t], TAKE_PROFIT
                elif direction * ((high[t] if direction > 0 else low[t]) - target_price) >= 0.0:
                    exit_price, reason = target_price, TAKE_PROFIT
            if not np.isnan(exit_price):
                price = exit_price * (1.0 - direction * slippage)
                quantity = -units
                cash, units, entry, fee, realized = _trade(cash, units, entry, quantity, price, fee_rate)
                if reason == LIQUIDATION and cash < 0.0:
                    realized -= cash  # isolated margin: the loss stops at the account's equity
                    cash = 0.0
                count = _record(fills, count, t, quantity, price, fee, realized, reason)
        equity = cash + units * close[t]
        peak = max(peak, equity)
        if halted < 0 and (equity <= 0.0 or (halt_drawdown > 0.0 and equity <= peak * (1.0 - halt_drawdown))):
            halted = t
            if units != 0.0:
                price = close[t] * (1.0 - np.sign(units) * slippage)
                quantity = -units
                cash, units, entry, fee, realized = _trade(cash, units, entry, quantity, price, fee_rate)
                count = _record(fills, count, t, quantity, price, fee, realized, HALT)
        if halted < 0 and not np.isnan(signal[t]):
            target = decide(kind, params, close[t], signal[t], cash, units, equity)
            if next_open:
                pending = target
            else:
                price = close[t] * (1.0 + np.sign(target - units) * slippage)
                quantity = _fillable(target, cash, units, price, fee_rate, perp, leverage)
                if quantity != 0.0:
                    cash, units, entry, fee, realized = _trade(cash, units, entry, quantity, price, fee_rate)
                    count = _record(fills, count, t, quantity, price, fee, realized, SIGNAL)
        equity_curve[t + 1] = cash + units * close[t]
        held[t] = units
    return equity_curve, held, fills, count, funding_paid, halted
