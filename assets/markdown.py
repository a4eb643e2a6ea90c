"""Markdown tables of data frames, for asset metadata and terminal summaries alike.

Kept free of Dagster and Pandera, so the benchmarks and table scripts that print them also run on a
host with only torch and pandas installed (a GPU machine, say).
"""

import numpy as np
import pandas as pd

MISSING = "—"


def markdown_table(frame: pd.DataFrame, float_format: str = "{:,.3f}") -> str:
    """A GitHub-style table of `frame`, floats written with `float_format` and missing values as a dash."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(value, float_format) for value in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def _cell(value: object, float_format: str) -> str:
    if pd.api.types.is_scalar(value) and pd.isna(value):  # None, NA, NaT, and NaN of any float width
        return MISSING
    return float_format.format(value) if isinstance(value, float | np.floating) else str(value)
