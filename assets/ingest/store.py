"""One load into the warehouse: validate against the contract, replace the partition, describe it."""

import duckdb
import pandas as pd
import pandera.pandas as pa

from assets.metadata import NEWEST_PARTITION_KEY
from assets.validation import ValidatedRows, validate_rows
from assets.warehouse import Partition, newest_value, quarantined_count, replace_partition, row_count


def store_load(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    contract: type[pa.DataFrameModel],
    partition: Partition,
    rejected_by_reader: pd.DataFrame | None = None,
) -> dict[str, object]:
    """Validate `frame`, write its valid rows over `partition` and quarantine the rest, in one go.

    `rejected_by_reader` holds rows a reader already refused (with a `reason`), so they land in
    the same quarantine partition. Returns what the load did, for asset metadata and summaries.
    """
    rows = validate_rows(frame, contract)
    if rejected_by_reader is not None and not rejected_by_reader.empty:
        rows = ValidatedRows(rows.valid, pd.concat([rows.rejected, rejected_by_reader], ignore_index=True))
    replace_partition(conn, table, rows, partition)
    return {
        "partition": partition.label,
        "rows_written": len(rows.valid),
        "rows_quarantined": len(rows.rejected),
        "first_rejection": rows.rejected["reason"].iloc[0] if len(rows.rejected) else "",
    }


def table_totals(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, object]:
    """Table-wide counts after the writes of one materialization."""
    return {
        "table": table,
        "dagster/row_count": row_count(conn, table),
        "rows_quarantined": quarantined_count(conn, table),
    }


def newest_day(conn: duckdb.DuckDBPyConnection, table: str, time_column: str) -> dict[str, str]:
    """The newest stored day as metadata for the new-data sensor; nothing while the table is empty."""
    newest = newest_value(conn, table, time_column)
    return {NEWEST_PARTITION_KEY: pd.Timestamp(newest).date().isoformat()} if newest is not None else {}
