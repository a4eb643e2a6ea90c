"""Pandera contracts: one `DataFrameModel` per warehouse table, the single source of its schema."""

from assets.contracts.dex_bars import DexBarsTable
from assets.contracts.dex_trades import DexTradesTable
from assets.contracts.macro import MacroTable
from assets.contracts.metrics import MetricsTable
from assets.contracts.ohlcv import OhlcvTable
from assets.contracts.predictions import PredictionsTable
from assets.contracts.sentiment import FearGreedTable, SentimentItemsTable, SentimentSeriesTable
from assets.contracts.training_runs import TrainingRunsTable

__all__ = [
    "DexBarsTable",
    "DexTradesTable",
    "FearGreedTable",
    "MacroTable",
    "MetricsTable",
    "OhlcvTable",
    "PredictionsTable",
    "SentimentItemsTable",
    "SentimentSeriesTable",
    "TrainingRunsTable",
]
