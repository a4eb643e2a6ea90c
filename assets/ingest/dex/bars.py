"""OHLCV bars with order flow (VWAP, buy/sell volume, cumulative volume delta) from DEX swaps."""

import numpy as np
import pandas as pd

from assets.contracts import DexBarsTable

BAR_FREQUENCIES = {"1m": "min", "1h": "h", "1d": "D"}

# Trades in one block keep their on-chain order: slot, then signature and instruction.
_TRADE_ORDER = ["pool", "block_time", "slot", "signature", "instruction_index"]


def bars_from_trades(trades: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Bars of `interval` per pool in the `dex_bars` contract's columns.

    A bar exists only where at least one trade happened (no forward-filled empty bars: a DEX pool
    with no swaps has no price, and inventing one would look like data). CVD restarts at 00:00 UTC
    so a day's bars depend on that day's trades alone, as the daily partitions require.
    """
    columns = list(DexBarsTable.to_schema().columns)
    if trades.empty:
        return pd.DataFrame(columns=columns)
    ordered = trades.sort_values(_TRADE_ORDER, kind="stable")
    buy = ordered["side"].eq("buy").to_numpy()
    base = ordered["base_amount"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "pool": ordered["pool"].to_numpy(),
            "ts": ordered["block_time"].dt.floor(BAR_FREQUENCIES[interval]).to_numpy(),
            "price": ordered["price"].to_numpy(dtype=float),
            "base": base,
            "quote": ordered["quote_amount"].to_numpy(dtype=float),
            "buy": np.where(buy, base, 0.0),
            "sell": np.where(buy, 0.0, base),
        }
    )
    bars = (
        frame.groupby(["pool", "ts"], sort=True)
        .agg(
            open=("price", "first"),
            high=("price", "max"),
            low=("price", "min"),
            close=("price", "last"),
            base_volume=("base", "sum"),
            quote_volume=("quote", "sum"),
            trade_count=("price", "size"),
            buy_base_volume=("buy", "sum"),
            sell_base_volume=("sell", "sum"),
        )
        .reset_index()
    )
    bars["interval"] = interval
    bars["vwap"] = bars["quote_volume"] / bars["base_volume"]
    day = bars["ts"].dt.floor("D")
    bars["cvd"] = (bars["buy_base_volume"] - bars["sell_base_volume"]).groupby([bars["pool"], day]).cumsum()
    return bars[columns]
