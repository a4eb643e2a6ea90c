import logging
from pathlib import Path

import pytest
import torch
from dagster import DagsterInstance, asset, materialize

from models.cryptomamba import CryptoMamba
from orchestration.settings import PROJECT_ROOT, Settings, ensure_dagster_home


def test_defaults_are_the_embedded_offline_deployment():
    settings = Settings.from_env({})
    assert settings.warehouse_path == PROJECT_ROOT / "var" / "warehouse.duckdb"
    assert settings.dagster_home == PROJECT_ROOT / "var" / "dagster_home"
    assert settings.data_dir == PROJECT_ROOT.parent / "shared" / "data"
    assert (settings.nightly_cron, settings.schedule_timezone) == ("0 2 * * *", "UTC")


def test_environment_moves_files_and_schedule(tmp_path: Path):
    settings = Settings.from_env(
        {
            "MAMBAQUANT_WAREHOUSE": str(tmp_path / "w.duckdb"),
            "MAMBAQUANT_DATA_DIR": "data/offline",
            "MAMBAQUANT_NIGHTLY_CRON": "30 3 * * *",
            "MAMBAQUANT_SCHEDULE_TIMEZONE": "Europe/Berlin",
        }
    )
    assert settings.warehouse_path == tmp_path / "w.duckdb"
    assert settings.data_dir == PROJECT_ROOT / "data" / "offline"  # relative to the project, not the cwd
    assert (settings.nightly_cron, settings.schedule_timezone) == ("30 3 * * *", "Europe/Berlin")


def test_dagster_home_is_created_with_an_instance_file(settings):
    home = ensure_dagster_home(settings)
    assert "enabled: false" in (home / "dagster.yaml").read_text()  # offline: no usage telemetry
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    assert ensure_dagster_home(settings) == home
    assert "enabled: true" in (home / "dagster.yaml").read_text()  # a user's own file is kept


@pytest.mark.usefixtures("fresh_path_announcements")
def test_the_projects_logs_reach_the_run_event_log(settings, caplog: pytest.LogCaptureFixture):
    """With the instance file `ensure_dagster_home` writes, a model's log line (here: which scan path
    runs) lands in the run's event log, which the UI shows; plain Python logging would drop it."""
    for name in ("models", "assets", "dagster.builtin"):  # the run sets their levels: restored after
        caplog.set_level(logging.getLogger(name).level, logger=name)

    @asset
    def one_forecast() -> None:
        CryptoMamba(num_features=6)(torch.randn(2, 6, 14))

    with DagsterInstance.from_config(str(ensure_dagster_home(settings))) as instance:
        result = materialize([one_forecast], instance=instance)
        messages = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert "selective scan: using the compiled CPU (C, whole pre-norm block stack) path" in messages


def test_training_profile_and_artifacts_folder(tmp_path: Path):
    defaults = Settings.from_env({"MAMBAQUANT_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert defaults.training_profile == "quick"
    assert defaults.artifacts == tmp_path / "artifacts"
    chosen = Settings.from_env({"MAMBAQUANT_TRAINING_PROFILE": "paper", "MAMBAQUANT_ARTIFACTS": "runs/art"})
    assert (chosen.training_profile, chosen.artifacts) == ("paper", PROJECT_ROOT / "runs" / "art")


def test_an_unknown_training_profile_names_the_variable():
    with pytest.raises(ValueError, match="MAMBAQUANT_TRAINING_PROFILE='fast': expected quick or paper"):
        Settings.from_env({"MAMBAQUANT_TRAINING_PROFILE": "fast"})


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("MAMBAQUANT_WALK_FORWARD_STEP_DAYS", "30d", "a whole number, at least 1"),
        ("MAMBAQUANT_WALK_FORWARD_STEP_DAYS", "0", "a whole number, at least 1"),
        ("MAMBAQUANT_WALK_FORWARD_START", "2022/10/01", "a day as YYYY-MM-DD"),
        ("MAMBAQUANT_PAPER_CAPITAL_USD", "10k", "USD above 0"),
        ("MAMBAQUANT_LOT_SIZE", "nan", "base units above 0"),
        ("MAMBAQUANT_RPC_RETRIES", "-1", "a whole number, at least 1"),
        ("MAMBAQUANT_SUBMIT_JITTER_SECS", "-5", "seconds, 0 or more"),
        ("MAMBAQUANT_MAX_SIGNAL_DATA_AGE_HOURS", "2d", "hours above 0"),
    ],
)
def test_a_malformed_number_or_day_names_its_variable(name: str, value: str, expected: str):
    with pytest.raises(ValueError, match=f"{name}='{value}': expected {expected}"):
        Settings.from_env({name: value})


