"""Contract-checked ingest vs a raw DuckDB insert of the same rows: rows/s, ratio, peak memory.

Run: `.venv/bin/python -m benchmarks.ingest [--rows N]`. Each case runs in a fresh process so its
peak resident memory (above the memory the generated input already uses) is its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from assets.contracts import OhlcvTable
from assets.metadata import markdown_table
from assets.validation import validate_rows
from assets.warehouse import Partition, replace_partition


def synthetic_minute_bars(rows: int, seed: int = 0) -> pd.DataFrame:
    """A random-walk BTC minute series that honours the `ohlcv` contract."""
    rng = np.random.default_rng(seed)
    close = 30_000 * np.exp(np.cumsum(rng.normal(0, 1e-3, rows)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "symbol": "BTC-USD",
            "interval": "1m",
            "ts": pd.date_range("2020-01-01", periods=rows, freq="min", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.0005,
            "low": np.minimum(open_, close) * 0.9995,
            "close": close,
            "volume": rng.uniform(0, 50, rows),
            "source": "synthetic",
        }
    )


def _raw_insert(frame: pd.DataFrame, database: Path) -> None:
    with duckdb.connect(str(database)) as conn:
        conn.execute("CREATE TABLE ohlcv AS SELECT * FROM frame")


def _contract_insert(frame: pd.DataFrame, database: Path) -> None:
    with duckdb.connect(str(database)) as conn:
        replace_partition(conn, "ohlcv", validate_rows(frame, OhlcvTable), Partition({"symbol": "BTC-USD"}))


CASES = {"raw DuckDB insert": _raw_insert, "contract + partition write": _contract_insert}


def _measure(case: str, rows: int, results: multiprocessing.Queue) -> None:
    frame = synthetic_minute_bars(rows)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        CASES[case](frame, Path(folder) / "bench.duckdb")
        seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    results.put((case, seconds, (peak_kib - baseline_kib) / 1024))


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
    raw_seconds = measured["raw DuckDB insert"][0]
    table = pd.DataFrame(
        [
            {
                "case": name,
                "rows": args.rows,
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
