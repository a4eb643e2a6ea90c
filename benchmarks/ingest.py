"""Contract-checked ingest of DEX trades vs a raw DuckDB insert of the same Arrow table.

Run: `.venv/bin/python -m benchmarks.ingest [--rows N]`. Prints rows/s, the ratio to the raw insert
and peak memory per case. Each case runs in a fresh process so its peak resident memory (above the
memory the generated Arrow table already uses) is its own. Every write goes to a DuckDB file, as the
pipeline's do: an in-memory database would skip the compression and checkpoint that dominate a write.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as arrow

from assets.contracts import DexTradesTable
from assets.ingest.solana.pools import RAYDIUM_SOL_USDC
from assets.markdown import markdown_table
from assets.validation import validate_rows
from assets.warehouse import Partition, replace_partition

BASE58_ALPHABET = np.frombuffer(b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", dtype="S1")
DAY = pd.Timestamp("2024-03-01", tz="UTC")
TRADER_POOL_SIZE = 20_000  # distinct wallets: a busy pool sees the same traders again and again


def _base58(rng: np.random.Generator, count: int, length: int) -> np.ndarray:
    """Random base58 strings of one length (signatures are 87 to 88 characters, addresses 43 to 44)."""
    letters = BASE58_ALPHABET[rng.integers(0, len(BASE58_ALPHABET), size=(count, length))]
    return letters.view(f"S{length}").ravel().astype(str)


def synthetic_trades(rows: int, seed: int = 0) -> arrow.Table:
    """One day of swaps in the SOL/USDC Raydium pool that honour the `dex_trades` contract."""
    rng = np.random.default_rng(seed)
    pool = RAYDIUM_SOL_USDC
    base_amount = rng.lognormal(0.0, 1.5, rows) + 1e-6
    quote_amount = base_amount * 150 * np.exp(np.cumsum(rng.normal(0, 1e-4, rows)))
    nanoseconds = np.sort(rng.integers(0, 86_400 * 10**9, rows))
    return arrow.table(
        {
            "signature": _base58(rng, rows, 88),
            "instruction_index": rng.integers(0, 4, rows),
            "slot": 250_000_000 + nanoseconds // 400_000_000,
            "block_time": arrow.array(DAY.value + nanoseconds, arrow.timestamp("ns", tz="UTC")),
            "pool": arrow.array([pool.address] * rows),
            "program": arrow.array([pool.program_id] * rows),
            "base_mint": arrow.array([pool.base_mint] * rows),
            "quote_mint": arrow.array([pool.quote_mint] * rows),
            "side": arrow.array(np.where(rng.random(rows) < 0.5, "buy", "sell")),
            "base_amount": base_amount,
            "quote_amount": quote_amount,
            "price": quote_amount / base_amount,
            "trader": _base58(rng, TRADER_POOL_SIZE, 44)[rng.integers(0, TRADER_POOL_SIZE, rows)],
        }
    )


def _as_frame(trades: arrow.Table) -> pd.DataFrame:
    """The frame a loader hands over: text stays in Arrow memory, as the contract's `Text` type wants."""
    return trades.to_pandas(types_mapper={arrow.string(): pd.StringDtype("pyarrow")}.get)


def _connect(database: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(str(database))
    conn.execute("SET enable_progress_bar = false")
    return conn


def _raw_insert(trades: arrow.Table, database: Path) -> None:
    with _connect(database) as conn:
        conn.register("incoming", trades)
        conn.execute("CREATE TABLE dex_trades AS SELECT * FROM incoming")


def _contract_only(trades: arrow.Table, database: Path) -> None:
    rows = validate_rows(_as_frame(trades), DexTradesTable)
    assert rows.rejected.empty, rows.rejected.head()


def _contract_insert(trades: arrow.Table, database: Path) -> None:
    partition = Partition({"pool": RAYDIUM_SOL_USDC.address}, "block_time", DAY, DAY + pd.Timedelta(days=1))
    with _connect(database) as conn:
        rows = validate_rows(_as_frame(trades), DexTradesTable)
        replace_partition(conn, "dex_trades", rows, partition)


CASES = {
    "raw DuckDB insert (Arrow table)": _raw_insert,
    "contract only (no write)": _contract_only,
    "contract + partition write": _contract_insert,
}
RAW = "raw DuckDB insert (Arrow table)"


def _resident_kib(field: str) -> int:
    """`VmRSS` (now) or `VmHWM` (peak since the last reset) of this process, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} missing from /proc/self/status")


def _measure(case: str, rows: int, results: multiprocessing.Queue) -> None:
    trades = synthetic_trades(rows)
    # Writing 5 to clear_refs resets the peak, so generating the input does not count as the case's.
    Path("/proc/self/clear_refs").write_text("5")
    baseline_kib = _resident_kib("VmRSS")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        CASES[case](trades, Path(folder) / "bench.duckdb")
        seconds = time.perf_counter() - started
    results.put((case, seconds, (_resident_kib("VmHWM") - baseline_kib) / 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    measured = {}
    for case in CASES:
        results = context.Queue()
        process = context.Process(target=_measure, args=(case, args.rows, results))
        process.start()
        name, seconds, peak_mib = results.get()
        process.join()
        measured[name] = (seconds, peak_mib)
    raw_seconds = measured[RAW][0]
    table = pd.DataFrame(
        [
            {
                "case": name,
                "rows": f"{args.rows:,}",
                "seconds": seconds,
                "rows/s": f"{args.rows / seconds:,.0f}",
                "x raw": seconds / raw_seconds,
                "peak MiB above input": peak_mib,
            }
            for name, (seconds, peak_mib) in measured.items()
        ]
    )
    print(markdown_table(table, float_format="{:,.2f}"))


if __name__ == "__main__":
    main()
