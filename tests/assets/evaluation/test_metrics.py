"""Directional accuracy: whether a forecast moves from the previous close the way the price did."""

import numpy as np
import pytest

from assets.evaluation.metrics import directional_accuracy


def test_counts_the_samples_whose_forecast_moves_the_right_way():
    previous = np.array([100.0, 100.0, 100.0, 100.0])
    actual = np.array([110.0, 90.0, 100.0, 105.0])  # up, down, flat, up
    predicted = np.array([101.0, 95.0, 100.0, 99.0])  # up, down, flat, down: three of four right
    assert directional_accuracy(previous, actual, predicted) == pytest.approx(0.75)


def test_persistence_predicts_no_move_and_scores_only_the_flat_days():
    previous = np.array([100.0, 101.0, 102.0, 102.0])
    actual = np.array([101.0, 102.0, 102.0, 99.0])  # one flat day of four
    assert directional_accuracy(previous, actual, predicted=previous) == pytest.approx(0.25)
