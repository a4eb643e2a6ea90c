"""Markdown tables: header, rule, and floats in the format asked for, everything else as written."""

import numpy as np
import pandas as pd

from assets.markdown import markdown_table


def test_markdown_table_formats_floats_and_leaves_other_cells_as_they_are() -> None:
    frame = pd.DataFrame(
        {"model": ["persistence", "cryptomamba"], "rmse": [1568.5, 1575.7912], "epochs": [0, 582]}
    )
    assert markdown_table(frame, float_format="{:,.2f}").splitlines() == [
        "| model | rmse | epochs |",
        "|---|---|---|",
        "| persistence | 1,568.50 | 0 |",
        "| cryptomamba | 1,575.79 | 582 |",
    ]


def test_missing_values_are_a_dash_and_nullable_counts_stay_whole() -> None:
    frame = pd.DataFrame({"learner": ["maml", "buy_and_hold"], "tasks": [18, None], "return": [0.1, None]})
    frame = frame.astype({"tasks": "Int64"})
    assert markdown_table(frame, float_format="{:.4f}").splitlines()[2:] == [
        "| maml | 18 | 0.1000 |",
        "| buy_and_hold | — | — |",
    ]


def test_every_kind_of_missing_value_is_a_dash_and_narrow_floats_are_formatted() -> None:
    frame = pd.DataFrame(
        {"when": [pd.NaT], "narrow": [np.float32(np.nan)], "wide": [np.float32(0.5)]}, dtype=object
    )
    assert markdown_table(frame, float_format="{:.2f}").splitlines()[2] == "| — | — | 0.50 |"
