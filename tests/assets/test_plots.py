"""Figures for the UI: a single shared moment gets a readable time axis."""

import pandas as pd

from assets.plots import lines_figure, single_moment_window


def _at(*moments: str) -> pd.Series:
    return pd.Series(10_000.0, index=pd.DatetimeIndex(moments, tz="UTC"))


def test_one_moment_is_shown_within_a_day():
    curves = {"BTC-USD": _at("2026-12-03 02:00"), "ETH-USD": _at("2026-12-03 02:00")}
    low, high = single_moment_window(curves)
    assert (low.isoformat(), high.isoformat()) == ("2026-12-02T14:00:00+00:00", "2026-12-03T14:00:00+00:00")
    assert lines_figure(curves, "paper equity", "read at", "equity (USD)").startswith(b"\x89PNG")


def test_a_span_of_moments_or_numbers_keeps_the_automatic_axis():
    assert single_moment_window({"BTC-USD": _at("2026-12-02", "2026-12-03")}) is None
    assert single_moment_window({"maml": pd.Series([1.0], index=[0])}) is None
