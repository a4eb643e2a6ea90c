"""Every deployment knob of the pipeline, read from the environment in one place.

Assets and resources never read environment variables themselves: they receive values from
`Settings`, so a test can build the whole graph against a temporary warehouse by constructing
`Settings` directly, and a deployment changes behaviour through the variables listed in
`.env.example` only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

WAREHOUSE_ENV = "MAMBAQUANT_WAREHOUSE"
DATA_DIR_ENV = "MAMBAQUANT_DATA_DIR"
NIGHTLY_CRON_ENV = "MAMBAQUANT_NIGHTLY_CRON"
SCHEDULE_TIMEZONE_ENV = "MAMBAQUANT_SCHEDULE_TIMEZONE"
DAGSTER_HOME_ENV = "DAGSTER_HOME"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one deployment of the pipeline."""

    warehouse_path: Path
    data_dir: Path
    dagster_home: Path
    nightly_cron: str = "0 2 * * *"
    schedule_timezone: str = "UTC"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings, falling back to the embedded default (files under `var/`, shipped data)."""
        return cls(
            warehouse_path=_path(environ.get(WAREHOUSE_ENV), PROJECT_ROOT / "var" / "warehouse.duckdb"),
            data_dir=_path(environ.get(DATA_DIR_ENV), PROJECT_ROOT.parent / "shared" / "data"),
            dagster_home=_path(environ.get(DAGSTER_HOME_ENV), PROJECT_ROOT / "var" / "dagster_home"),
            nightly_cron=environ.get(NIGHTLY_CRON_ENV) or cls.nightly_cron,
            schedule_timezone=environ.get(SCHEDULE_TIMEZONE_ENV) or cls.schedule_timezone,
        )


def _path(value: str | None, default: Path) -> Path:
    """Resolve a path setting; relative values are taken from the project root, not the caller's cwd."""
    if not value:
        return default
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


# The pipeline runs offline by default, so Dagster's usage telemetry starts switched off; a user
# who wants it edits the file (an existing `dagster.yaml` is never overwritten).
_INSTANCE_YAML = "telemetry:\n  enabled: false\n"


def ensure_dagster_home(settings: Settings) -> Path:
    """Create DAGSTER_HOME with a `dagster.yaml` so runs and their history persist there."""
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    instance_yaml = settings.dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        instance_yaml.write_text(_INSTANCE_YAML)
    return settings.dagster_home


if __name__ == "__main__":
    # `make dev` prepares the instance folder this way before starting `dagster dev`.
    print(ensure_dagster_home(Settings.from_env()))
