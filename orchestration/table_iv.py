"""The CryptoMamba paper's Table IV again: 5 models with and without volume, beside the paper and persistence.

Run: `.venv/bin/python -m orchestration.table_iv [--profile paper] [--models cryptomamba-v gru ...]`.
Reads the Yahoo BTC-USD daily file through the `ohlcv` contract, trains each variant with the
`paper` profile (checkpoints under the artifacts folder, so an interrupted run resumes), and writes
the table to stdout and to `<artifacts>/reports/table_iv.md`. Our scaler sees the training split only,
where the published code scaled over all splits; see the README for what that changes.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numba
import numpy as np
import pandas as pd
import torch

from assets.contracts import OhlcvTable
from assets.ingest.market.yahoo import read_yahoo_daily
from assets.markdown import markdown_table
from assets.validation import validate_rows
from models.atomic import write_atomically
from models.forecasters import FitReport, Forecaster, PersistenceForecaster
from models.metrics import forecast_errors
from models.registry import NEURAL_MODELS, PROFILES, TABLE_IV_MODELS, ModelVariant, build_forecaster
from models.samples import WindowSamples, build_window_samples
from models.training import TrainingConfig
from orchestration.resources import BTC_USD_DAILY_FILE
from orchestration.settings import Settings

# Test-split RMSE, MAPE (%) and MAE as published (paper, Table IV; the code's README lists the same).
PAPER_TEST = {
    "lstm": (2672.7, 3.609, 2094.3),
    "bilstm": (2325.6, 3.072, 1778.8),
    "gru": (1892.4, 2.385, 1371.2),
    "smamba": (1717.4, 2.248, 1239.9),
    "cryptomamba": (1713.0, 2.171, 1200.9),
    "lstm-v": (2202.1, 2.896, 1668.9),
    "bilstm-v": (2080.2, 2.738, 1562.5),
    "gru-v": (1978.0, 2.526, 1454.3),
    "smamba-v": (1651.6, 2.215, 1209.7),
    "cryptomamba-v": (1598.1, 2.034, 1120.7),
}
TABLE_IV_VARIANTS = [f"{model}{suffix}" for suffix in ("", "-v") for model in TABLE_IV_MODELS]
NEURAL_VARIANTS = [f"{model}{suffix}" for suffix in ("", "-v") for model in NEURAL_MODELS]
"""The variants a seed changes."""
ALL_VARIANTS = ["persistence", "arima", *NEURAL_VARIANTS]


def paper_daily_bars(data_dir: Path) -> pd.DataFrame:
    """The paper's Yahoo BTC-USD daily bars, coerced through the `ohlcv` contract (bad rows dropped)."""
    return validate_rows(read_yahoo_daily(data_dir / BTC_USD_DAILY_FILE, "BTC-USD"), OhlcvTable).valid


def fitted_forecaster(
    name: str, profile: str, settings: Settings, bars: pd.DataFrame, seed: int | None = None
) -> tuple[Forecaster, FitReport, WindowSamples]:
    """Fit one variant on its samples, resuming from its checkpoint under the artifacts folder.
    A `seed` other than the profile's trains and checkpoints apart, under `seed-<seed>/`."""
    if name == "persistence":
        forecaster: Forecaster = PersistenceForecaster()
        samples = build_window_samples(bars, with_volume=False)
        checkpoint = None
    else:
        variant = ModelVariant.parse(name)
        samples = build_window_samples(bars, variant.with_volume)
        forecaster = build_forecaster(variant, profile, seed=seed)  # type: ignore[arg-type]
        folder = settings.artifacts / "checkpoints" / profile
        if seed is not None and seed != TrainingConfig.seed:
            folder = folder / f"seed-{seed}"
        checkpoint = folder / f"{name}.pt"
    return forecaster, forecaster.fit(samples, checkpoint), samples


