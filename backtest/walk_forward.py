"""Walk-forward windows: retrain every `step_days`, test on the next `step_days`, purge in between.

Window k tests the days [start_k, start_k + step_days). Its model is fitted on everything before,
with the last `val_days` targets held out for early stopping, and a purged gap: the newest target
the model was fitted on lies more than `gap_days` + the input window before the first test target,
so no test input day was ever a training target (DESIGN.md: a gap of at least the input window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models.splits import CRYPTOMAMBA_WINDOW, Split


@dataclass(frozen=True)
class WalkForwardPlan:
    first_test_day: date
    last_day: date  # the newest day with data
    step_days: int = 30
    gap_days: int = CRYPTOMAMBA_WINDOW
    val_days: int = 120
    window: int = CRYPTOMAMBA_WINDOW

    def __post_init__(self) -> None:
        if self.step_days < 2 or self.gap_days < 0 or self.val_days < 2:
            raise ValueError("walk-forward: step_days and val_days must be >= 2, gap_days >= 0")

    def test_starts(self) -> list[date]:
        """First test day of every window that has at least two test targets."""
        starts = []
        start = self.first_test_day
        while start + timedelta(days=1) < self.last_day:
            starts.append(start)
            start += timedelta(days=self.step_days)
        return starts

    def splits(self, data_start: date, test_start: date) -> tuple[Split, Split, Split]:
        """Train, validation and test day ranges of the window testing from `test_start`.

        A split's first `window` days are inputs only and its last day is never a target (the
        paper's sample convention, `models.splits.window_targets`), hence the offsets below.
        """
        test_end = min(test_start + timedelta(days=self.step_days), self.last_day)
        val_end = test_start - timedelta(days=self.window + self.gap_days + 1)
        val_start = val_end - timedelta(days=self.val_days + self.window)
        train_end = val_start - timedelta(days=1)
        if (train_end - data_start).days < 2 * self.window + 1:
            raise ValueError(
                f"walk-forward window from {test_start}: only {(train_end - data_start).days + 1} "
                f"training days from {data_start}; start the walk later"
            )
        return (
            Split("train", data_start, train_end),
            Split("val", val_start, val_end),
            Split("test", test_start - timedelta(days=self.window), test_end),
        )
