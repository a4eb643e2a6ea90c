"""Every deployment knob of the pipeline, read from the environment in one place.

Assets and resources never read environment variables themselves: they receive values from
`Settings`, so a test can build the whole graph against a temporary warehouse by constructing
`Settings` directly, and a deployment changes behaviour through the variables listed in
`.env.example` only.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PROJECT_ROOT = Path(__file__).resolve().parents[1]

WAREHOUSE_ENV = "MAMBAQUANT_WAREHOUSE"
DATA_DIR_ENV = "MAMBAQUANT_DATA_DIR"
NIGHTLY_CRON_ENV = "MAMBAQUANT_NIGHTLY_CRON"
SCHEDULE_TIMEZONE_ENV = "MAMBAQUANT_SCHEDULE_TIMEZONE"
DAGSTER_HOME_ENV = "DAGSTER_HOME"
TRAINING_PROFILE_ENV = "MAMBAQUANT_TRAINING_PROFILE"
ARTIFACTS_DIR_ENV = "MAMBAQUANT_ARTIFACTS"
SIGNAL_MODEL_ENV = "MAMBAQUANT_SIGNAL_MODEL"
SIGNAL_STRATEGY_ENV = "MAMBAQUANT_SIGNAL_STRATEGY"
REGIME_METHOD_ENV = "MAMBAQUANT_REGIME_METHOD"
WALK_FORWARD_MODEL_ENV = "MAMBAQUANT_WALK_FORWARD_MODEL"
WALK_FORWARD_STEP_ENV = "MAMBAQUANT_WALK_FORWARD_STEP_DAYS"
WALK_FORWARD_START_ENV = "MAMBAQUANT_WALK_FORWARD_START"
WALK_FORWARD_END_ENV = "MAMBAQUANT_WALK_FORWARD_END"
ONCHAIN_CLUSTER_ENV = "MAMBAQUANT_ONCHAIN_CLUSTER"
ONCHAIN_STATE_ENV = "MAMBAQUANT_ONCHAIN_STATE"
ONCHAIN_KEYS_ENV = "MAMBAQUANT_ONCHAIN_KEYS"
PROGRAM_ID_ENV = "MAMBAQUANT_PROGRAM_ID"
AUTHORITY_KEYPAIR_ENV = "MAMBAQUANT_AUTHORITY_KEYPAIR"
KEEPER_KEYPAIR_ENV = "MAMBAQUANT_KEEPER_KEYPAIR"
PRIORITY_FEE_ENV = "MAMBAQUANT_PRIORITY_FEE"
RPC_RETRIES_ENV = "MAMBAQUANT_RPC_RETRIES"
SUBMIT_JITTER_ENV = "MAMBAQUANT_SUBMIT_JITTER_SECS"
PAPER_CAPITAL_ENV = "MAMBAQUANT_PAPER_CAPITAL_USD"
LOT_SIZE_ENV = "MAMBAQUANT_LOT_SIZE"
MAX_DATA_AGE_ENV = "MAMBAQUANT_MAX_SIGNAL_DATA_AGE_HOURS"
LOCAL_CLUSTER = "local"
TRAINING_PROFILES = ("quick", "paper")
FRED_API_KEY_ENV = "FRED_API_KEY"
CRYPTOPANIC_TOKEN_ENV = "CRYPTOPANIC_TOKEN"


@dataclass(frozen=True)
class OnlineSources:
    """Where the online loaders read. A stream whose address is unset stays on its offline default.

    Secrets (API keys) are not held here: only whether they are set, so resources can pass them
    to Dagster as environment references and the UI never shows their values.
    """

    binance_url: str | None = None
    ecb_url: str | None = None
    fred_url: str | None = None
    fred_series: tuple[str, ...] = ("CPIAUCSL", "FEDFUNDS", "DGS10")
    has_fred_api_key: bool = False
    fear_greed_url: str | None = None
    cryptopanic_url: str | None = None
    has_cryptopanic_token: bool = False
    feed_urls: tuple[str, ...] = ()
    solana_rpc_url: str | None = None
    dex_pools: tuple[str, ...] = ()
    trade_files_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OnlineSources:
        def url(name: str) -> str | None:
            return environ.get(f"MAMBAQUANT_{name}_URL") or None

        def names(name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
            value = environ.get(f"MAMBAQUANT_{name}")
            return tuple(item.strip() for item in value.split(",") if item.strip()) if value else default

        trade_files = environ.get("MAMBAQUANT_TRADE_FILES")
        return cls(
            binance_url=url("BINANCE"),
            ecb_url=url("ECB"),
            fred_url=url("FRED"),
            fred_series=names("FRED_SERIES", cls.fred_series),
            has_fred_api_key=bool(environ.get(FRED_API_KEY_ENV)),
            fear_greed_url=url("FEAR_GREED"),
            cryptopanic_url=url("CRYPTOPANIC"),
            has_cryptopanic_token=bool(environ.get(CRYPTOPANIC_TOKEN_ENV)),
            feed_urls=names("FEEDS"),
            solana_rpc_url=url("SOLANA_RPC"),
            dex_pools=names("DEX_POOLS"),
            trade_files_dir=_path(trade_files, PROJECT_ROOT) if trade_files else None,
        )


@dataclass(frozen=True)
class OnchainSettings:
    """Where signals are pushed: the in-process LiteSVM (default) or a cluster's RPC, and with which keys.

    Locally the program id, authority and keeper are keypairs generated once under `keys_dir`
    (default: `Settings.onchain_dir`, next to the warehouse, like the state file);
    on devnet they come from the environment (a keypair file path or the JSON itself), never
    from the repository.
    """

    cluster: str = LOCAL_CLUSTER
    state_path: Path | None = None
    keys_dir: Path | None = None
    program_id: str | None = None
    has_authority_keypair: bool = False
    has_keeper_keypair: bool = False
    priority_fee_micro_lamports: int = 0
    rpc_retries: int = 5
    submit_jitter_secs: float = 0.0
    paper_capital_usd: float = 10_000.0
    lot_size: float = 0.0001
    # Hours since the newest bar closed: one missed daily bar passes for a run up to 12 h after the
    # daily close, two missed bars never do.
    max_data_age_hours: float = 36.0

    @property
    def is_local(self) -> bool:
        return self.cluster == LOCAL_CLUSTER

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> OnchainSettings:
        return cls(
            cluster=environ.get(ONCHAIN_CLUSTER_ENV) or LOCAL_CLUSTER,
            state_path=_path(environ.get(ONCHAIN_STATE_ENV), None),
            keys_dir=_path(environ.get(ONCHAIN_KEYS_ENV), None),
            program_id=environ.get(PROGRAM_ID_ENV) or None,
            has_authority_keypair=bool(environ.get(AUTHORITY_KEYPAIR_ENV)),
            has_keeper_keypair=bool(environ.get(KEEPER_KEYPAIR_ENV)),
            priority_fee_micro_lamports=_parsed(
                environ, PRIORITY_FEE_ENV, cls.priority_fee_micro_lamports, int, AT_LEAST_0, _at_least(0)
            ),
            rpc_retries=_parsed(environ, RPC_RETRIES_ENV, cls.rpc_retries, int, AT_LEAST_1, _at_least(1)),
            submit_jitter_secs=_parsed(
                environ, SUBMIT_JITTER_ENV, cls.submit_jitter_secs, float, "seconds, 0 or more", _at_least(0)
            ),
            paper_capital_usd=_parsed(
                environ, PAPER_CAPITAL_ENV, cls.paper_capital_usd, float, "USD above 0, e.g. 10000", _above(0)
            ),
            lot_size=_parsed(environ, LOT_SIZE_ENV, cls.lot_size, float, "base units above 0", _above(0)),
            max_data_age_hours=_parsed(
                environ, MAX_DATA_AGE_ENV, cls.max_data_age_hours, float, "hours above 0", _above(0)
            ),
        )


@dataclass(frozen=True)
class Settings:
    """Resolved configuration of one deployment of the pipeline."""

    warehouse_path: Path
    data_dir: Path
    dagster_home: Path
    nightly_cron: str = "0 2 * * *"
    schedule_timezone: str = "UTC"
    sources: OnlineSources = OnlineSources()
    # `quick` trains briefly with early stopping (main job, nightly, tests); `paper` as the paper did.
    training_profile: str = "quick"
    # Checkpoints and report images; next to the warehouse by default.
    artifacts_dir: Path | None = None
    # Which model's newest forecast, traded by which strategy, becomes the pushed signal.
    signal_model: str = "cryptomamba-v"
    signal_strategy: str = "smart"
    # How regimes are segmented: `gmm` (causal) or `changepoint` (retrospective PELT).
    regime_method: str = "gmm"
    # Walk-forward evaluation: which model is retrained every `step` days over which test days.
    # The default span is the paper's validation and test years, the end of the shipped data.
    walk_forward_model: str = "cryptomamba-v"
    walk_forward_step_days: int = 30
    walk_forward_start: date = date(2022, 10, 1)
    walk_forward_end: date = date(2024, 9, 15)
    # The risk guard the final asset pushes signals to.
    onchain: OnchainSettings = OnchainSettings()

    def __post_init__(self) -> None:
        if self.training_profile not in TRAINING_PROFILES:
            expected = " or ".join(TRAINING_PROFILES)
            raise ValueError(f"{TRAINING_PROFILE_ENV}={self.training_profile!r}: expected {expected}")
        if self.walk_forward_start >= self.walk_forward_end:
            raise ValueError(
                f"{WALK_FORWARD_START_ENV}={self.walk_forward_start} must come before "
                f"{WALK_FORWARD_END_ENV}={self.walk_forward_end}"
            )

    @property
    def artifacts(self) -> Path:
        return self.artifacts_dir or self.warehouse_path.parent / "artifacts"

    @property
    def onchain_dir(self) -> Path:
        """The local cluster's state file and generated keys live here unless set (next to the warehouse)."""
        return self.warehouse_path.parent / "onchain"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings, falling back to the embedded default (files under `var/`, shipped data)."""
        return cls(
            warehouse_path=_path(environ.get(WAREHOUSE_ENV), PROJECT_ROOT / "var" / "warehouse.duckdb"),
            data_dir=_path(environ.get(DATA_DIR_ENV), PROJECT_ROOT.parent / "shared" / "data"),
            dagster_home=_path(environ.get(DAGSTER_HOME_ENV), PROJECT_ROOT / "var" / "dagster_home"),
            nightly_cron=environ.get(NIGHTLY_CRON_ENV) or cls.nightly_cron,
            schedule_timezone=environ.get(SCHEDULE_TIMEZONE_ENV) or cls.schedule_timezone,
            sources=OnlineSources.from_env(environ),
            training_profile=environ.get(TRAINING_PROFILE_ENV) or cls.training_profile,
            artifacts_dir=_path(environ.get(ARTIFACTS_DIR_ENV), None),
            signal_model=environ.get(SIGNAL_MODEL_ENV) or cls.signal_model,
            signal_strategy=environ.get(SIGNAL_STRATEGY_ENV) or cls.signal_strategy,
            regime_method=environ.get(REGIME_METHOD_ENV) or cls.regime_method,
            walk_forward_model=environ.get(WALK_FORWARD_MODEL_ENV) or cls.walk_forward_model,
            walk_forward_step_days=_parsed(
                environ, WALK_FORWARD_STEP_ENV, cls.walk_forward_step_days, int, AT_LEAST_1, _at_least(1)
            ),
            walk_forward_start=_parsed(
                environ, WALK_FORWARD_START_ENV, cls.walk_forward_start, date.fromisoformat, ISO_DAY
            ),
            walk_forward_end=_parsed(
                environ, WALK_FORWARD_END_ENV, cls.walk_forward_end, date.fromisoformat, ISO_DAY
            ),
            onchain=OnchainSettings.from_env(environ),
        )


AT_LEAST_0 = "a whole number, 0 or more"
AT_LEAST_1 = "a whole number, at least 1"
ISO_DAY = "a day as YYYY-MM-DD"


def _parsed(
    environ: Mapping[str, str],
    name: str,
    default: T,
    parse: Callable[[str], T],
    expected: str,
    valid: Callable[[T], bool] = lambda value: True,
) -> T:
    """The variable `name` parsed, or `default` when unset; a bad value is refused at startup with
    the variable's name, not deep inside a run as a bare `int()` or `fromisoformat` message."""
    raw = environ.get(name)
    if not raw:
        return default
    try:
        value = parse(raw.strip())
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected {expected}") from None
    if not valid(value):
        raise ValueError(f"{name}={raw!r}: expected {expected}")
    return value


def _at_least(minimum: float) -> Callable[[float], bool]:
    return lambda value: math.isfinite(value) and value >= minimum


def _above(minimum: float) -> Callable[[float], bool]:
    return lambda value: math.isfinite(value) and value > minimum


def _path(value: str | None, default: Path | None) -> Path | None:
    """Resolve a path setting; relative values are taken from the project root, not the caller's cwd."""
    if not value:
        return default
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


# The pipeline runs offline by default, so Dagster's usage telemetry starts switched off; a user
# who wants it edits the file (an existing `dagster.yaml` is never overwritten). The project's own
# loggers go into each run's event log (the UI), where Python's logging alone would drop them: which
# selective-scan path trained a model, early stops, resumed checkpoints, meta-learning validation.
# The level is DEBUG because Dagster applies it to its console logger too, whose step events are
# DEBUG; nothing in `models` or `assets` logs at DEBUG.
_INSTANCE_YAML = """telemetry:
  enabled: false
python_logs:
  python_log_level: DEBUG
  managed_python_loggers:
    - models
    - assets
"""


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
