import re
from dataclasses import replace

import pytest
from dagster import AssetKey, Definitions

from assets.training.forecasts import PIPELINE_MODELS, asset_name
from orchestration.definitions import build_definitions, defs

MODEL_ASSETS = [asset_name(model) for model in PIPELINE_MODELS]

EXPECTED_ASSETS = {
    AssetKey(name)
    for name in (
        "ohlcv",
        "macro",
        "sentiment_items",
        "sentiment_series",
        "fear_greed",
        "dex_trades",
        "dex_bars",
        "labels",
        "features",
        "regimes",
        "tasks",
        "hypermamba_model",
        "adaptation_report",
        *MODEL_ASSETS,
        "metrics",
        "backtests",
        "signals",
        "onchain_signals",
        "paper_ledger",
        "walk_forward",
    )
}


def test_module_definitions_load():
    Definitions.validate_loadable(defs)
    assert set(defs.resolve_all_asset_keys()) == EXPECTED_ASSETS


def test_definitions_bind_the_given_settings(settings):
    built = build_definitions(settings)
    assert built.resources["warehouse"].database == str(settings.warehouse_path)
    assert built.resources["market_sources"].data_dir == str(settings.data_dir)
    assert built.resources["training"].profile == "quick"
    assert (built.resources["signal_settings"].model, built.resources["signal_settings"].strategy) == (
        "cryptomamba-v",
        "smart",
    )
    checkpoint = built.resources["training"].checkpoint("gru-v")
    assert checkpoint == settings.artifacts / "checkpoints/quick/gru-v.pt"
    risk_guard = built.resources["risk_guard"]
    assert (risk_guard.cluster, risk_guard.state_path) == (
        "local",
        str(settings.onchain_dir / "local_cluster.json"),
    )
    assert built.resolve_job_def("pipeline_job") is not None
    walk_forward = built.resolve_job_def("walk_forward_job")
    assert walk_forward.partitions_def.get_partition_keys()[:2] == ["2022-10-01", "2022-10-31"]
    assert built.resolve_schedule_def("nightly_retraining").job_name == "pipeline_job"
    assert built.resolve_sensor_def("new_ingested_data").job_name == "pipeline_job"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("signal_model", "gru", "MAMBAQUANT_SIGNAL_MODEL='gru': expected one of persistence, arima, "),
        ("signal_strategy", "foo", "MAMBAQUANT_SIGNAL_STRATEGY='foo': expected one of vanilla, "),
        ("regime_method", "hmm", "MAMBAQUANT_REGIME_METHOD='hmm': expected one of gmm, changepoint"),
        ("walk_forward_model", "transformer", "MAMBAQUANT_WALK_FORWARD_MODEL: unknown model 'transformer'"),
    ],
)
def test_an_unknown_choice_is_refused_when_the_definitions_load(settings, field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build_definitions(replace(settings, **{field: value}))


def test_asset_groups_follow_the_pipeline_stages():
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        **{
            name: "ingest" for name in ("ohlcv", "macro", "sentiment_items", "sentiment_series", "fear_greed")
        },
        **{"dex_trades": "ingest", "dex_bars": "ingest"},
        "labels": "features",
        "features": "features",
        "regimes": "regimes",
        "tasks": "regimes",
        "hypermamba_model": "training",
        "adaptation_report": "evaluation",
        **dict.fromkeys(MODEL_ASSETS, "training"),
        "metrics": "evaluation",
        "backtests": "evaluation",
        "walk_forward": "evaluation",
        "signals": "signals",
        "onchain_signals": "onchain",
        "paper_ledger": "onchain",
    }


def test_every_stored_ingest_table_has_its_three_checks():
    checks = {
        (key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys
    }
    for asset in ("ohlcv", "macro", "sentiment_items", "fear_greed", "dex_trades", "dex_bars"):
        assert {(asset, "row_count"), (asset, "freshness"), (asset, "quarantine_ratio")} <= checks
