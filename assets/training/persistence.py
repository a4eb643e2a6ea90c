"""The persistence baseline's forecasts on the CryptoMamba samples of every split."""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import PredictionsTable
from assets.ingest.market.ohlcv import BTC_SYMBOL
from assets.ingest.store import store_load, table_totals
from assets.metadata import column_schema
from assets.warehouse import Partition, read_table
from models.persistence import persistence_forecast
from models.splits import window_targets
from orchestration.resources import WarehouseResource

MODEL_NAME = "persistence"


@asset(group_name="training", deps=["ohlcv"], kinds={"duckdb"})
def persistence_predictions(warehouse: WarehouseResource) -> MaterializeResult:
    """Tomorrow's close = today's close, for each target bar of the train, val and test samples."""
    with warehouse.get_connection() as conn:
        bars = read_table(
            conn,
            "SELECT ts, close FROM ohlcv WHERE symbol = ? AND interval = '1d' ORDER BY ts",
            [BTC_SYMBOL],
        )
        targets = window_targets(bars["ts"])
        positions = targets["position"].to_numpy()
        close = bars["close"].to_numpy()
        frame = pd.DataFrame(
            {
                "model": MODEL_NAME,
                "symbol": BTC_SYMBOL,
                "split": targets["split"],
                "ts": bars["ts"].to_numpy()[positions],
                "actual": close[positions],
                "predicted": persistence_forecast(close, positions),
            }
        )
        report = store_load(
            conn,
            "predictions",
            frame,
            PredictionsTable,
            Partition({"model": MODEL_NAME, "symbol": BTC_SYMBOL}),
        )
        return MaterializeResult(
            metadata={
                **report,
                **table_totals(conn, "predictions"),
                "dagster/column_schema": column_schema(PredictionsTable),
            }
        )
