import numpy as np
import pytest

from models.persistence import persistence_forecast


def test_forecast_is_previous_close():
    close = np.array([10.0, 11.0, 12.0, 13.0])
    np.testing.assert_array_equal(persistence_forecast(close, np.array([1, 3])), [10.0, 12.0])


def test_first_bar_has_no_forecast():
    with pytest.raises(ValueError, match="position 0"):
        persistence_forecast(np.array([1.0, 2.0]), np.array([0, 1]))