def test_a_walk_forward_span_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="MAMBAQUANT_WALK_FORWARD_START=2024-03-01 must come before"):
        Settings.from_env(
            {"MAMBAQUANT_WALK_FORWARD_START": "2024-03-01", "MAMBAQUANT_WALK_FORWARD_END": "2024-01-01"}
        )


def test_environment_chooses_the_signal_and_the_walk_forward_plan():
    settings = Settings.from_env(
        {
            "MAMBAQUANT_SIGNAL_MODEL": "gru-v",
            "MAMBAQUANT_SIGNAL_STRATEGY": "vanilla",
            "MAMBAQUANT_WALK_FORWARD_MODEL": "arima",
            "MAMBAQUANT_WALK_FORWARD_STEP_DAYS": "7",
            "MAMBAQUANT_WALK_FORWARD_START": "2024-01-01",
            "MAMBAQUANT_WALK_FORWARD_END": "2024-03-01",
        }
    )
    assert (settings.signal_model, settings.signal_strategy) == ("gru-v", "vanilla")
    assert (settings.walk_forward_model, settings.walk_forward_step_days) == ("arima", 7)
    assert (settings.walk_forward_start.isoformat(), settings.walk_forward_end.isoformat()) == (
        "2024-01-01",
        "2024-03-01",
    )


def test_onchain_defaults_to_the_local_cluster_next_to_the_warehouse():
    settings = Settings.from_env({})
    assert settings.onchain.is_local and settings.onchain.program_id is None
    assert settings.onchain_dir == PROJECT_ROOT / "var" / "onchain"


def test_environment_points_the_keeper_at_devnet():
    from orchestration.resources import build_resources

    environ = {
        "MAMBAQUANT_ONCHAIN_CLUSTER": "devnet",
        "MAMBAQUANT_PROGRAM_ID": "11111111111111111111111111111112",
        "MAMBAQUANT_KEEPER_KEYPAIR": "~/.config/solana/keeper.json",
        "MAMBAQUANT_PRIORITY_FEE": "5000",
        "MAMBAQUANT_SUBMIT_JITTER_SECS": "90",
        "MAMBAQUANT_PAPER_CAPITAL_USD": "2500",
    }
    onchain = Settings.from_env(environ).onchain
    assert (onchain.cluster, onchain.priority_fee_micro_lamports, onchain.submit_jitter_secs) == (
        "devnet",
        5000,
        90,
    )
    assert onchain.has_keeper_keypair and not onchain.has_authority_keypair
    resource = build_resources(Settings.from_env(environ))["risk_guard"]
    assert resource.program_id == "11111111111111111111111111111112"
    assert resource.limits().max_notional == 3_750_000_000  # 1.5x of $2,500 in micro-USD


class _RecordingEnvironment(dict):
    """An empty environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):  # type: ignore[no-untyped-def]
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        self.asked.add(key)
        return super().__getitem__(key)


def test_every_variable_the_settings_read_is_documented_in_env_example_and_the_readme():
    environment = _RecordingEnvironment()
    Settings.from_env(environment)
    example = (PROJECT_ROOT / ".env.example").read_text()
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(environment.asked) > 30
    assert sorted(name for name in environment.asked if f"{name}=" not in example) == []
    assert sorted(name for name in environment.asked if f"`{name}`" not in readme) == []
