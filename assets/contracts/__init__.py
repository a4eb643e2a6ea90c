"""Pandera contracts: one `DataFrameModel` per warehouse table, the single source of its schema."""

from assets.contracts.metrics import MetricsTable
from assets.contracts.ohlcv import OhlcvTable
from assets.contracts.predictions import PredictionsTable

__all__ = ["MetricsTable", "OhlcvTable", "PredictionsTable"]
