"""Resources per deployment: the DuckDB warehouse and the offline market-data folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource
from dagster_duckdb import DuckDBResource

from orchestration.settings import Settings

BTC_USD_DAILY_FILE = "btc_usd_daily_yahoo_2018-09-17_2024-09-16.csv"


class WarehouseResource(DuckDBResource):
    """The pipeline's DuckDB file, opened per use so the UI, sensors and runs never hold it for long.

    Adds two guarantees to `DuckDBResource`: the folder of the file exists, and every session
    works in UTC (DuckDB otherwise converts TIMESTAMPTZ values to the machine's local zone
    when they are fetched into pandas).
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
        with super().get_connection() as conn:
            conn.execute("SET TimeZone = 'UTC'")
            yield conn


class MarketDataFiles(ConfigurableResource):
    """The folder of real, published market and macro files used as the offline default source."""

    data_dir: str

    def path(self, file_name: str) -> Path:
        """Path of one shipped file, with an error that says where it was looked for."""
        path = Path(self.data_dir) / file_name
        if not path.is_file():
            raise FileNotFoundError(
                f"offline data file {file_name!r} not found in {self.data_dir!r}; "
                "set MAMBAQUANT_DATA_DIR to the folder that holds it"
            )
        return path

    def btc_usd_daily(self) -> Path:
        """Yahoo BTC-USD daily bars as published with the CryptoMamba paper's code."""
        return self.path(BTC_USD_DAILY_FILE)


def build_resources(settings: Settings) -> dict[str, ConfigurableResource]:
    """The resources of one deployment, keyed by the names the assets ask for."""
    return {
        "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
        "market_data": MarketDataFiles(data_dir=str(settings.data_dir)),
    }
