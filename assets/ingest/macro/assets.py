"""Macro ingest: ECB euro FX and US CPI (offline files), plus the ECB and FRED APIs when configured.

Every row carries the time its value became public; downstream joins are as-of that time.
"""

from datetime import date, timedelta

import pandas as pd
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.contracts import MacroTable
from assets.ingest.macro.cpi import read_cpi_monthly
from assets.ingest.macro.ecb import FILE_CURRENCIES, fetch_ecb_rates, read_ecb_daily
from assets.ingest.macro.fred import fetch_fred_series
from assets.ingest.store import newest_day, store_load, table_totals
from assets.markdown import markdown_table
from assets.metadata import column_schema
from assets.warehouse import Partition
from orchestration.resources import ECB_FX_FILE, US_CPI_FILE, MacroSources, WarehouseResource

# Online ECB rates continue the shipped file from here; FRED series are read from this date on.
ECB_FILE_END = date(2026, 10, 30)
FRED_START = date(2015, 1, 1)


def _loads(sources: MacroSources) -> list[tuple[str, pd.DataFrame, int]]:
    """(load name, frame, observations skipped) per load; a non-FRED load's name is its `source`.

    Online loads get a source of their own ("ecb-api") so replacing them never touches the file's rows.
    """
    loads = [
        ("ecb", read_ecb_daily(sources.path(ECB_FX_FILE)), 0),
        ("bls", read_cpi_monthly(sources.path(US_CPI_FILE)), 0),
    ]
    today = pd.Timestamp.now(tz="UTC").date()
    client = sources.http()
    if sources.ecb_url:
        start = ECB_FILE_END + timedelta(days=1)
        online = fetch_ecb_rates(client, sources.ecb_url, FILE_CURRENCIES, start, today)
        loads.append(("ecb-api", online.assign(source="ecb-api"), 0))
    if sources.fred_url:
        for series in sources.fred_series:
            fred = fetch_fred_series(
                client, sources.fred_url, series, FRED_START, today, sources.fred_api_key
            )
            loads.append((f"fred:{series}", fred.frame, fred.missing))
    return loads


@asset(group_name="ingest", kinds={"duckdb"})
def macro(
    context: AssetExecutionContext, warehouse: WarehouseResource, macro_sources: MacroSources
) -> MaterializeResult:
    """Macro observations with release times; each source's rows are replaced whole on every run."""
    reports = []
    with warehouse.get_connection() as conn:
        for name, frame, skipped in _loads(macro_sources):
            keys = {"series_id": f"FRED:{name[5:]}"} if name.startswith("fred:") else {"source": name}
            report = store_load(conn, "macro", frame, MacroTable, Partition(keys))
            reports.append({"load": name, **report, "skipped_missing": skipped})
            if report["rows_quarantined"]:
                context.log.warning(f"{name}: {report['rows_quarantined']} rows quarantined")
        totals = {**table_totals(conn, "macro"), **newest_day(conn, "macro", "released_at")}
    return MaterializeResult(
        metadata={
            **totals,
            "loads": MetadataValue.md(markdown_table(pd.DataFrame(reports))),
            "dagster/column_schema": column_schema(MacroTable),
        }
    )
