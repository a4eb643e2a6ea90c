"""`make run`: materialize the whole graph into the persistent Dagster instance and print a summary.

Runs through the same instance as `dagster dev` (DAGSTER_HOME), so each run and its asset
metadata also appear in the UI's history.
"""

from __future__ import annotations

import os
import sys
import time

import pandas as pd
from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from assets.ingest.dex.assets import NO_DEX_SOURCE
from assets.markdown import markdown_table
from assets.warehouse import read_table
from backtest.experiments import balance_table
from orchestration.definitions import build_definitions
from orchestration.resources import WarehouseResource
from orchestration.settings import DAGSTER_HOME_ENV, Settings, ensure_dagster_home

# Step-by-step debug logs stay in the instance (and the UI); the terminal gets warnings and the summary.
_QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def main() -> int:
    """Run `pipeline_job` (and yesterday's DEX partition when a DEX source is set); print a summary."""
    settings = Settings.from_env()
    os.environ[DAGSTER_HOME_ENV] = str(ensure_dagster_home(settings))
    definitions = build_definitions(settings)
    started = time.perf_counter()
    with DagsterInstance.get() as instance:
        results = [_execute(definitions, "pipeline_job", instance)]
        if settings.sources.solana_rpc_url or settings.sources.trade_files_dir:
            yesterday = (pd.Timestamp.now(tz="UTC").normalize() - pd.Timedelta(days=1)).date().isoformat()
            results.append(_execute(definitions, "dex_job", instance, partition_key=yesterday))
    seconds = time.perf_counter() - started
    succeeded = all(result.success for result in results)
    print(f"\n{len(results)} run(s) {'succeeded' if succeeded else 'FAILED'} in {seconds:.1f} s")
    print(f"warehouse: {settings.warehouse_path}\nDAGSTER_HOME: {settings.dagster_home}\n")
    events = [event for result in results for event in result.get_asset_materialization_events()]
    print(markdown_table(_asset_summary(events)))
    if len(results) == 1:
        print(f"dex_trades, dex_bars: not run ({NO_DEX_SOURCE})")
    failed_checks = [
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} ({evaluation.severity.value})"
        for result in results
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed
    ]
    print("failed checks: " + (", ".join(failed_checks) or "none"))
    if results[0].success:
        with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
            shown = read_table(conn, "SELECT model, symbol, split, samples, rmse, mape, mae FROM metrics")
            trading = read_table(conn, "SELECT * FROM backtests")
            signal = read_table(
                conn,
                "SELECT symbol, ts, model, strategy, target_position, confidence FROM signals "
                "ORDER BY generated_at DESC LIMIT 1",
            )
            adaptation = read_table(
                conn, "SELECT learner, value AS steps, query_rmse FROM adaptation_curves WHERE axis = 'steps'"
            )
            pushed = read_table(
                conn,
                "SELECT t.symbol, t.target_lots, t.accepted, t.error_name, t.compute_units, l.position_lots, "
                "l.equity, l.halted FROM signal_transactions t JOIN paper_ledger l USING (symbol, cluster) "
                "WHERE t.run_id = ? AND l.as_of = (SELECT max(as_of) FROM paper_ledger)",
                [results[0].run_id],
            )
        steps = adaptation.pivot(index="learner", columns="steps", values="query_rmse").reset_index()
        print("\nmetrics (MAPE in %):\n" + markdown_table(shown))
        print("\nbalance from $100 (Table VI layout):\n" + markdown_table(balance_table(trading), "{:,.2f}"))
        print("\nnewest signal:\n" + markdown_table(signal))
        print("\nsignal pushed on chain, and the book read back (USD):\n" + markdown_table(pushed))
        print(
            "\nregime tasks, query RMSE (hourly return, %) by adaptation steps:\n"
            + markdown_table(steps.rename(columns=str), "{:.4f}")
        )
    return 0 if succeeded else 1


def _execute(
    definitions: Definitions, job: str, instance: DagsterInstance, partition_key: str | None = None
) -> ExecuteInProcessResult:
    return definitions.resolve_job_def(job).execute_in_process(
        instance=instance, raise_on_error=False, run_config=_QUIET_LOGS, partition_key=partition_key
    )


def _asset_summary(events: list) -> pd.DataFrame:
    """One row per materialized asset: its table, stored rows, quarantined rows and any note."""

    def value(metadata: dict, key: str) -> object:
        return metadata[key].value if key in metadata else ""

    rows = [
        {
            "asset": event.asset_key.to_user_string(),
            "table": value(event.materialization.metadata, "table"),
            "rows": value(event.materialization.metadata, "dagster/row_count"),
            "quarantined": value(event.materialization.metadata, "rows_quarantined"),
            "note": value(event.materialization.metadata, "note"),
        }
        for event in events
    ]
    return pd.DataFrame(rows, columns=["asset", "table", "rows", "quarantined", "note"])


if __name__ == "__main__":
    sys.exit(main())
