"""The persistence baseline's forecasts on the CryptoMamba samples of every split."""

import pandas as pd
from dagster import MaterializeResult, asset

from assets.contracts import PredictionsTable
from assets.ingest.market.ohlcv import BTC_SYMBOL
from assets.metadata import stored_table_metadata
from assets.validation import validate_rows
from assets.warehouse import Partition, read_table, replace_partition
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
        rows = validate_rows(frame, PredictionsTable)
        replace_partition(conn, "predictions", rows, Partition({"model": MODEL_NAME, "symbol": BTC_SYMBOL}))
        return MaterializeResult(metadata=stored_table_metadata(conn, "predictions", rows, PredictionsTable))
