"""Pandera contracts: one `DataFrameModel` per warehouse table, the single source of its schema."""

from assets.contracts.backtests import BacktestsTable, EquityCurvesTable
from assets.contracts.dex_bars import DexBarsTable
from assets.contracts.dex_trades import DexTradesTable
from assets.contracts.live_forecasts import LiveForecastsTable
from assets.contracts.macro import MacroTable
from assets.contracts.metrics import MetricsTable
from assets.contracts.ohlcv import OhlcvTable
from assets.contracts.predictions import PredictionsTable
from assets.contracts.sentiment import FearGreedTable, SentimentItemsTable, SentimentSeriesTable
from assets.contracts.signals import SignalsTable
from assets.contracts.training_runs import TrainingRunsTable
from assets.contracts.walk_forward import WalkForwardTable

__all__ = [
    "BacktestsTable",
    "DexBarsTable",
    "DexTradesTable",
    "EquityCurvesTable",
    "FearGreedTable",
    "LiveForecastsTable",
    "MacroTable",
    "MetricsTable",
    "OhlcvTable",
    "PredictionsTable",
    "SentimentItemsTable",
    "SentimentSeriesTable",
    "SignalsTable",
    "TrainingRunsTable",
    "WalkForwardTable",
]
