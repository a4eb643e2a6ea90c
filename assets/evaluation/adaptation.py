"""The `adaptation_report` asset: how fast each learner adapts to a new regime, on held-out tasks.

Writes `adaptation_curves` (query RMSE against support updates and support size, with 95%
intervals), shows the paired comparison with HyperMamba, the bars each learner needs to recover
after a regime change and its trading on the query windows, and plots query loss against
adaptation steps. Persistence is always among the learners.
"""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import AdaptationCurvesTable
from assets.ingest.store import store_load, table_totals
from assets.markdown import markdown_table
from assets.metadata import column_schema, markdown_metadata
from assets.plots import image_metadata, lines_figure
from assets.training.hypermamba import split_tasks
from assets.warehouse import Partition
from models.adaptation import (
    PERSISTENCE,
    REPORT_STEPS,
    paired_comparison,
    query_trading,
    recovery_bars,
    steps_curve,
    steps_errors,
    support_curve,
)
from models.atomic import write_atomically
from models.cpu_threads import kernels_take_the_cores
from models.meta_learning import load_learners
from orchestration.resources import RegimeResource, TrainingResource, WarehouseResource


@asset(group_name="evaluation", deps=["hypermamba_model"], kinds={"pytorch", "duckdb"})
def adaptation_report(
    warehouse: WarehouseResource, training: TrainingResource, regime_settings: RegimeResource
) -> MaterializeResult:
    """Adaptation efficiency of every learner on the test tasks, with persistence alongside."""
    learners, config = load_learners(training.checkpoint(f"hypermamba-{regime_settings.method}"))
    test = split_tasks(warehouse, regime_settings.method, config.max_tasks)["test"]
    everyone = {PERSISTENCE: None, **learners}
    with kernels_take_the_cores():  # adapting is training in small steps: the kernels get the cores
        errors_by_steps = steps_errors(everyone, test)
        by_support = support_curve(everyone, test)
        trading = query_trading(everyone, test)
    by_steps = steps_curve(errors_by_steps)
    comparison = (
        paired_comparison(errors_by_steps[REPORT_STEPS])
        .merge(recovery_bars(by_support).rename_axis("learner").reset_index(), on="learner", how="outer")
        .merge(trading, on="learner", how="outer")
        # counts stay whole numbers where the outer merges leave gaps (buy-and-hold only trades)
        .astype({"tasks": "Int64", "bars_to_recover": "Int64"})
    )
    curves = pd.concat(
        [
            by_steps.rename(columns={"steps": "value"}).assign(axis="steps"),
            by_support.rename(columns={"support": "value"}).assign(
                axis="support", ci_low=float("nan"), ci_high=float("nan")
            ),
        ],
        ignore_index=True,
    )
    with warehouse.get_connection() as conn:
        stored = store_load(conn, "adaptation_curves", curves, AdaptationCurvesTable, Partition())
        totals = table_totals(conn, "adaptation_curves")
    figure = lines_figure(
        {name: rows.set_index("steps")["query_rmse"] for name, rows in by_steps.groupby("learner")},
        f"Query RMSE on {len(test)} held-out regime tasks against adaptation steps",
        "gradient steps on the support set",
        "query RMSE (hourly return, %)",
    )
    write_atomically(training.report("adaptation_steps.png"), lambda file: file.write(figure))
    steps_table = by_steps.pivot(index="learner", columns="steps", values="query_rmse").reset_index()
    report = "\n\n".join(
        [
            f"Test tasks: {len(test)}",
            markdown_table(steps_table.rename(columns=str), float_format="{:.4f}"),
            markdown_table(comparison, float_format="{:.4f}"),
        ]
    )
    write_atomically(training.report("adaptation.md"), lambda file: file.write(report.encode()))
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(AdaptationCurvesTable),
            "test_tasks": len(test),
            "query_rmse_by_steps": markdown_metadata(steps_table.rename(columns=str)),
            "comparison": markdown_metadata(comparison),
            "loss_vs_steps": image_metadata(figure, "query RMSE against adaptation steps"),
        }
    )
