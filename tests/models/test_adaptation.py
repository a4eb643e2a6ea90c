"""Adaptation measurements: intervals, recovery, paired comparisons and trading on query windows."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from torch import nn

from models import adaptation
from models.meta_learning import Learner
from models.tasks import EMBEDDING_COLUMNS, Task


class _Constant(nn.Module):
    """Forecasts the same return for every sample."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.tensor(value))

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.value.expand(inputs.shape[0])


def _tasks() -> list[Task]:
    tasks = []
    for task_id, level in enumerate([0.5, 1.0, 1.5, 2.0]):
        x = torch.zeros(8, 3, 2)
        y = torch.full((8,), level)
        close = 100 * np.exp(np.cumsum(np.full(4, level / 100)))
        tasks.append(Task(task_id, torch.zeros(len(EMBEDDING_COLUMNS)), x[:4], y[:4], x[4:], y[4:], close))
    return tasks


def test_mean_with_interval_is_the_t_interval():
    values = np.array([1.0, 2.0, 4.0, 7.0])
    mean, low, high = adaptation.mean_with_interval(values)
    expected = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert mean == 3.5 and (low, high) == pytest.approx(expected)


def test_recovery_is_the_first_support_size_within_five_percent_of_the_best():
    curve = pd.DataFrame(
        {"learner": "a", "support": [0, 6, 12, 24, 48], "query_rmse": [2.0, 1.5, 1.04, 1.02, 1.0]}
    )
    assert adaptation.recovery_bars(curve)["a"] == 12


def test_adapting_learner_improves_with_steps_and_wins_the_paired_comparison():
    tasks = _tasks()
    learners = {
        adaptation.PERSISTENCE: None,
        "hypermamba": Learner(
            "hypermamba", _Constant(0.0), adapted=("value",), inner_lr=0.5, max_gradient_norm=10
        ),
        "global": Learner("global", _Constant(0.0)),
    }
    errors = adaptation.steps_errors(learners, tasks)
    curve = adaptation.steps_curve(errors).set_index(["learner", "steps"])["query_rmse"]
    assert curve[("hypermamba", 5)] < curve[("hypermamba", 0)] == curve[("global", 0)]
    paired = adaptation.paired_comparison(errors[adaptation.REPORT_STEPS]).set_index("learner")
    assert paired.loc["global", "mean rmse minus hypermamba"] > 0
    assert paired.loc["global", "hypermamba better on"] == 1.0


def test_trading_on_query_windows_reports_buy_and_hold():
    tasks = _tasks()
    learners = {adaptation.PERSISTENCE: None, "long": Learner("long", _Constant(1.0))}
    trading = adaptation.query_trading(learners, tasks).set_index("learner")["mean query return"]
    assert trading[adaptation.PERSISTENCE] == 0.0  # a zero forecast never buys
    assert trading["long"] == pytest.approx(trading["buy_and_hold"])  # always long: buy and hold
    assert trading["buy_and_hold"] > 0
