"""Exposure rules: classifier policy, Gaussian class probabilities, Kelly without look-ahead."""

import numpy as np
import pytest
from scipy.stats import norm

from backtest.sizing import buy_and_hold, classifier_policy, forecast_class_probabilities, kelly_exposure


def test_buy_and_hold_decides_once():
    exposure = buy_and_hold(4)
    assert exposure[0] == 1 and np.isnan(exposure[1:]).all()


def test_classifier_policy_needs_the_confidence_threshold():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.3, 0.4, 0.3]])
    assert np.array_equal(classifier_policy(probabilities, 0.6), [0.0, 1.0, np.nan], equal_nan=True)
    assert classifier_policy(probabilities, 0.6, long_only=False)[0] == -1.0
    with pytest.raises(ValueError, match="expected \\(bars, 3\\)"):
        classifier_policy(probabilities[:, :2], 0.6)


def test_forecast_class_probabilities_are_gaussian_tails():
    probabilities = forecast_class_probabilities(np.array([102.0]), np.array([100.0]), 0.02, 0.01)
    assert probabilities[0, 2] == pytest.approx(1 - norm.cdf((0.01 - 0.02) / 0.02))
    assert probabilities[0, 0] == pytest.approx(norm.cdf((-0.01 - 0.02) / 0.02))
    assert probabilities.sum() == pytest.approx(1.0)


def test_kelly_fraction_from_the_track_record():
    # Every call is "up"; prices alternate +2% and -1%, so p = 1/2, b = 2, f* = (0.5*2 - 0.5)/2 = 0.25.
    steps = np.tile([1.02, 0.99], 50)
    price = 100 * np.cumprod(np.r_[1.0, steps])
    forecast = price * 1.05
    exposure = kelly_exposure(forecast, price, lookback=40, min_calls=20, max_drawdown=1.0)
    assert exposure[:20].tolist() == [0.0] * 20  # too few settled calls
    assert exposure[-2] == pytest.approx(0.25)
    capped = kelly_exposure(forecast, price, lookback=40, min_calls=20, max_drawdown=0.001)
    assert capped[-2] == pytest.approx(0.001 / 0.01)  # f_safe = max_dd / expected loss


def test_kelly_never_looks_ahead():
    rng = np.random.default_rng(3)
    price = 100 * np.cumprod(1 + rng.normal(0, 0.02, 200))
    forecast = price * (1 + rng.normal(0, 0.02, 200))
    before = kelly_exposure(forecast, price, min_calls=5)
    changed = price.copy()
    changed[120:] *= 1.5
    after = kelly_exposure(forecast, changed, min_calls=5)
    np.testing.assert_array_equal(before[:120], after[:120])
