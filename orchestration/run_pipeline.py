"""`make run`: materialize the whole graph into the persistent Dagster instance and print a summary.

Runs through the same instance as `dagster dev` (DAGSTER_HOME), so each run and its asset
metadata also appear in the UI's history.
"""

from __future__ import annotations

import os
import sys
import time

import pandas as pd
from dagster import DagsterInstance

from assets.metadata import markdown_table
from assets.warehouse import read_table
from orchestration.definitions import build_definitions
from orchestration.resources import WarehouseResource
from orchestration.settings import DAGSTER_HOME_ENV, Settings, ensure_dagster_home

# Step-by-step debug logs stay in the instance (and the UI); the terminal gets warnings and the summary.
_QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> int:
    """Run `pipeline_job`; print what each asset stored and the persistence metrics; 0 on success."""
    settings = Settings.from_env()
    os.environ[DAGSTER_HOME_ENV] = str(ensure_dagster_home(settings))
    definitions = build_definitions(settings)
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        result = definitions.resolve_job_def("pipeline_job").execute_in_process(
            instance=instance, raise_on_error=False, run_config=_QUIET_LOGS
        )
    seconds = time.perf_counter() - started
    print(f"\nrun {result.run_id} {'succeeded' if result.success else 'FAILED'} in {seconds:.1f} s")
    print(f"warehouse: {settings.warehouse_path}\nDAGSTER_HOME: {settings.dagster_home}\n")
    print(markdown_table(_asset_summary(result.get_asset_materialization_events())))
    if result.success:
        with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
            shown = read_table(conn, "SELECT model, symbol, split, samples, rmse, mape, mae FROM metrics")
        print("\nmetrics (MAPE in %):\n" + markdown_table(shown))
    return 0 if result.success else 1


def _asset_summary(events: list) -> pd.DataFrame:
    """One row per materialized asset: its table, stored rows and quarantined rows."""
    rows = []
    for event in events:
        metadata = event.materialization.metadata
        rows.append(
            {
                "asset": event.asset_key.to_user_string(),
                "table": metadata["table"].value if "table" in metadata else "",
                "rows": metadata["dagster/row_count"].value if "dagster/row_count" in metadata else "",
                "quarantined": metadata["rows_quarantined"].value if "rows_quarantined" in metadata else "",
            }
        )
    return pd.DataFrame(rows, columns=["asset", "table", "rows", "quarantined"])


if __name__ == "__main__":
    sys.exit(main())
