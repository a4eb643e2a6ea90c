"""Model speed: training time of the `paper` profile per model, and streaming latency per new bar.

Run: `.venv/bin/python -m benchmarks.models [--epochs N] [--threads T] [--models cryptomamba-v ...]`.
Training time is measured on the real Yahoo samples with the paper's settings (batch 32) over N
epochs and projected to the profile's full epoch count (every epoch does the same work). Streaming
latency is one `step()` of the time-axis CryptoMamba for one new daily bar, batch 1, median of many.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

import pandas as pd
import torch

from assets.markdown import markdown_table
from models.cpu_scan_library import cpu_kernels_available
from models.cryptomamba import CryptoMamba
from models.forecasters import NeuralForecaster
from models.registry import ModelVariant, build_forecaster, training_config
from models.samples import build_window_samples
from orchestration.settings import Settings
from orchestration.table_iv import paper_daily_bars


def training_seconds(model: str, epochs: int) -> dict[str, object]:
    """Time `epochs` paper-profile epochs of `model` and project the full profile."""
    variant = ModelVariant.parse(model)
    data_dir = Settings.from_env().data_dir
    bars = paper_daily_bars(data_dir)
    samples = build_window_samples(bars, variant.with_volume)
    paper = training_config(variant, "paper")
    forecaster = build_forecaster(variant, "paper", progress=False)
    assert isinstance(forecaster, NeuralForecaster)
    forecaster.config = replace(paper, epochs=epochs)
    report = forecaster.fit(samples)
    per_epoch = report.seconds / epochs
    return {
        "model": model,
        "epochs timed": epochs,
        "s/epoch": per_epoch,
        "paper epochs": paper.epochs,
        "projected paper-profile minutes": per_epoch * paper.epochs / 60,
    }


def streaming_latency_ms(bars: int = 2000) -> float:
    """Median milliseconds for one new bar through the time-axis CryptoMamba's `step`."""
    torch.manual_seed(0)
    model = CryptoMamba(num_features=6, scan_axis="time").eval()
    stream = model.allocate_stream(batch_size=1)
    days = torch.randn(bars, 1, 6)
    timings = []
    with torch.inference_mode():
        for day in days:
            started = time.perf_counter()
            model.step(day, stream)
            timings.append(time.perf_counter() - started)
    return statistics.median(timings[100:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=["cryptomamba-v"])
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads to train on: the Mamba kernels use them all, torch one (models/cpu_threads.py)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{args.threads} thread(s)")
    # Built once per host and cached: a first run would otherwise count the compile as training.
    started = time.perf_counter()
    cpu_kernels_available()
    print(f"C kernels ready in {time.perf_counter() - started:.1f} s (built on first use, then cached)")
    rows = [training_seconds(model, args.epochs) for model in args.models]
    print(markdown_table(pd.DataFrame(rows), float_format="{:,.2f}"))
    print(
        f"\nstreaming: {streaming_latency_ms():.3f} ms per new bar (time-axis CryptoMamba, batch 1, median)"
    )


if __name__ == "__main__":
    main()
