"""Every model variant by name, with its `paper` and `quick` training profiles.

`paper` follows the CryptoMamba paper and code: Adam lr 0.01, StepLR(100, 0.5), batch 32, seed 23,
1000 epochs and weight decay 1e-3 with volume, 1100 epochs and 5e-4 without, no early stopping.
The baselines get the same budget, so a difference in the table is the architecture's.
`quick` is a short run with early stopping, for the main job, the nightly retrain and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.cryptomamba import CryptoMamba
from models.forecasters import ArimaForecaster, Forecaster, NeuralForecaster, PersistenceForecaster
from models.recurrent import RecurrentForecaster
from models.smamba import SMamba
from models.training import TrainingConfig

Profile = Literal["quick", "paper"]
PROFILES: tuple[Profile, ...] = ("quick", "paper")
VOLUME_SUFFIX = "-v"

_PAPER_WITH_VOLUME = TrainingConfig(epochs=1000, weight_decay=1e-3)
_PAPER_WITHOUT_VOLUME = TrainingConfig(epochs=1100, weight_decay=5e-4)
_QUICK = TrainingConfig(epochs=30, patience=10, checkpoint_every=10)

_BUILDERS = {
    "cryptomamba": lambda features, window, target: CryptoMamba(features, window),
    "cryptomamba-time": lambda features, window, target: CryptoMamba(features, window, scan_axis="time"),
    "lstm": lambda features, window, target: RecurrentForecaster(features, "lstm"),
    "bilstm": lambda features, window, target: RecurrentForecaster(features, "lstm", bidirectional=True),
    "gru": lambda features, window, target: RecurrentForecaster(features, "gru"),
    "smamba": lambda features, window, target: SMamba(features, window, target),
}
NEURAL_MODELS = tuple(_BUILDERS)
# The five models of the paper's Table IV, each trained with and without volume.
TABLE_IV_MODELS = ("lstm", "bilstm", "gru", "smamba", "cryptomamba")


@dataclass(frozen=True)
class ModelVariant:
    """A model and whether its inputs include volume; its name is the model's, plus '-v' with volume."""

    model: str
    with_volume: bool

    @property
    def name(self) -> str:
        return self.model + (VOLUME_SUFFIX if self.with_volume else "")

    @classmethod
    def parse(cls, name: str) -> ModelVariant:
        with_volume = name.endswith(VOLUME_SUFFIX)
        model = name.removesuffix(VOLUME_SUFFIX) if with_volume else name
        if model not in (*NEURAL_MODELS, "arima", "persistence"):
            known = ", ".join(sorted((*NEURAL_MODELS, "arima", "persistence")))
            raise ValueError(f"unknown model {name!r}; known models: {known} (add '-v' for volume)")
        return cls(model, with_volume)


def training_config(variant: ModelVariant, profile: Profile) -> TrainingConfig:
    if profile == "quick":
        return _QUICK
    return _PAPER_WITH_VOLUME if variant.with_volume else _PAPER_WITHOUT_VOLUME


def build_forecaster(variant: ModelVariant, profile: Profile, progress: bool = True) -> Forecaster:
    """A fresh, unfitted forecaster for `variant` under `profile`."""
    if variant.model == "persistence":
        return PersistenceForecaster()
    if variant.model == "arima":
        return ArimaForecaster(name=variant.name)
    config = training_config(variant, profile)
    return NeuralForecaster(variant.name, _BUILDERS[variant.model], config, progress=progress)
