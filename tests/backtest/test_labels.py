"""Triple-barrier and ordinal labels on hand-made paths."""

import numpy as np
import pytest

from backtest.labels import ordinal_direction, triple_barrier


def test_triple_barrier_first_touch_decides():
    close = np.array([100, 101, 99] + [100.0] * 9)
    high, low = close.copy(), close.copy()
    low[4] = 70
    high[7] = 130
    labels = triple_barrier(close, high, low, horizon=3, upper=1.0, lower=1.0, volatility_span=3)
    assert np.isnan(labels.label[:2]).all()  # no volatility yet
    assert (labels.label[2], labels.touched_after[2]) == (-1, 2)
    assert (labels.label[3], labels.touched_after[3]) == (-1, 1)
    assert (labels.label[5], labels.touched_after[5]) == (1, 2)
    assert (labels.label[6], labels.touched_after[6]) == (1, 1)
    assert (labels.label[8], labels.touched_after[8]) == (0, 3)  # flat at the vertical barrier
    assert np.isnan(labels.label[-3:]).all()  # the horizon runs past the data


def test_triple_barrier_vertical_barrier_takes_the_sign_of_the_return():
    close = np.array([100, 100.5, 100.3, 100.2, 100.1, 100.6])
    labels = triple_barrier(close, close, close, horizon=2, upper=50, lower=50, volatility_span=2)
    assert labels.label[2] == -1 and labels.touched_after[2] == 2
    assert labels.label[3] == 1


def test_a_bar_touching_both_barriers_counts_as_the_lower():
    close = np.array([100, 102, 100, 100, 100.0])
    high = np.array([100, 102, 100, 150, 100.0])
    low = np.array([100, 102, 100, 50, 100.0])
    labels = triple_barrier(close, high, low, horizon=1, upper=1, lower=1, volatility_span=2)
    assert labels.label[2] == -1


def test_ordinal_direction_classes():
    close = np.array([100, 104, 105.5, 104.0, 103.0, 51.5])
    classes = ordinal_direction(close, flat=0.01, strong=0.03)
    assert classes[:5].tolist() == [4, 3, 1, 2, 0]
    assert np.isnan(classes[-1])
    with pytest.raises(ValueError, match="flat"):
        ordinal_direction(close, flat=0.05, strong=0.03)
