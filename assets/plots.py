"""Figures the assets show: rendered to PNG, written atomically to the reports folder and shown in the UI.

Dagster renders Markdown metadata, so an image travels as a base64 data URL inside a Markdown entry
and appears on the asset's page without any file server.
"""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever rendered to files

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from dagster import MetadataValue

SPLIT_COLOURS = {"train": "#e8f0fe", "val": "#fef7e0", "test": "#fce8e6"}


def forecast_figure(
    ts: pd.DatetimeIndex, actual: np.ndarray, predicted: np.ndarray, split: np.ndarray, title: str
) -> bytes:
    """Forecast against actual close over every split, each split shaded (the paper's Figures 2-3)."""
    figure, axes = plt.subplots(figsize=(11, 4.2), dpi=100)
    try:
        for name, colour in SPLIT_COLOURS.items():
            days = ts[split == name]
            if len(days):
                axes.axvspan(days[0], days[-1], color=colour, label=name, zorder=0)
        axes.plot(ts, actual, color="#202124", linewidth=1.0, label="actual close")
        axes.plot(ts, predicted, color="#d93025", linewidth=0.9, alpha=0.85, label="forecast")
        axes.set_title(title)
        axes.set_ylabel("USD")
        axes.legend(loc="upper left", ncols=5, fontsize=8)
        axes.grid(alpha=0.3)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def image_metadata(png: bytes, caption: str) -> MetadataValue:
    """A PNG as a Markdown entry the Dagster UI displays inline."""
    encoded = base64.b64encode(png).decode("ascii")
    return MetadataValue.md(f"![{caption}](data:image/png;base64,{encoded})")
