"""Daily bars for model tests: the shipped Yahoo BTC-USD file, read and checked as the pipeline does."""

import pandas as pd
import pytest

from models.samples import WindowSamples, build_window_samples
from orchestration.table_iv import paper_daily_bars
from tests.conftest import SHIPPED_DATA_DIR


@pytest.fixture(scope="session")
def daily_bars() -> pd.DataFrame:
    return paper_daily_bars(SHIPPED_DATA_DIR)


@pytest.fixture(scope="session")
def samples_with_volume(daily_bars: pd.DataFrame) -> WindowSamples:
    return build_window_samples(daily_bars, with_volume=True)
