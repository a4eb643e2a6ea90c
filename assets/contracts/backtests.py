"""Contracts of the `backtests` and `equity_curves` tables: each model's forecasts traded."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp

RUN_KEY = ["model", "symbol", "split", "strategy", "fee_bps"]


class BacktestsTable(pa.DataFrameModel):
    """One row per model, symbol, split, strategy and fee. Buy-and-hold has no model ('')."""

    model: Text = pa.Field(description="forecasting model; empty for buy-and-hold")
    symbol: Text = pa.Field(str_length={"min_value": 1})
    split: Text = pa.Field(isin=["val", "test"])
    strategy: Text = pa.Field(str_length={"min_value": 1})
    fee_bps: Series[float] = pa.Field(ge=0, description="fee per trade, basis points of notional")
    final_balance: Series[float] = pa.Field(ge=0, description="from $100 at the split's first decision")
    total_return: Series[float] = pa.Field(ge=-1)
    annualized_return: Series[float] = pa.Field(ge=-1, nullable=True, description="NaN over a single bar")
    sharpe: Series[float] = pa.Field(nullable=True)
    sortino: Series[float] = pa.Field(nullable=True)
    calmar: Series[float] = pa.Field(nullable=True)
    max_drawdown: Series[float] = pa.Field(ge=0, le=1)
    win_rate: Series[float] = pa.Field(ge=0, le=1, nullable=True)
    profit_factor: Series[float] = pa.Field(ge=0, nullable=True)
    trades: Series[int] = pa.Field(ge=0)
    exposure: Series[float] = pa.Field(ge=0, le=1)
    turnover: Series[float] = pa.Field(ge=0)
    fees: Series[float] = pa.Field(ge=0)
    funding: Series[float]

    class Config:
        strict = True
        coerce = True
        unique = RUN_KEY


class EquityCurvesTable(pa.DataFrameModel):
    """The balance at each decision bar's close, for plots and for comparing runs."""

    model: Text
    symbol: Text = pa.Field(str_length={"min_value": 1})
    split: Text = pa.Field(isin=["val", "test"])
    strategy: Text = pa.Field(str_length={"min_value": 1})
    fee_bps: Series[float] = pa.Field(ge=0)
    ts: UtcTimestamp
    equity: Series[float] = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True
        unique = [*RUN_KEY, "ts"]
