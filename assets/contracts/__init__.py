"""Pandera contracts: one `DataFrameModel` per warehouse table, the single source of its schema."""

from assets.contracts.backtests import BacktestsTable, EquityCurvesTable
from assets.contracts.dex_bars import DexBarsTable
from assets.contracts.dex_trades import DexTradesTable
from assets.contracts.features import FeaturesTable
from assets.contracts.live_forecasts import LiveForecastsTable
from assets.contracts.macro import MacroTable
from assets.contracts.metrics import MetricsTable
from assets.contracts.ohlcv import OhlcvTable
from assets.contracts.onchain import PaperLedgerTable, SignalTransactionsTable
from assets.contracts.predictions import PredictionsTable
from assets.contracts.regimes import AdaptationCurvesTable, RegimesTable, TasksTable
from assets.contracts.sentiment import FearGreedTable, SentimentItemsTable, SentimentSeriesTable
from assets.contracts.signals import SignalsTable
from assets.contracts.training_runs import TrainingRunsTable
from assets.contracts.walk_forward import WalkForwardTable

__all__ = [
    "AdaptationCurvesTable",
    "BacktestsTable",
    "DexBarsTable",
    "DexTradesTable",
    "EquityCurvesTable",
    "FearGreedTable",
    "FeaturesTable",
    "LiveForecastsTable",
    "MacroTable",
    "MetricsTable",
    "OhlcvTable",
    "PaperLedgerTable",
    "PredictionsTable",
    "RegimesTable",
    "SentimentItemsTable",
    "SentimentSeriesTable",
    "SignalTransactionsTable",
    "SignalsTable",
    "TasksTable",
    "TrainingRunsTable",
    "WalkForwardTable",
]
