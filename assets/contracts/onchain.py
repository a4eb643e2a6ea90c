"""Contracts of the on-chain tables: every signal transaction sent, and the books read back from chain."""

import pandera.pandas as pa
from pandera.typing import Series

from assets.contracts.types import Text, UtcTimestamp

BPS = 10_000


class SignalTransactionsTable(pa.DataFrameModel):
    """One row per `push_signal` transaction, accepted or refused by the program (with its error)."""

    signature: Text = pa.Field(str_length={"min_value": 64, "max_value": 88}, description="base58 signature")
    run_id: Text = pa.Field(description="Dagster run that sent it")
    cluster: Text = pa.Field(description="'local' (LiteSVM) or the RPC cluster")
    program_id: Text
    symbol: Text = pa.Field(str_length={"min_value": 1, "max_value": 16})
    sequence: Series[int] = pa.Field(ge=1, description="signal generation time in ms: replays are refused")
    signal_ts: UtcTimestamp
    target_position: Series[float] = pa.Field(ge=-1, le=1, description="fraction of equity asked for")
    target_lots: Series[int]
    price: Series[float] = pa.Field(gt=0, description="USD per base unit")
    price_units: Series[int] = pa.Field(gt=0, description="quote units (micro-USD) per lot")
    confidence_bps: Series[int] = pa.Field(ge=0, le=BPS)
    jitter_secs: Series[float] = pa.Field(ge=0, description="random delay before submission")
    submitted_at: UtcTimestamp
    accepted: Series[bool]
    error_name: Text = pa.Field(nullable=True, description="the program's error when refused")
    compute_units: Series[int] = pa.Field(ge=0)

    class Config:
        strict = True
        coerce = True
        unique = ["signature"]


class PaperLedgerTable(pa.DataFrameModel):
    """Each book as read back from chain after a run: the paper-trading history, one row per read."""

    as_of: UtcTimestamp
    cluster: Text
    symbol: Text = pa.Field(str_length={"min_value": 1, "max_value": 16})
    position_lots: Series[int]
    position: Series[float] = pa.Field(description="base units (lots x lot size)")
    avg_entry: Series[float] = pa.Field(ge=0, description="USD per base unit; 0 when flat")
    realized_pnl: Series[float] = pa.Field(description="USD")
    equity: Series[float] = pa.Field(description="USD, marked at the last accepted signal's price")
    high_water_mark: Series[float]
    day_start_equity: Series[float]
    capital: Series[float] = pa.Field(gt=0)
    halted: Series[bool]
    last_sequence: Series[int] = pa.Field(ge=0)
    last_signal_ts: UtcTimestamp

    class Config:
        strict = True
        coerce = True
        unique = ["as_of", "cluster", "symbol"]
