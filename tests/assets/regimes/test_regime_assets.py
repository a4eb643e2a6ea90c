"""Features, regimes, tasks, HyperMamba and its adaptation report, materialized on the shipped hourly data."""

from pathlib import Path

import pytest
from dagster import materialize

from assets.evaluation.adaptation import adaptation_report
from assets.features.assets import features
from assets.ingest.macro.assets import macro
from assets.regimes.assets import regimes, tasks
from assets.training.hypermamba import hypermamba_model
from assets.warehouse import read_table
from models import meta_learning
from orchestration.resources import TrainingResource, WarehouseResource, build_resources

# A few tasks and iterations: the point here is the wiring, not the figures.
TINY = meta_learning.MetaConfig(
    iterations=2, tasks_per_batch=2, validate_every=1, global_epochs=1, max_tasks=3
)


@pytest.fixture(scope="module")
def regime_run(evaluated, tmp_path_factory):
    settings, _ = evaluated
    artifacts = tmp_path_factory.mktemp("artifacts")
    resources = {
        **build_resources(settings),
        "training": TrainingResource(profile="tiny", artifacts_dir=str(artifacts)),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(meta_learning.META_PROFILES, "tiny", TINY)
        result = materialize(
            [macro, features, regimes, tasks, hypermamba_model, adaptation_report], resources=resources
        )
    assert result.success
    return settings, result, artifacts


def _read(settings, sql: str):
    with WarehouseResource(database=str(settings.warehouse_path)).get_connection() as conn:
        return read_table(conn, sql)


def test_features_cover_every_bar_with_macro_context(regime_run):
    settings, _, _ = regime_run
    hourly = _read(settings, "SELECT * FROM features WHERE interval = '1h' ORDER BY ts")
    assert len(hourly) == 42287
    assert hourly["eur_usd"].iloc[-1] > 0 and hourly["cpi_yoy"].notna().mean() > 0.9
    assert hourly["sentiment"].isna().all()  # no sentiment source offline


def test_regimes_and_tasks_are_stored_and_plotted(regime_run):
    settings, result, artifacts = regime_run
    stored = _read(settings, "SELECT regime, count(*) AS bars FROM regimes GROUP BY regime ORDER BY regime")
    assert stored["regime"].tolist() == [0, 1, 2]
    split = _read(settings, "SELECT split, count(*) AS n FROM tasks GROUP BY split").set_index("split")["n"]
    assert split["train"] > split["test"] > 5
    assert (Path(artifacts) / "reports" / "regimes_gmm.png").stat().st_size > 10_000
    metadata = result.asset_materializations_for_node("regimes")[0].metadata
    assert "data:image/png;base64," in metadata["price_by_regime"].value


def test_adaptation_report_compares_every_learner_with_persistence(regime_run):
    settings, result, artifacts = regime_run
    curves = _read(settings, "SELECT * FROM adaptation_curves WHERE axis = 'steps'")
    learners = {"persistence", *meta_learning.LEARNER_KINDS}
    assert set(curves["learner"]) == learners
    assert sorted(curves["value"].unique().tolist()) == [0, 1, 2, 5, 10]
    metadata = result.asset_materializations_for_node("adaptation_report")[0].metadata
    assert metadata["test_tasks"].value == 3
    assert "hypermamba better on" in metadata["comparison"].value
    assert (Path(artifacts) / "reports" / "adaptation.md").read_text().startswith("Test tasks: 3")
