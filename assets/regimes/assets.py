"""The `regimes` and `tasks` assets over the hourly BTCUSDT features.

Hourly bars give the meta-learners hundreds of regime episodes where the daily series gives a few;
the split dates are those of `models.tasks` (test tasks: the file's last nine months).
"""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import RegimesTable, TasksTable
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema, markdown_metadata
from assets.plots import image_metadata, regime_figure
from assets.warehouse import Partition, read_table
from models.atomic import write_atomically
from models.regimes import RegimeConfig, segment
from models.tasks import TaskConfig, build_samples, build_tasks
from orchestration.resources import RegimeResource, TrainingResource, WarehouseResource

REGIME_SYMBOL, REGIME_INTERVAL = "BTCUSDT", "1h"


def regime_features(warehouse: WarehouseResource) -> pd.DataFrame:
    with warehouse.get_connection() as conn:
        return read_table(
            conn,
            "SELECT * FROM features WHERE symbol = ? AND interval = ? ORDER BY ts",
            [REGIME_SYMBOL, REGIME_INTERVAL],
        )


def stored_regimes(warehouse: WarehouseResource, method: str) -> pd.DataFrame:
    with warehouse.get_connection() as conn:
        return read_table(
            conn,
            "SELECT ts, regime, episode FROM regimes "
            "WHERE symbol = ? AND interval = ? AND method = ? ORDER BY ts",
            [REGIME_SYMBOL, REGIME_INTERVAL, method],
        )


@asset(group_name="regimes", deps=["features"], kinds={"scikitlearn", "duckdb"})
def regimes(
    warehouse: WarehouseResource, regime_settings: RegimeResource, training: TrainingResource
) -> MaterializeResult:
    """Each hourly bar's regime and episode, by the configured method; a price plot coloured by regime."""
    features = regime_features(warehouse)
    config = RegimeConfig(method=regime_settings.method, fit_until=TaskConfig().train_end)
    labels = segment(features, config)
    frame = labels.assign(symbol=REGIME_SYMBOL, interval=REGIME_INTERVAL, method=config.method)
    partition = Partition({"symbol": REGIME_SYMBOL, "interval": REGIME_INTERVAL, "method": config.method})
    with warehouse.get_connection() as conn:
        stored = store_load(conn, "regimes", frame, RegimesTable, partition)
        totals = table_totals(conn, "regimes")
    close = features.set_index("ts").loc[labels["ts"], "close"].to_numpy()
    png = regime_figure(
        labels["ts"],
        close,
        labels["regime"].to_numpy(),
        f"{REGIME_SYMBOL} {REGIME_INTERVAL}: {config.method} regimes",
    )
    write_atomically(training.report(f"regimes_{config.method}.png"), lambda file: file.write(png))
    episodes = labels.groupby("episode").agg(regime=("regime", "first"), bars=("ts", "size"))
    summary = (
        episodes.groupby("regime")
        .agg(episodes=("bars", "size"), median_bars=("bars", "median"))
        .reset_index()
    )
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(RegimesTable),
            "episodes": int(labels["episode"].max()) + 1,
            "by_regime": markdown_metadata(summary),
            "price_by_regime": image_metadata(png, f"{config.method} regimes"),
        }
    )


@asset(group_name="regimes", deps=["regimes"], kinds={"duckdb"})
def tasks(warehouse: WarehouseResource, regime_settings: RegimeResource) -> MaterializeResult:
    """One meta-learning task per long-enough episode: support, query and embedding, split by time."""
    features = regime_features(warehouse)
    config = TaskConfig()
    built = build_tasks(
        build_samples(features, config), stored_regimes(warehouse, regime_settings.method), config
    )
    if built.empty:
        raise ValueError(
            f"no regime episode holds {config.support + config.query} samples; "
            "lower the regimes' min_run or the task sizes"
        )
    frame = built.assign(symbol=REGIME_SYMBOL, interval=REGIME_INTERVAL, method=regime_settings.method)
    partition = Partition(
        {"symbol": REGIME_SYMBOL, "interval": REGIME_INTERVAL, "method": regime_settings.method}
    )
    with warehouse.get_connection() as conn:
        stored = store_load(conn, "tasks", frame, TasksTable, partition)
        totals = table_totals(conn, "tasks")
    counts = frame.groupby(["split", "regime"]).size().rename("tasks").reset_index()
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(TasksTable),
            "tasks_by_split": markdown_metadata(counts),
        }
    )
