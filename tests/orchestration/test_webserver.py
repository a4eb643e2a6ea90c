"""`dagster dev -w workspace.yaml` serves the asset graph over GraphQL on 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestration.definitions import defs
from orchestration.settings import PROJECT_ROOT, Settings, ensure_dagster_home

STARTUP_SECONDS = 120
ASSET_KEYS_QUERY = "{ assetNodes { assetKey { path } } }"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status


def _graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def dagster_dev(tmp_path: Path):
    """`dagster dev` in its own process group (it ignores signals sent only to its own pid)."""
    port = _free_port()
    home = ensure_dagster_home(Settings(tmp_path / "w.duckdb", tmp_path, tmp_path / "dagster_home"))
    env = {**os.environ, "DAGSTER_HOME": str(home), "MAMBAQUANT_WAREHOUSE": str(tmp_path / "w.duckdb")}
    dagster = Path(sys.executable).with_name("dagster")
    log = (tmp_path / "dagster_dev.log").open("w")
    process = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, (tmp_path / "dagster_dev.log").read_text()
            try:
                if _get(f"{base}/server_info") == 200:
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "dagster dev did not answer in time"
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _asset_keys(base: str) -> set[str]:
    """Asset keys from GraphQL; the code location may still be loading right after start-up."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        nodes = _graphql(base, ASSET_KEYS_QUERY).get("data", {}).get("assetNodes") or []
        if nodes or time.monotonic() > deadline:
            return {"/".join(node["assetKey"]["path"]) for node in nodes}
        time.sleep(0.5)


def test_ui_serves_every_asset_key(dagster_dev):
    expected = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert _asset_keys(dagster_dev) == expected
