"""Figures the assets show: rendered to PNG, written atomically to the reports folder and shown in the UI.

Dagster renders Markdown metadata, so an image travels as a base64 data URL inside a Markdown entry
and appears on the asset's page without any file server.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")  # no display: figures are only ever rendered to files

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from dagster import MetadataValue
from matplotlib.axes import Axes

SPLIT_COLOURS = {"train": "#e8f0fe", "val": "#fef7e0", "test": "#fce8e6"}


def forecast_figure(
    ts: pd.DatetimeIndex, actual: np.ndarray, predicted: np.ndarray, split: np.ndarray, title: str
) -> bytes:
    """Forecast against actual close over every split, each split shaded (the paper's Figures 2-3)."""

    def draw(axes: Axes) -> None:
        for name, colour in SPLIT_COLOURS.items():
            days = ts[split == name]
            if len(days):
                axes.axvspan(days[0], days[-1], color=colour, label=name, zorder=0)
        axes.plot(ts, actual, color="#202124", linewidth=1.0, label="actual close")
        axes.plot(ts, predicted, color="#d93025", linewidth=0.9, alpha=0.85, label="forecast")
        axes.set_ylabel("USD")

    return _render(draw, title, legend_columns=5)


def equity_figure(curves: dict[str, pd.Series], title: str, start: float) -> bytes:
    """Each model's (or strategy's) balance over time, buy-and-hold dashed (the paper's Figures 4-5)."""

    def draw(axes: Axes) -> None:
        for label, equity in curves.items():
            benchmark = label == "buy and hold"
            axes.plot(
                equity.index,
                equity.to_numpy(),
                linewidth=1.6 if benchmark else 1.1,
                linestyle="--" if benchmark else "-",
                color="#202124" if benchmark else None,
                label=label,
            )
        axes.axhline(start, color="#d93025", linestyle=":", linewidth=0.9)
        axes.set_ylabel("balance ($)")

    return _render(draw, title, legend_columns=4)


REGIME_COLOURS = ("#1e8e3e", "#f9ab00", "#d93025", "#9334e6", "#1a73e8")


def regime_figure(ts: pd.Series, close: np.ndarray, regime: np.ndarray, title: str) -> bytes:
    """Close price on a log scale, each bar coloured by its regime (0 = calmest)."""

    def draw(axes: Axes) -> None:
        for label in np.unique(regime):
            mask = regime == label
            colour = REGIME_COLOURS[int(label) % len(REGIME_COLOURS)]
            axes.scatter(ts[mask], close[mask], s=1.5, color=colour, label=f"regime {label}")
        axes.set_yscale("log")
        axes.set_ylabel("close (log scale)")

    return _render(draw, title, legend_columns=5)


def lines_figure(curves: dict[str, pd.Series], title: str, x_label: str, y_label: str) -> bytes:
    """One marked line per series over a shared x axis (e.g. query loss against adaptation steps)."""

    def draw(axes: Axes) -> None:
        for label, series in curves.items():
            axes.plot(series.index, series.to_numpy(), marker="o", linewidth=1.2, label=label)
        window = single_moment_window(curves)
        if window is not None:
            axes.set_xlim(*window)
        axes.set_xlabel(x_label)
        axes.set_ylabel(y_label)

    return _render(draw, title, legend_columns=3)


def single_moment_window(curves: dict[str, pd.Series]) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """A day around the one moment all points share (the paper ledger after its first read), or None.

    Given a single date, matplotlib widens the axis by years on each side and the point is lost
    among empty tick labels.
    """
    moments = pd.Index([moment for series in curves.values() for moment in series.index])
    if not isinstance(moments, pd.DatetimeIndex) or moments.empty or moments.min() != moments.max():
        return None
    half_day = pd.Timedelta(hours=12)
    return moments[0] - half_day, moments[0] + half_day


def _render(draw: Callable[[Axes], None], title: str, legend_columns: int) -> bytes:
    figure, axes = plt.subplots(figsize=(11, 4.2), dpi=100)
    try:
        draw(axes)
        axes.set_title(title)
        axes.legend(loc="upper left", ncols=legend_columns, fontsize=8)
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
