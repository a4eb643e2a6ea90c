"""Indicators are scale-free and context is joined as of each close, never later."""

import numpy as np
import pandas as pd
import pytest

from assets.features.technical import CPI_SERIES, EUR_USD_SERIES, asof_context, indicators


def _bars(close: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.date_range("2024-01-01", periods=len(close), freq="D", tz="UTC"),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": np.linspace(100, 200, len(close)),
        }
    )


def test_indicators_do_not_depend_on_the_price_level():
    close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.02, 120)))
    low, high = indicators(_bars(close), 14), indicators(_bars(close * 1000), 14)
    pd.testing.assert_frame_equal(low, high, rtol=1e-9)
    assert low["rsi"].dropna().between(0, 1).all()
    assert low["log_return"].iloc[1] == pytest.approx(np.log(close[1] / close[0]))


@pytest.mark.parametrize("window", [14, 24])
def test_atr_and_adx_are_missing_until_their_windows_fill_not_zero(window: int):
    close = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.02, 120)))
    frame = indicators(_bars(close), window)
    assert frame["atr"].isna().sum() == window - 1 and frame["atr"].iloc[window - 1] > 0
    assert frame["adx"].isna().sum() == 2 * window - 1 and frame["adx"].iloc[2 * window - 1] > 0
    assert (frame[["atr", "adx"]].dropna() > 0).all().all()


def test_context_is_the_newest_value_released_by_the_close():
    closes = pd.Series(pd.to_datetime(["2024-03-01 00:00", "2024-03-02 00:00", "2024-03-03 00:00"], utc=True))
    released = pd.to_datetime(["2024-02-29T12:00:00", "2024-03-02T00:00:00", "2024-03-02T00:00:01"], utc=True)
    macro = pd.DataFrame(
        {
            "series_id": EUR_USD_SERIES,
            "period_start": released.normalize(),
            "value": [1.0, 2.0, 3.0],
            "released_at": released,
        }
    )
    empty = {
        "sentiment": ["known_at", "vader_mean"],
        "fear_greed": ["released_at", "value"],
        "dex": ["known_at", "cvd"],
    }
    frames = {name: pd.DataFrame(columns=columns) for name, columns in empty.items()}
    context = asof_context(closes, macro, frames["sentiment"], frames["fear_greed"], frames["dex"])
    # Released exactly at the close counts; a second later waits for the next bar.
    assert context["eur_usd"].tolist() == [1.0, 2.0, 3.0]
    assert context["sentiment"].isna().all()


def test_cpi_enters_as_year_on_year_change_at_its_release():
    periods = pd.date_range("2023-01-01", periods=14, freq="MS", tz="UTC")
    macro = pd.DataFrame(
        {
            "series_id": CPI_SERIES,
            "period_start": periods,
            "value": np.r_[np.full(12, 100.0), 103.0, 104.0],
            "released_at": periods + pd.Timedelta(days=45),
        }
    )
    closes = pd.Series([periods[12] + pd.Timedelta(days=44), periods[12] + pd.Timedelta(days=46)])
    empty = pd.DataFrame(columns=["known_at", "vader_mean"])
    context = asof_context(
        closes,
        macro,
        empty,
        pd.DataFrame(columns=["released_at", "value"]),
        pd.DataFrame(columns=["known_at", "cvd"]),
    )
    assert np.isnan(context["cpi_yoy"].iloc[0])
    assert context["cpi_yoy"].iloc[1] == pytest.approx(0.03)
