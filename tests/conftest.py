"""Shared fixtures: a deployment whose warehouse and Dagster home live in a temporary folder."""

import shutil
from pathlib import Path

import pytest

from models import selective_scan as selective_scan_module
from orchestration.resources import BTC_USD_DAILY_FILE
from orchestration.settings import Settings
from tests.http_server import ScriptedHttpServer

SHIPPED_DATA_DIR = Settings.from_env({}).data_dir


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The embedded default, but with the warehouse and DAGSTER_HOME under `tmp_path`."""
    return Settings(
        warehouse_path=tmp_path / "var" / "warehouse.duckdb",
        data_dir=SHIPPED_DATA_DIR,
        dagster_home=tmp_path / "dagster_home",
    )


@pytest.fixture
def fresh_path_announcements(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scan-path log lines come once per process; a test that checks them starts as a fresh
    process would, with none said yet."""
    monkeypatch.setattr(selective_scan_module, "_announced", set())


@pytest.fixture
def editable_data_dir(tmp_path: Path) -> Path:
    """The shipped data folder with the BTC-USD daily file copied, so a test may alter it."""
    folder = tmp_path / "data"
    folder.mkdir()
    for shipped in SHIPPED_DATA_DIR.iterdir():
        (folder / shipped.name).symlink_to(shipped)
    (folder / BTC_USD_DAILY_FILE).unlink()
    shutil.copy(SHIPPED_DATA_DIR / BTC_USD_DAILY_FILE, folder / BTC_USD_DAILY_FILE)
    return folder


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 replaying scripted, recorded-format responses."""
    with ScriptedHttpServer() as server:
        yield server
