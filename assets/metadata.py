"""What every table-writing asset shows in the Dagster UI: row counts, quarantine, schema, tables."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from dagster import MetadataValue, TableColumn, TableSchema

from assets.markdown import markdown_table

# Metadata key holding the newest day an ingest asset has stored; the new-data sensor reads it.
NEWEST_PARTITION_KEY = "newest_partition"


def column_schema(contract: type[pa.DataFrameModel]) -> TableSchema:
    """Dagster's view of a Pandera contract, so the UI shows the same schema the data is checked against."""
    schema = contract.to_schema()
    return TableSchema(
        columns=[
            TableColumn(name=name, type=str(column.dtype), description=column.description)
            for name, column in schema.columns.items()
        ]
    )


def markdown_metadata(frame: pd.DataFrame) -> MetadataValue:
    """`frame` as a Markdown metadata entry."""
    return MetadataValue.md(markdown_table(frame))
