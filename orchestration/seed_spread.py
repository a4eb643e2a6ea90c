"""Table IV's Mamba rows over several seeds: is a model's edge over persistence more than one seed's luck?

Run: `.venv/bin/python -m orchestration.seed_spread [--models cryptomamba cryptomamba-v] [--seeds 23 ...]`.
Each variant trains once per seed with its profile's settings otherwise unchanged. The published seed
(23) resumes from Table IV's checkpoints; the others checkpoint under `<artifacts>/checkpoints/
<profile>/seed-<seed>/`, so an interrupted run resumes. Prints every run's test errors beside
persistence, then per variant the mean, standard deviation and range of the test RMSE and how many
seeds beat persistence, and writes both tables to `<artifacts>/reports/seed_spread.md`.

Two columns say whether a model does more than repeat the last close: `direction %`, how often its
forecast moves from the last close the way the price did (persistence: 0 by construction; the
header gives the share of up days, what always forecasting a rise would score), and `move %`, how far
its forecast moves from the last close on average, next to the price's own average move.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from assets.markdown import markdown_table
from models.metrics import directional_accuracy, forecast_errors
from models.samples import build_window_samples
from orchestration.settings import Settings
from orchestration.table_iv import (
    NEURAL_VARIANTS,
    fitted_forecasts,
    paper_daily_bars,
    parse_arguments,
    publish,
    split_header,
)

DEFAULT_MODELS = ["cryptomamba", "cryptomamba-v"]
DEFAULT_SEEDS = [23, 24, 25, 26, 27]


def seed_runs(
    variants: list[str], seeds: list[int], profile: str, settings: Settings, bars: pd.DataFrame
) -> pd.DataFrame:
    """One row of test errors per (variant, seed), after persistence's, which no seed changes."""
    rows = [_run_row("persistence", None, profile, settings, bars)]
    persistence_rmse = rows[0]["RMSE"]
    for name in variants:
        for seed in seeds:
            row = _run_row(name, seed, profile, settings, bars)
            row["vs persistence %"] = 100 * (row["RMSE"] / persistence_rmse - 1)
            row["beats persistence"] = "yes" if row["RMSE"] < persistence_rmse else "NO"
            rows.append(row)
            print(markdown_table(pd.DataFrame([row])), flush=True)
    return pd.DataFrame(rows)


def _run_row(
    name: str, seed: int | None, profile: str, settings: Settings, bars: pd.DataFrame
) -> dict[str, object]:
    report, samples, predicted = fitted_forecasts(name, profile, settings, bars, seed)
    test = samples.in_split("test")
    previous, actual = samples.previous_close[test], samples.target[test]
    errors = forecast_errors(actual, predicted[test])
    return {
        "model": name,
        "seed": "" if seed is None else str(seed),
        "RMSE": errors.rmse,
        "MAPE %": errors.mape,
        "MAE": errors.mae,
        "vs persistence %": 0.0,
        "direction %": 100 * directional_accuracy(previous, actual, predicted[test]),
        "move %": _mean_move_pct(previous, predicted[test]),
        "epochs (best)": f"{report.epochs_run} ({report.best_epoch})" if report.epochs_run else "",
        "train s": round(report.seconds, 1),
        "beats persistence": "",
    }


def _mean_move_pct(previous: np.ndarray, value: np.ndarray) -> float:
    """Mean absolute move from the last close, in percent of it."""
    return float(np.mean(np.abs(value / previous - 1)) * 100)


def price_moves(bars: pd.DataFrame) -> str:
    """How the price itself moved over the test split: the yardsticks of `direction %` and `move %`."""
    samples = build_window_samples(bars, with_volume=False)
    test = samples.in_split("test")
    previous, actual = samples.previous_close[test], samples.target[test]
    up, move = float(np.mean(actual > previous) * 100), _mean_move_pct(previous, actual)
    return f"the close rose on {up:.1f} % of test days and moved {move:.3f} % a day"


def seed_spread(runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant: how its test RMSE spreads over the seeds, and how often it beats persistence."""
    trained = runs[runs["model"] != "persistence"]
    return pd.DataFrame(
        {
            "model": model,
            "seeds": len(group),
            "mean RMSE": group["RMSE"].mean(),
            "std RMSE": group["RMSE"].std(),  # sample standard deviation (n - 1)
            "min RMSE": group["RMSE"].min(),
            "max RMSE": group["RMSE"].max(),
            "mean MAPE %": group["MAPE %"].mean(),
            "mean MAE": group["MAE"].mean(),
            "mean direction %": group["direction %"].mean(),
            "beats persistence": f"{(group['beats persistence'] == 'yes').sum()} of {len(group)}",
        }
        for model, group in trained.groupby("model", sort=False)
    )


def main() -> None:
    args = parse_arguments(__doc__, models=DEFAULT_MODELS, seeds=DEFAULT_SEEDS, choices=NEURAL_VARIANTS)
    settings = Settings.from_env()
    bars = paper_daily_bars(settings.data_dir)
    runs = seed_runs(args.models, args.seeds, args.profile, settings, bars)
    text = (
        f"{split_header(bars)}, profile `{args.profile}`, seeds {' '.join(map(str, args.seeds))}; "
        f"{price_moves(bars)}\n\n"
        + markdown_table(runs, float_format="{:,.3f}")
        + "\n\nOver the seeds (standard deviation with n - 1):\n\n"
        + markdown_table(seed_spread(runs), float_format="{:,.3f}")
        + "\n"
    )
    publish(text, settings, "seed_spread.md")


if __name__ == "__main__":
    main()
