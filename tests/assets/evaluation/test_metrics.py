"""The metrics table's rows: errors and direction per split, cost from the model's training run."""

import numpy as np
import pandas as pd
import pytest

from assets.evaluation.metrics import metrics_from_predictions


def test_each_split_gets_its_errors_direction_and_the_runs_cost():
    previous = [100.0, 100.0, 100.0, 100.0, 200.0, 200.0]
    actual = [110.0, 90.0, 105.0, 95.0, 210.0, 190.0]
    predicted = [104.0, 97.0, 99.0, 96.0, 190.0, 195.0]  # test: 3 of 4 directions right; val: 1 of 2
    predictions = pd.DataFrame(
        {
            "model": "gru-v",
            "symbol": "BTC-USD",
            "split": ["test"] * 4 + ["val"] * 2,
            "previous_close": previous,
            "actual": actual,
            "predicted": predicted,
        }
    )
    runs = pd.DataFrame(
        {"model": ["gru-v"], "symbol": ["BTC-USD"], "parameters": [153_701], "training_seconds": [12.5]}
    )
    rows = metrics_from_predictions(predictions, runs).set_index("split")
    assert list(rows.index) == ["val", "test"]  # the splits in time order
    test = rows.loc["test"]
    errors = np.array(predicted[:4]) - np.array(actual[:4])
    assert test["samples"] == 4
    assert test["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert test["mae"] == pytest.approx(np.mean(np.abs(errors)))
    assert (test["directional_accuracy"], rows.loc["val", "directional_accuracy"]) == (0.75, 0.5)
    assert (test["parameters"], test["training_seconds"]) == (153_701, 12.5)
