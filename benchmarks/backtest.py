"""Backtest engine throughput: bars per second on one core, per strategy and account mode.

Run: `.venv/bin/python -m benchmarks.backtest [--bars 1000000] [--repeats 5]`.
A random-walk minute series with high/low wiggle and a noisy forecast of the next close; each case
runs once to compile (numba, cached on disk) and is then timed `repeats` times, best taken. The
engine is single-threaded by construction (one path-dependent loop), so this is one core's figure.
Sizing rules that are computed before the loop (Kelly, classifier) are timed with that step.
"""

import argparse
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from assets.markdown import markdown_table
from backtest.engine import Bars, EngineConfig, run_backtest
from backtest.sizing import kelly_exposure
from backtest.strategies import exposure, smart, smart_with_short, vanilla

TARGET_BARS_PER_SECOND = 1_000_000


def synthetic_market(bars: int, seed: int = 0) -> tuple[Bars, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, bars)))
    wiggle = np.abs(rng.normal(0, 0.0005, bars))
    ts = pd.date_range("2020-01-01", periods=bars, freq="min", tz="UTC")
    forecast = np.r_[close[1:], np.nan] * (1 + rng.normal(0, 0.002, bars))
    return Bars(ts, close, close * (1 + wiggle), close * (1 - wiggle), close), forecast


def cases(market: Bars, forecast: np.ndarray) -> dict[str, Callable[[], object]]:
    fees = EngineConfig(fee_bps=4, slippage_bps=1)
    perp = EngineConfig(mode="perp", leverage=100, fee_bps=4, stop_loss=0.01, take_profit=0.02)
    return {
        "vanilla (spot, fees)": lambda: run_backtest(market, forecast, vanilla(0.001), fees),
        "smart (spot, fees)": lambda: run_backtest(market, forecast, smart(0.002), fees),
        "smart w/ short (spot)": lambda: run_backtest(market, forecast, smart_with_short(0.002), fees),
        "vanilla next open": lambda: run_backtest(
            market, forecast, vanilla(0.001), EngineConfig(fill="next_open", fee_bps=4)
        ),
        "kelly (perp 100x, stops, funding)": lambda: run_backtest(
            market,
            kelly_exposure(forecast, market.close, max_leverage=100, long_only=False),
            exposure(),
            perp,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    market, forecast = synthetic_market(args.bars)
    rows = []
    for name, run in cases(market, forecast).items():
        result = run()  # compile, and the fills for the table
        best = min(_seconds(run) for _ in range(args.repeats))
        rows.append(
            {
                "case": name,
                "bars": args.bars,
                "fills": len(result.fills),
                "seconds": best,
                "bars/s": f"{args.bars / best:,.0f}",
                "target": f">= {TARGET_BARS_PER_SECOND:,}" if "kelly" not in name else "",
            }
        )
    print(markdown_table(pd.DataFrame(rows), float_format="{:.4f}"))


def _seconds(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
