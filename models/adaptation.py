"""How fast each learner adapts to a new regime, measured on held-out test tasks.

- Query RMSE against the number of support updates (0, 1, 2, 5, 10) and against the support size.
- Bars needed to recover after a regime change: a task starts where its regime starts, so a support
  of s samples is the first s bars of the new regime; recovery is the smallest s whose mean query
  RMSE is within 5% of the learner's RMSE with the full support.
- A paired comparison with HyperMamba over the same tasks: the mean per-task RMSE difference with a
  95% t-interval, and the share of tasks where HyperMamba is better.
- Trading on the query windows: the paper's Vanilla rule (threshold 0) on each learner's forecasts,
  through the backtester, next to buy-and-hold, fee 0.

Persistence (a zero return forecast) is always in the tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats

from backtest.engine import Bars, run_backtest
from backtest.strategies import exposure, vanilla
from models.meta_learning import Learner
from models.tasks import Task

STEP_GRID = (0, 1, 2, 5, 10)
SUPPORT_GRID = (0, 6, 12, 24, 48)
REPORT_STEPS = 5
REFERENCE = "hypermamba"
PERSISTENCE = "persistence"
RECOVERY_TOLERANCE = 0.05


def task_rmse(predicted: torch.Tensor, task: Task) -> float:
    return float(torch.sqrt(torch.mean((predicted - task.query_y) ** 2)))


def _predict(learner: Learner | None, task: Task, steps: int, support: int | None = None) -> torch.Tensor:
    if learner is None:  # persistence: tomorrow's price is today's, a zero return
        return torch.zeros_like(task.query_y)
    return learner.predict(task, steps, support)


def per_task_rmse(
    learners: dict[str, Learner | None], tasks: list[Task], steps: int, support: int | None = None
) -> pd.DataFrame:
    """(tasks x learners) query RMSE."""
    return pd.DataFrame(
        {
            name: [task_rmse(_predict(learner, task, steps, support), task) for task in tasks]
            for name, learner in learners.items()
        },
        index=[task.task_id for task in tasks],
    )


def mean_with_interval(values: np.ndarray) -> tuple[float, float, float]:
    """Mean and its 95% t-interval."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))
    return mean, mean - half, mean + half


def steps_errors(learners: dict[str, Learner | None], tasks: list[Task]) -> dict[int, pd.DataFrame]:
    """Per-task query RMSE at every budget of STEP_GRID; the curve and the paired test both read it."""
    return {steps: per_task_rmse(learners, tasks, steps) for steps in STEP_GRID}


def steps_curve(errors_by_steps: dict[int, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for steps, errors in errors_by_steps.items():
        for name in errors.columns:
            mean, low, high = mean_with_interval(errors[name].to_numpy())
            rows.append({"learner": name, "steps": steps, "query_rmse": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def support_curve(learners: dict[str, Learner | None], tasks: list[Task]) -> pd.DataFrame:
    rows = []
    for size in SUPPORT_GRID:
        errors = per_task_rmse(learners, tasks, REPORT_STEPS, support=size)
        rows += [
            {"learner": name, "support": size, "query_rmse": float(errors[name].mean())} for name in learners
        ]
    return pd.DataFrame(rows)


def recovery_bars(curve: pd.DataFrame) -> pd.Series:
    """Per learner: the fewest bars of a new regime after which its query RMSE is within 5% of its best."""
    recovered = {}
    for name, rows in curve.sort_values("support").groupby("learner"):
        full = rows["query_rmse"].iloc[-1]
        within = rows[rows["query_rmse"] <= full * (1 + RECOVERY_TOLERANCE)]
        recovered[name] = int(within["support"].iloc[0])
    return pd.Series(recovered, name="bars_to_recover")


def paired_comparison(errors: pd.DataFrame) -> pd.DataFrame:
    """Each learner's per-task RMSE minus HyperMamba's (positive: HyperMamba better).

    `errors`: (tasks x learners) query RMSE, from `steps_errors(...)[REPORT_STEPS]`.
    """
    rows = []
    for name in errors.columns:
        if name == REFERENCE:
            continue
        difference = (errors[name] - errors[REFERENCE]).to_numpy()
        mean, low, high = mean_with_interval(difference)
        rows.append(
            {
                "learner": name,
                "tasks": len(difference),
                "mean rmse minus hypermamba": mean,
                "ci_low": low,
                "ci_high": high,
                "hypermamba better on": float(np.mean(difference > 0)),
                "p (paired t)": float(stats.ttest_rel(errors[name], errors[REFERENCE]).pvalue)
                if len(difference) > 1
                else np.nan,
            }
        )
    return pd.DataFrame(rows)


def query_trading(learners: dict[str, Learner | None], tasks: list[Task]) -> pd.DataFrame:
    """Mean return over the query windows trading each learner's forecasts, and buy-and-hold."""
    returns: dict[str, list[float]] = {name: [] for name in [*learners, "buy_and_hold"]}
    for task in tasks:
        close = np.r_[task.query_close, task.query_close[-1] * np.exp(task.query_y[-1].item() / 100.0)]
        ts = pd.date_range("2000-01-01", periods=len(close), freq="h", tz="UTC")  # spacing only
        bars = Bars.from_closes(ts, close)
        for name, learner in learners.items():
            predicted = _predict(learner, task, REPORT_STEPS).numpy()
            forecast = np.r_[task.query_close * np.exp(predicted / 100.0), np.nan]
            returns[name].append(run_backtest(bars, forecast, vanilla(threshold=0.0)).final_equity / 100 - 1)
        hold = np.r_[1.0, np.full(len(close) - 1, np.nan)]
        returns["buy_and_hold"].append(run_backtest(bars, hold, exposure()).final_equity / 100 - 1)
    return pd.DataFrame(
        [{"learner": name, "mean query return": float(np.mean(values))} for name, values in returns.items()]
    )