def fitted_forecasts(
    name: str, profile: str, settings: Settings, bars: pd.DataFrame, seed: int | None = None
) -> tuple[FitReport, WindowSamples, np.ndarray]:
    """`fitted_forecaster`'s fit and samples, and its forecast of every sample."""
    forecaster, report, samples = fitted_forecaster(name, profile, settings, bars, seed)
    return report, samples, forecaster.predict(samples)


def split_header(bars: pd.DataFrame) -> str:
    """The test split's first and last target days and its sample count, as the table scores them."""
    samples = build_window_samples(bars, with_volume=False)
    days = samples.ts[samples.in_split("test")]
    return f"Test split {days[0]:%Y-%m-%d}..{days[-1]:%Y-%m-%d} ({len(days)} samples)"


def reproduce(variants: list[str], profile: str, settings: Settings, bars: pd.DataFrame) -> pd.DataFrame:
    """Train each variant on `bars` (resuming from checkpoints) and score every model on the test split."""
    rows = []
    for name in ["persistence", *variants]:
        rows.append(_row(name, *fitted_forecasts(name, profile, settings, bars)))
        print(markdown_table(pd.DataFrame(rows[-1:])), flush=True)
    return pd.DataFrame(rows)


def _row(name: str, report: FitReport, samples: WindowSamples, predicted: np.ndarray) -> dict[str, object]:
    test = samples.in_split("test")
    errors = forecast_errors(samples.target[test], predicted[test])
    paper = PAPER_TEST.get(name, ("",) * 3)  # persistence is not in the paper's table
    return {
        "model": name,
        "RMSE": errors.rmse,
        "paper RMSE": paper[0],
        "MAPE %": errors.mape,
        "paper MAPE %": paper[1],
        "MAE": errors.mae,
        "paper MAE": paper[2],
        "params": report.parameters,
        "epochs (best)": f"{report.epochs_run} ({report.best_epoch})" if report.epochs_run else "",
        "train s": round(report.seconds, 1),
    }


def parse_arguments(
    description: str,
    models: list[str] = TABLE_IV_VARIANTS,
    seeds: list[int] | None = None,
    choices: list[str] = ALL_VARIANTS,
) -> argparse.Namespace:
    """The paper scripts' options (profile, models out of `choices`, threads, and `--seeds` where
    `seeds` gives its default), with threads and logging applied."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", choices=PROFILES, default="paper")
    parser.add_argument(
        "--models",
        nargs="+",
        default=models,
        choices=choices,
        metavar="NAME",
        help=f"any of {', '.join(choices)}",
    )
    if seeds is not None:
        parser.add_argument("--seeds", nargs="+", type=int, default=seeds, metavar="SEED")
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads (training gives them to the Mamba kernels, and torch one); use 1 per "
        "process when running several at once (oversubscribed cores make thread pools ten times slower)",
    )
    args = parser.parse_args()
    args.models = list(dict.fromkeys(args.models))  # a name or seed given twice would run twice
    if seeds is not None:
        args.seeds = list(dict.fromkeys(args.seeds))
    if args.threads:
        torch.set_num_threads(args.threads)
        numba.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return args


def publish(text: str, settings: Settings, name: str) -> None:
    """Print a paper table and write it to the reports folder."""
    print("\n" + text)
    path = settings.artifacts / "reports" / name
    write_atomically(path, lambda file: file.write(text.encode()))
    print(f"written to {path}")


def main() -> None:
    args = parse_arguments(__doc__)
    settings = Settings.from_env()
    bars = paper_daily_bars(settings.data_dir)
    table = reproduce(args.models, args.profile, settings, bars)
    persistence_rmse = float(table.loc[table["model"] == "persistence", "RMSE"].iloc[0])
    beats = (table["RMSE"] < persistence_rmse).map({True: "yes", False: "NO"})
    table["beats persistence"] = beats.where(table["model"] != "persistence", "")
    text = (
        f"{split_header(bars)}, profile `{args.profile}`\n\n"
        + markdown_table(table, float_format="{:,.3f}")
        + "\n"
    )
    publish(text, settings, "table_iv.md")


if __name__ == "__main__":
    main()
