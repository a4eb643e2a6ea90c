"""Model-test fixtures: the shipped Yahoo BTC-USD daily bars, read and checked as the pipeline does, and
torch on two threads (the thread policy's tests)."""

from collections.abc import Iterator

import pandas as pd
import pytest
import torch

from models.samples import WindowSamples, build_window_samples
from orchestration.table_iv import paper_daily_bars
from tests.conftest import SHIPPED_DATA_DIR


@pytest.fixture(scope="session")
def daily_bars() -> pd.DataFrame:
    return paper_daily_bars(SHIPPED_DATA_DIR)


@pytest.fixture(scope="session")
def samples_with_volume(daily_bars: pd.DataFrame) -> WindowSamples:
    return build_window_samples(daily_bars, with_volume=True)


@pytest.fixture
def two_torch_threads() -> Iterator[None]:
    """Torch on two threads for the test, as on CI's 2-core host; its count is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)
