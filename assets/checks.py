"""Asset checks every stored table gets: row count, freshness and quarantine ratio.

The quarantine ratio check is blocking: when too many rows of a load were rejected the source is
probably broken, and downstream assets must not train on what is left. It is judged per partition
(one source, one day), so a broken source cannot hide behind a large healthy one in the same table.
Freshness only warns, because the offline default data are historical by nature.
"""

from datetime import timedelta

import pandas as pd
from dagster import AssetCheckResult, AssetChecksDefinition, AssetCheckSeverity, asset_check

from assets.warehouse import newest_value, row_count, worst_load
from orchestration.resources import WarehouseResource


def table_checks(
    asset: str,
    table: str,
    time_column: str,
    *,
    min_rows: int = 1,
    max_age: timedelta = timedelta(days=2),
    max_quarantine_ratio: float = 0.05,
) -> list[AssetChecksDefinition]:
    """The three checks of `table`, attached to the asset that writes it."""

    @asset_check(asset=asset, name="row_count", description=f"{table} holds at least {min_rows} row(s)")
    def has_rows(warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.get_connection() as conn:
            rows = row_count(conn, table)
        return AssetCheckResult(passed=rows >= min_rows, metadata={"rows": rows, "min_rows": min_rows})

    @asset_check(asset=asset, name="freshness", description=f"newest {time_column} is at most {max_age} old")
    def is_fresh(warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.get_connection() as conn:
            newest = newest_value(conn, table, time_column)
        if newest is None:
            return AssetCheckResult(
                passed=False, severity=AssetCheckSeverity.WARN, metadata={"newest": "none"}
            )
        age = pd.Timestamp.now(tz="UTC") - pd.Timestamp(newest).tz_convert("UTC")
        return AssetCheckResult(
            passed=age <= max_age,
            severity=AssetCheckSeverity.WARN,
            metadata={"newest": str(newest), "age_hours": round(age.total_seconds() / 3600, 1)},
        )

    @asset_check(
        asset=asset,
        name="quarantine_ratio",
        blocking=True,
        description=f"no partition of {table} had more than {max_quarantine_ratio:.0%} of its latest load "
        "quarantined",
    )
    def few_rejects(warehouse: WarehouseResource) -> AssetCheckResult:
        with warehouse.get_connection() as conn:
            worst = worst_load(conn, table)
        if worst is None:
            return AssetCheckResult(passed=True, metadata={"partitions_loaded": 0})
        return AssetCheckResult(
            passed=worst.rejected_ratio <= max_quarantine_ratio,
            metadata={
                "worst_partition": worst.partition_key,
                "quarantined": worst.rejected,
                "stored": worst.stored,
                "ratio": round(worst.rejected_ratio, 6),
            },
        )

    return [has_rows, is_fresh, few_rejects]
