"""Performance of a backtest: returns, risk-adjusted ratios, drawdown and trading activity.

The return statistics follow empyrical's definitions (the tests check them against
empyrical-reloaded): simple per-bar returns of the equity curve, Sharpe with the sample standard
deviation, Sortino against a zero target, annualised by compounding, Calmar = annual return /
max drawdown. Crypto trades every day, so daily bars annualise with 365 periods.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from backtest.engine import BacktestResult

DAILY_PERIODS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Performance:
    final_balance: float
    total_return: float
    annualized_return: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float  # a positive fraction of the peak
    win_rate: float  # share of position-reducing fills with a profit, net of fees
    profit_factor: float  # gross profit / gross loss of those fills
    trades: int  # fills of any kind
    exposure: float  # share of bars ending with a position
    turnover: float  # traded notional / mean equity
    fees: float
    funding: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def performance(result: BacktestResult, periods_per_year: float = DAILY_PERIODS_PER_YEAR) -> Performance:
    equity = result.equity
    per_bar = bar_to_bar(equity)
    returns = simple_returns(per_bar)
    annual = annualized_return(per_bar, periods_per_year)
    drawdown = max_drawdown(equity)
    realized = result.fills["realized_pnl"].dropna().to_numpy()
    gains, losses = realized[realized > 0].sum(), -realized[realized < 0].sum()
    notional = float(np.abs(result.fills["quantity"] * result.fills["price"]).sum())
    return Performance(
        final_balance=float(equity[-1]),
        total_return=float(equity[-1] / equity[0] - 1.0),
        annualized_return=annual,
        sharpe=sharpe_ratio(returns, periods_per_year),
        sortino=sortino_ratio(returns, periods_per_year),
        calmar=annual / drawdown if drawdown > 0 else np.nan,
        max_drawdown=drawdown,
        win_rate=float(np.mean(realized > 0)) if len(realized) else np.nan,
        profit_factor=float(gains / losses) if losses > 0 else (np.inf if gains > 0 else np.nan),
        trades=len(result.fills),
        exposure=float(np.mean(result.units != 0.0)) if len(result.units) else 0.0,
        turnover=notional / float(np.mean(equity)),
        fees=float(result.fills["fee"].sum()),
        funding=result.funding_paid,
    )


def bar_to_bar(equity: np.ndarray) -> np.ndarray:
    """The equity curve one bar apart: the initial cash, then the marks from the second close on.

    The engine's curve starts with the cash before the first close and then marks every close, but
    nothing can happen between the two first points except a trade at that close: they are the same
    moment. Counted as a period, that instant would add a day to every annualisation and a return
    (the first trade's fee, or 0) to Sharpe and Sortino. Here the first day's return runs from the
    initial cash to the second close, so the fee stays in it.
    """
    return np.r_[equity[:1], equity[2:]]


def simple_returns(equity: np.ndarray) -> np.ndarray:
    """Per-bar returns; a bar after the account is wiped out returns 0, not a division by zero."""
    previous = equity[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(previous > 0, equity[1:] / previous - 1.0, 0.0)


def annualized_return(equity: np.ndarray, periods_per_year: float) -> float:
    """Compound growth per year; undefined (NaN) over no time at all, -1 once the account is wiped out."""
    years = (len(equity) - 1) / periods_per_year
    if years <= 0:
        return np.nan
    growth = equity[-1] / equity[0]
    return float(growth ** (1.0 / years) - 1.0) if growth > 0 else -1.0


def sharpe_ratio(returns: np.ndarray, periods_per_year: float) -> float:
    if len(returns) < 2:
        return np.nan
    spread = np.std(returns, ddof=1)
    return float(np.mean(returns) / spread * np.sqrt(periods_per_year)) if spread > 0 else np.nan


def sortino_ratio(returns: np.ndarray, periods_per_year: float) -> float:
    if len(returns) == 0:
        return np.nan
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    return float(np.mean(returns) / downside * np.sqrt(periods_per_year)) if downside > 0 else np.nan


def max_drawdown(equity: np.ndarray) -> float:
    peak = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peak))
