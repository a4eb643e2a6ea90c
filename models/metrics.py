"""Point-forecast metrics: the errors the CryptoMamba paper reports (MAPE in percent), and direction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ForecastErrors:
    """RMSE, MAPE (%) and MAE over `samples` forecasts."""

    samples: int
    rmse: float
    mape: float
    mae: float


def forecast_errors(actual: np.ndarray, predicted: np.ndarray) -> ForecastErrors:
    """Errors of `predicted` against `actual`; both must be finite and of equal length, actuals non-zero."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    if actual.shape != predicted.shape or actual.size == 0:
        raise ValueError(f"need equal, non-empty shapes; got {actual.shape} and {predicted.shape}")
    if not (np.isfinite(actual).all() and np.isfinite(predicted).all()):
        raise ValueError("actual and predicted values must be finite")
    if np.any(actual == 0):
        raise ValueError("MAPE is undefined where the actual value is 0")
    error = predicted - actual
    return ForecastErrors(
        samples=int(actual.size),
        rmse=float(np.sqrt(np.mean(error**2))),
        mape=float(np.mean(np.abs(error) / np.abs(actual)) * 100.0),
        mae=float(np.mean(np.abs(error))),
    )


def directional_accuracy(previous: np.ndarray, actual: np.ndarray, predicted: np.ndarray) -> float:
    """Share of samples where the forecast moves from the previous close the way the price did.

    A forecast equal to the previous close predicts no move; it counts as right only when the price
    did not move either (persistence therefore scores about 0 here, which is the honest answer).
    """
    return float(np.mean(np.sign(predicted - previous) == np.sign(actual - previous)))
