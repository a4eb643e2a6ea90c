"""One interface for every model: fit on the training samples, forecast the next close of any samples.

Neural models, ARIMA and persistence all answer the same two calls, so the training assets, the
Table IV script and the metrics never need to know which kind they hold.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from models.samples import WindowSamples
from models.scaling import MinMaxScaler
from models.training import ScaledData, TrainingConfig, seed_everything, train

TRAIN, VAL = "train", "val"


@dataclass(frozen=True)
class FitReport:
    """What fitting cost and produced; neural runs also say where validation was best."""

    parameters: int
    seconds: float
    epochs_run: int = 0
    best_epoch: int = 0
    finished_at: float | None = None  # Unix time training ended (kept by a checkpoint); None: just now


class Forecaster(Protocol):
    name: str

    def fit(self, samples: WindowSamples, checkpoint: Path | None = None) -> FitReport:
        """Fit on `samples`' train split (validation for early stopping only); never sees test."""

    def predict(self, samples: WindowSamples) -> np.ndarray:
        """Next-day close forecasts, in price units, one per sample."""


@dataclass
class PersistenceForecaster:
    """Tomorrow's close is today's: the baseline every model must beat."""

    name: str = "persistence"

    def fit(self, samples: WindowSamples, checkpoint: Path | None = None) -> FitReport:
        return FitReport(parameters=0, seconds=0.0)

    def predict(self, samples: WindowSamples) -> np.ndarray:
        return samples.previous_close.copy()


ModuleBuilder = Callable[[int, int, int], nn.Module]  # (features, window, target index) -> module


@dataclass
class NeuralForecaster:
    """A torch module trained on min-max scaled windows (scaler fitted on the train split only)."""

    name: str
    build: ModuleBuilder
    config: TrainingConfig
    progress: bool = True
    module: nn.Module | None = None
    scaler: MinMaxScaler | None = None

    def fit(self, samples: WindowSamples, checkpoint: Path | None = None) -> FitReport:
        train_samples = samples.subset(samples.in_split(TRAIN))
        val_samples = samples.subset(samples.in_split(VAL))
        self.scaler = MinMaxScaler.fit(train_samples)
        seed_everything(self.config.seed)
        _, features, window = samples.features.shape
        self.module = self.build(features, window, samples.target_index)
        data = ScaledData(
            train_inputs=self._inputs(train_samples),
            train_targets=self._targets(train_samples),
            val_inputs=self._inputs(val_samples),
            val_targets=self._targets(val_samples),
            fingerprint=samples.subset(samples.in_split(TRAIN) | samples.in_split(VAL)).fingerprint(),
        )
        result = train(self.module, data, self.config, checkpoint, progress=self.progress)
        return FitReport(
            parameters=sum(parameter.numel() for parameter in self.module.parameters()),
            seconds=result.seconds,
            epochs_run=result.epochs_run,
            best_epoch=result.best_epoch,
            finished_at=result.finished_at,
        )

    @torch.no_grad()
    def predict(self, samples: WindowSamples) -> np.ndarray:
        if self.module is None or self.scaler is None:
            raise RuntimeError(f"{self.name} must be fitted before it can predict")
        self.module.eval()
        scaled = self.module(self._inputs(samples)).double().numpy()
        return self.scaler.price(scaled)

    def _inputs(self, samples: WindowSamples) -> torch.Tensor:
        return torch.as_tensor(self.scaler.features(samples.features), dtype=torch.float32)

    def _targets(self, samples: WindowSamples) -> torch.Tensor:
        return torch.as_tensor(self.scaler.target(samples.target), dtype=torch.float32)


@dataclass
class ArimaForecaster:
    """ARIMA on daily closes: parameters fitted on the train split, then one-step-ahead forecasts.

    Each split's closes are rebuilt as one daily series (its first window, then each target in turn);
    the fitted parameters are applied to it unchanged, so a forecast uses only days before its target.
    """

    order: tuple[int, int, int] = (5, 1, 0)
    name: str = "arima"
    fitted: object | None = None

    def fit(self, samples: WindowSamples, checkpoint: Path | None = None) -> FitReport:
        from statsmodels.tsa.arima.model import ARIMA  # imported here: statsmodels takes a second to load

        started = time.perf_counter()
        series = _daily_closes(samples.subset(samples.in_split(TRAIN)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; the fit is checked below
            self.fitted = ARIMA(series, order=self.order).fit()
        if not np.all(np.isfinite(self.fitted.params)):
            raise RuntimeError(f"ARIMA{self.order} did not converge on the train split")
        return FitReport(parameters=len(self.fitted.params), seconds=time.perf_counter() - started)

    def predict(self, samples: WindowSamples) -> np.ndarray:
        if self.fitted is None:
            raise RuntimeError("arima must be fitted before it can predict")
        forecasts = np.empty(len(samples))
        for split in dict.fromkeys(samples.split):
            mask = samples.in_split(split)
            part = samples.subset(mask)
            series = _daily_closes(part)
            window = part.features.shape[2]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                applied = self.fitted.apply(series)
            forecasts[mask] = applied.predict(start=window, end=len(series) - 1)
        return forecasts


def _daily_closes(samples: WindowSamples) -> np.ndarray:
    """The split's days as one series: the first sample's window, then every sample's target."""
    steps = np.diff(samples.ts.asi8)
    if len(samples) == 0 or np.any(steps != 86_400 * 10**9):
        raise ValueError("ARIMA needs the samples of a split to be consecutive days")
    first_window = samples.features[0, samples.target_index]
    return np.r_[first_window, samples.target]
