import numpy as np
import pytest

from models.metrics import directional_accuracy, forecast_errors


def test_errors_match_hand_computation():
    errors = forecast_errors(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert errors.samples == 2
    assert errors.rmse == pytest.approx(np.sqrt((10**2 + 20**2) / 2))
    assert errors.mae == pytest.approx(15.0)
    assert errors.mape == pytest.approx((10 / 100 + 20 / 200) / 2 * 100)


@pytest.mark.parametrize(
    ("actual", "predicted", "message"),
    [
        ([1.0, 2.0], [1.0], "equal"),
        ([], [], "non-empty"),
        ([1.0, np.nan], [1.0, 2.0], "finite"),
        ([0.0, 2.0], [1.0, 2.0], "actual value is 0"),
    ],
)
def test_bad_inputs_are_refused(actual, predicted, message):
    with pytest.raises(ValueError, match=message):
        forecast_errors(np.array(actual), np.array(predicted))


def test_counts_the_samples_whose_forecast_moves_the_right_way():
    previous = np.array([100.0, 100.0, 100.0, 100.0])
    actual = np.array([110.0, 90.0, 100.0, 105.0])  # up, down, flat, up
    predicted = np.array([101.0, 95.0, 100.0, 99.0])  # up, down, flat, down: three of four right
    assert directional_accuracy(previous, actual, predicted) == pytest.approx(0.75)


def test_persistence_predicts_no_move_and_scores_only_the_flat_days():
    previous = np.array([100.0, 101.0, 102.0, 102.0])
    actual = np.array([101.0, 102.0, 102.0, 99.0])  # one flat day of four
    assert directional_accuracy(previous, actual, predicted=previous) == pytest.approx(0.25)
