"""The `backtests` and `equity_curves` tables: every model's forecasts traded by every strategy.

$100 at the start of the validation and of the test year, fee 0 and 0.1%, next to buy-and-hold
(the paper's Table VI), plus the classifier policy and Kelly sizing. Rebuilt whole from
`predictions`, so a model that is no longer trained leaves no stale rows; the equity plots (the
paper's Figures 4-5) go to the reports folder and onto the asset's page.
"""

import pandas as pd
from dagster import MaterializeResult, MetadataValue, asset

from assets.contracts import BacktestsTable, EquityCurvesTable
from assets.ingest.store import store_load, table_totals
from assets.markdown import markdown_table
from assets.metadata import column_schema
from assets.plots import equity_figure, image_metadata
from assets.training.forecasts import PIPELINE_MODELS, asset_name
from assets.warehouse import Partition, read_table
from backtest.experiments import BUY_AND_HOLD, STRATEGY_RULES, backtest_predictions, balance_table
from models.atomic import write_atomically
from orchestration.resources import TrainingResource, WarehouseResource

START_BALANCE = 100.0
PLOTTED_FEE_BPS = 0.0


def read_predictions(warehouse: WarehouseResource) -> pd.DataFrame:
    """Every stored forecast with the close it was made at and the close it forecast."""
    with warehouse.get_connection() as conn:
        return read_table(
            conn, "SELECT model, symbol, split, ts, previous_close, actual, predicted FROM predictions"
        )


def read_daily_ohlc(warehouse: WarehouseResource) -> pd.DataFrame:
    """The daily bars' open/high/low, for stops and next-open fills."""
    with warehouse.get_connection() as conn:
        return read_table(conn, "SELECT symbol, ts, open, high, low FROM ohlcv WHERE interval = '1d'")


@asset(
    group_name="evaluation",
    deps=["ohlcv", *(asset_name(model) for model in PIPELINE_MODELS)],
    kinds={"numba", "duckdb"},
)
def backtests(warehouse: WarehouseResource, training: TrainingResource) -> MaterializeResult:
    """Each model's validation and test forecasts traded by each strategy, at fee 0 and 0.1%."""
    predictions, ohlc = read_predictions(warehouse), read_daily_ohlc(warehouse)
    summaries, curves = [], []
    for symbol, rows in predictions.groupby("symbol"):
        summary, curve = backtest_predictions(rows, ohlc[ohlc["symbol"] == symbol].drop(columns="symbol"))
        summaries.append(summary)
        curves.append(curve)
    summary = pd.concat(summaries, ignore_index=True)
    curve = pd.concat(curves, ignore_index=True)
    with warehouse.get_connection() as conn:
        stored = store_load(conn, "backtests", summary, BacktestsTable, Partition())
        store_load(conn, "equity_curves", curve, EquityCurvesTable, Partition())
        totals = table_totals(conn, "backtests")
    figures = {}
    for (symbol, split, strategy), png in equity_figures(curve).items():
        write_atomically(
            training.report(f"equity_{symbol}_{split}_{strategy}.png"), lambda f, b=png: f.write(b)
        )
        if split == "test":
            figures[f"equity/{strategy}"] = image_metadata(png, f"{strategy} on the test split")
    return MaterializeResult(
        metadata={
            **stored,
            **totals,
            "dagster/column_schema": column_schema(BacktestsTable),
            "table_vi": MetadataValue.md(markdown_table(balance_table(summary), float_format="{:,.2f}")),
            **figures,
        }
    )


def equity_figures(curve: pd.DataFrame) -> dict[tuple[str, str, str], bytes]:
    """One figure per symbol, split and strategy (no fee): every model's balance and buy-and-hold."""
    plotted = curve[curve["fee_bps"] == PLOTTED_FEE_BPS]
    figures = {}
    for (symbol, split), rows in plotted.groupby(["symbol", "split"]):
        hold = rows[rows["strategy"] == BUY_AND_HOLD].set_index("ts")["equity"]
        for strategy in (name for name in STRATEGY_RULES if name != BUY_AND_HOLD):
            lines = {
                model: series.set_index("ts")["equity"]
                for model, series in rows[rows["strategy"] == strategy].groupby("model")
            }
            title = f"{symbol} {split}: {strategy}, ${START_BALANCE:.0f} at the start, no fee"
            figures[(symbol, split, strategy)] = equity_figure(
                {**lines, "buy and hold": hold}, title, START_BALANCE
            )
    return figures
