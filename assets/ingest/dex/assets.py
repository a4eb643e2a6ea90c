"""Daily-partitioned DEX ingest: swaps of the configured pools, then bars built from them.

A partition is one UTC day. Its trades come from Solana JSON-RPC when an RPC URL is set, else from
exported trade files; each pool's day is replaced in one transaction, so re-running a day is safe.
"""

from pathlib import Path

import pandas as pd
from dagster import (
    AssetExecutionContext,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from assets.contracts import DexBarsTable, DexTradesTable
from assets.ingest.dex.bars import BAR_FREQUENCIES, bars_from_trades
from assets.ingest.solana.pools import EXAMPLE_POOLS, PoolConfig
from assets.ingest.solana.rpc import SolanaRpc
from assets.ingest.solana.swaps import load_pool_trades
from assets.ingest.solana.trade_files import read_trade_file
from assets.ingest.store import store_load, table_totals
from assets.markdown import markdown_table
from assets.metadata import NEWEST_PARTITION_KEY, column_schema
from assets.warehouse import Partition, read_table
from orchestration.resources import DexSources, WarehouseResource

DEX_START_DATE = "2024-01-01"
daily_partitions = DailyPartitionsDefinition(start_date=DEX_START_DATE, timezone="UTC")
TRADE_FILE_SUFFIXES = (".csv", ".parquet")
POOLS_BY_NAME = {pool.name: pool for pool in EXAMPLE_POOLS}
NO_DEX_SOURCE = "no DEX source configured: set MAMBAQUANT_SOLANA_RPC_URL or MAMBAQUANT_TRADE_FILES"


def configured_pools(names: list[str]) -> list[PoolConfig]:
    """The pools to ingest (all examples when none is named), refusing unknown names."""
    unknown = sorted(set(names) - set(POOLS_BY_NAME))
    if unknown:
        raise Failure(
            f"unknown DEX pool(s) {unknown} in MAMBAQUANT_DEX_POOLS; known: {sorted(POOLS_BY_NAME)}"
        )
    return [POOLS_BY_NAME[name] for name in names] if names else list(EXAMPLE_POOLS)


def _file_trades(folder: Path, pool: PoolConfig, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows of every exported trade file in `folder` that belong to `pool` and the day [start, end)."""
    files = sorted(path for path in folder.iterdir() if path.suffix.lower() in TRADE_FILE_SUFFIXES)
    if not files:
        return pd.DataFrame(columns=list(DexTradesTable.to_schema().columns))
    trades = pd.concat([read_trade_file(path) for path in files], ignore_index=True)
    times = pd.to_datetime(trades["block_time"], utc=True, errors="coerce")
    in_day = (times >= start) & (times < end) | times.isna()  # unreadable times go on to quarantine
    return trades[(trades["pool"] == pool.address) & in_day].reset_index(drop=True)


@asset(group_name="ingest", partitions_def=daily_partitions, kinds={"duckdb", "solana"})
def dex_trades(
    context: AssetExecutionContext, warehouse: WarehouseResource, dex_sources: DexSources
) -> MaterializeResult:
    """Swaps of each configured pool on the partition's day; failed and non-swap transactions counted."""
    start, end = (pd.Timestamp(moment) for moment in context.partition_time_window)
    if not dex_sources.rpc_url and not dex_sources.trade_files_dir:
        raise Failure(NO_DEX_SOURCE)
    reports = []
    with warehouse.get_connection() as conn:
        for pool in configured_pools(dex_sources.pools):
            if dex_sources.rpc_url:
                load = load_pool_trades(SolanaRpc(dex_sources.rpc_url, dex_sources.http()), pool, start, end)
                frame, skipped = load.trades, load.skipped
            else:
                frame, skipped = _file_trades(Path(dex_sources.trade_files_dir), pool, start, end), {}
            partition = Partition({"pool": pool.address}, "block_time", start, end)
            report = store_load(conn, "dex_trades", frame, DexTradesTable, partition)
            reports.append({"pool": pool.name, **report, **{f"skipped_{k}": v for k, v in skipped.items()}})
        totals = table_totals(conn, "dex_trades")
    return MaterializeResult(
        metadata={
            **totals,
            "loads": MetadataValue.md(markdown_table(pd.DataFrame(reports).fillna(0))),
            "dagster/column_schema": column_schema(DexTradesTable),
            NEWEST_PARTITION_KEY: context.partition_key,
        }
    )


@asset(group_name="ingest", partitions_def=daily_partitions, deps=["dex_trades"], kinds={"duckdb"})
def dex_bars(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """1m/1h/1d bars with VWAP, buy/sell volume and cumulative volume delta for the partition's day."""
    start, end = (pd.Timestamp(moment) for moment in context.partition_time_window)
    with warehouse.get_connection() as conn:
        trades = read_table(
            conn,
            "SELECT * FROM dex_trades WHERE block_time >= ? AND block_time < ?",
            [start.to_pydatetime(), end.to_pydatetime()],
        )
        bars = pd.concat(
            [bars_from_trades(trades, interval) for interval in BAR_FREQUENCIES], ignore_index=True
        )
        report = store_load(conn, "dex_bars", bars, DexBarsTable, Partition({}, "ts", start, end))
        totals = table_totals(conn, "dex_bars")
    return MaterializeResult(
        metadata={**report, **totals, "dagster/column_schema": column_schema(DexBarsTable)}
    )
