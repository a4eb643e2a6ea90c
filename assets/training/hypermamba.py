"""The `hypermamba_model` asset: HyperMamba, its baselines and MAML trained on the regime tasks.

Trains, on the training tasks (validation tasks for selection), the pooled global Mamba and
CryptoMamba models, then MAML, the head-only hypernetwork and HyperMamba warm-started from the
global model, and saves them in one checkpoint that `adaptation_report` evaluates.
"""

import time

from dagster import MaterializeResult, asset

from assets.regimes.assets import regime_features
from assets.warehouse import read_table
from models.meta_learning import META_PROFILES, query_mse, save_learners, train_learners
from models.tasks import TaskConfig, build_samples, materialize_tasks
from orchestration.resources import RegimeResource, TrainingResource, WarehouseResource


def split_tasks(warehouse: WarehouseResource, method: str, max_tasks: int | None) -> dict[str, list]:
    """The stored tasks' tensors by split (the earliest `max_tasks` of each), rebuilt from the features."""
    samples = build_samples(regime_features(warehouse), TaskConfig())
    with warehouse.get_connection() as conn:
        rows = read_table(conn, "SELECT * FROM tasks WHERE method = ? ORDER BY task_id", [method])
    built = {
        split: materialize_tasks(samples, rows[rows["split"] == split].iloc[:max_tasks])
        for split in ("train", "val", "test")
    }
    built["features"] = samples.inputs.shape[2]
    return built


@asset(group_name="training", deps=["tasks"], kinds={"pytorch"})
def hypermamba_model(
    warehouse: WarehouseResource, training: TrainingResource, regime_settings: RegimeResource
) -> MaterializeResult:
    """Global baselines, MAML, HyperMAML-style head-only and HyperMamba on the training tasks."""
    config = META_PROFILES[training.profile]
    tasks = split_tasks(warehouse, regime_settings.method, config.max_tasks)
    started = time.perf_counter()
    learners = train_learners(tasks["features"], TaskConfig().window, tasks["train"], tasks["val"], config)
    seconds = time.perf_counter() - started
    path = training.checkpoint(f"hypermamba-{regime_settings.method}")
    save_learners(path, learners, tasks["features"], TaskConfig().window, config)
    return MaterializeResult(
        metadata={
            "checkpoint": str(path),
            "profile": training.profile,
            "train_tasks": len(tasks["train"]),
            "val_tasks": len(tasks["val"]),
            "training_seconds": round(seconds, 1),
            **{
                f"val_query_mse/{name}": query_mse(learner, tasks["val"], config.inner_steps)
                for name, learner in learners.items()
            },
        }
    )
