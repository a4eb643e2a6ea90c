"""Time splits and the CryptoMamba sample convention.

The paper's numbers are computed on windowed samples: inside each split, a sample is `window`
consecutive bars of input and the next bar as target, and the published dataset class yields
`len(split) - window - 1` of them (it never targets the split's last bar). Evaluating on exactly
those targets is what makes our figures comparable with the paper's Table IV.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Split:
    """A named, inclusive range of calendar days (UTC)."""

    name: str
    first_day: date
    last_day: date


CRYPTOMAMBA_SPLITS = (
    Split("train", date(2018, 9, 17), date(2022, 9, 16)),
    Split("val", date(2022, 9, 17), date(2023, 9, 16)),
    Split("test", date(2023, 9, 17), date(2024, 9, 15)),
)
CRYPTOMAMBA_WINDOW = 14


def window_targets(
    ts: pd.Series, splits: tuple[Split, ...] = CRYPTOMAMBA_SPLITS, window: int = CRYPTOMAMBA_WINDOW
) -> pd.DataFrame:
    """Row positions of the target bars of every windowed sample, with the split each belongs to.

    `ts` holds sorted daily bar times (UTC). A split with a missing day is refused: a window that
    silently spans a gap would not be the sample the paper evaluated.
    """
    days = ts.dt.tz_convert("UTC").dt.date
    parts = []
    for split in splits:
        positions = np.flatnonzero(((days >= split.first_day) & (days <= split.last_day)).to_numpy())
        _require_consecutive_days(ts.iloc[positions], split)
        targets = positions[window : max(window, len(positions) - 1)]
        parts.append(pd.DataFrame({"position": targets, "split": split.name}))
    return pd.concat(parts, ignore_index=True)


def _require_consecutive_days(ts: pd.Series, split: Split) -> None:
    steps = ts.diff().dropna()
    gaps = steps[steps != pd.Timedelta(days=1)]
    if not gaps.empty:
        after = ts.loc[gaps.index[0]]
        raise ValueError(f"split {split.name!r} is not a run of consecutive days: a gap ends at {after}")
