"""The CryptoMamba paper's Table VI again: $100 traded on each model's forecasts, next to buy-and-hold.

Run: `.venv/bin/python -m orchestration.table_vi [--profile paper] [--models cryptomamba-v ...]`.
Fits (or resumes from the checkpoints `orchestration.table_iv` leaves) each variant, forecasts the
validation and test years, and trades the forecasts with the paper's Vanilla, Smart and Smart-with-
short rules at no fee and at 0.1% per trade, starting with $100 at each split's first decision.
Prints and writes `<artifacts>/reports/table_vi.md`, with the paper's published figures beside ours.
"""

from __future__ import annotations

import pandas as pd

from assets.markdown import markdown_table
from assets.training.forecasts import predictions_frame
from backtest.experiments import PAPER_STRATEGIES, backtest_predictions, balance_table
from orchestration.settings import Settings
from orchestration.table_iv import fitted_forecasts, paper_daily_bars, parse_arguments, publish

# Test year, no fee, as published (paper, Table VI and Section V-C).
PAPER_TEST_BALANCE = {
    ("cryptomamba-v", "vanilla"): 246.58,
    ("cryptomamba-v", "smart"): 213.20,
    ("cryptomamba-v", "smart_w_short"): 262.78,
    ("-", "buy_and_hold"): 222.51,
}


def reproduce(variants: list[str], profile: str, settings: Settings) -> pd.DataFrame:
    """Backtest summaries of every variant's validation and test forecasts (fees 0 and 0.1%)."""
    bars = paper_daily_bars(settings.data_dir)
    frames = []
    for name in variants:
        _, samples, predicted = fitted_forecasts(name, profile, settings, bars)
        frames.append(predictions_frame(name, samples, predicted, run_id=f"table_vi/{profile}"))
    ohlc = bars[["ts", "open", "high", "low"]]
    summary, _ = backtest_predictions(
        pd.concat(frames, ignore_index=True), ohlc, rules=(*PAPER_STRATEGIES, "buy_and_hold")
    )
    return summary


def main() -> None:
    args = parse_arguments(__doc__)
    settings = Settings.from_env()
    table = balance_table(reproduce(args.models, args.profile, settings))
    paper = pd.Series(PAPER_TEST_BALANCE)
    table["paper test $ (fee 0)"] = [paper.get((row.model, row.strategy), "") for row in table.itertuples()]
    text = (
        f"$100 at the first decision of each split, profile `{args.profile}`; fees in basis points\n\n"
        + markdown_table(table, float_format="{:,.2f}")
        + "\n"
    )
    publish(text, settings, "table_vi.md")


if __name__ == "__main__":
    main()
