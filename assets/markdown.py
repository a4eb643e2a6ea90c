"""Markdown tables of data frames, for asset metadata and terminal summaries alike.

Kept free of Dagster and Pandera, so the benchmarks and table scripts that print them also run on a
host with only torch and pandas installed (a GPU machine, say).
"""

import pandas as pd


def markdown_table(frame: pd.DataFrame, float_format: str = "{:,.3f}") -> str:
    """A GitHub-style table of `frame`, floats written with `float_format`."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(float_format.format(v) if isinstance(v, float) else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])
