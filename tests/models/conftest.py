"""Daily bars for model tests: the shipped Yahoo BTC-USD file, read and checked as the pipeline does."""

import pandas as pd
import pytest

from assets.contracts import OhlcvTable
from assets.ingest.market.yahoo import read_yahoo_daily
from assets.validation import validate_rows
from models.samples import WindowSamples, build_window_samples
from orchestration.resources import BTC_USD_DAILY_FILE
from tests.conftest import SHIPPED_DATA_DIR


@pytest.fixture(scope="session")
def daily_bars() -> pd.DataFrame:
    return validate_rows(read_yahoo_daily(SHIPPED_DATA_DIR / BTC_USD_DAILY_FILE, "BTC-USD"), OhlcvTable).valid


@pytest.fixture(scope="session")
def samples_with_volume(daily_bars: pd.DataFrame) -> WindowSamples:
    return build_window_samples(daily_bars, with_volume=True)
