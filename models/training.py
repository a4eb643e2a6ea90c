"""A small, explicit training loop: Adam, RMSE loss, StepLR, early stopping on validation, resumable.

Every `checkpoint_every` epochs the full training state (model, optimizer, scheduler, RNG, best
weights so far, epoch) is written atomically next to the configuration, a fingerprint of the data
and the model's architecture, so an interrupted run resumes where it stopped, and a checkpoint from
other data, other settings or another model is never resumed by mistake.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from models.atomic import write_atomically
from models.cpu_threads import kernels_take_the_cores
from models.flat_parameters import flat_optimizer_state, flat_parameters, trainable_parameters

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingConfig:
    """The optimisation settings of one run (the paper's: Adam 0.01, StepLR(100, 0.5), batch 32, seed 23)."""

    epochs: int
    learning_rate: float = 0.01
    weight_decay: float = 1e-3
    lr_step: int = 100
    lr_gamma: float = 0.5
    batch_size: int = 32
    patience: int | None = None  # epochs without a better validation RMSE before stopping; None: never
    seed: int = 23
    checkpoint_every: int = 25


@dataclass(frozen=True)
class ScaledData:
    """Scaled model inputs and targets of the training and validation splits."""

    train_inputs: torch.Tensor
    train_targets: torch.Tensor
    val_inputs: torch.Tensor
    val_targets: torch.Tensor
    fingerprint: str


@dataclass(frozen=True)
class TrainingResult:
    epochs_run: int
    best_epoch: int
    best_val_rmse: float  # in scaled units
    seconds: float  # total training time, including sessions before a resumption
    resumed_from_epoch: int
    finished_at: float  # Unix time the last epoch ended; a run read back keeps its original time


def seed_everything(seed: int) -> None:
    """Same seed, same run: Python, NumPy and torch generators, and deterministic torch kernels."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


# Our models' torch operations are small: one torch thread, and the Mamba kernels get the cores.
@kernels_take_the_cores()
def train(
    model: nn.Module,
    data: ScaledData,
    config: TrainingConfig,
    checkpoint: Path | None = None,
    progress: bool = True,
) -> TrainingResult:
    """Fit `model` in place; on return it holds the weights of its best validation epoch."""
    seed_everything(config.seed)
    with flat_parameters(model) as flat:
        return _train(model, flat, data, config, checkpoint, progress)


def _train(
    model: nn.Module,
    flat: torch.Tensor,
    data: ScaledData,
    config: TrainingConfig,
    checkpoint: Path | None,
    progress: bool,
) -> TrainingResult:
    """`train`'s loop, with the model's parameters views of `flat` and their gradients of `flat.grad`."""
    # Fused, on the one flat tensor: one kernel and one Python call for all parameters (per-tensor,
    # CryptoMamba's 140 tensors took 1.6 ms a step; see models/flat_parameters.py).
    optimizer = torch.optim.Adam(
        [flat], lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
    )
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=config.lr_step, gamma=config.lr_gamma)
    state = _TrainingState(best_val_rmse=float("inf"), best_epoch=0, best_weights=_copy(model), epoch=0)
    resumed = _resume(checkpoint, model, optimizer, scheduler, state, config, data.fingerprint)
    state.seconds_before = state.seconds  # training time spent before an interruption still counts
    generator = torch.Generator().manual_seed(config.seed)
    if resumed:
        generator.set_state(state.generator_state)
    started = time.perf_counter()
    epochs = tqdm(
        range(state.epoch, config.epochs),
        initial=state.epoch,
        total=config.epochs,
        disable=not progress,
        desc=type(model).__name__,
        unit="epoch",
    )
    for epoch in epochs:
        if _stopped_early(state, config):  # a resumed run that had already stopped
            break
        model.train()
        order = torch.randperm(len(data.train_targets), generator=generator)
        for batch in order.split(config.batch_size):
            training_step(model, flat, optimizer, data.train_inputs[batch], data.train_targets[batch])
        scheduler.step()
        val_rmse = evaluate_rmse(model, data.val_inputs, data.val_targets)
        state.epoch = epoch + 1
        if val_rmse < state.best_val_rmse:
            state.best_val_rmse, state.best_epoch, state.best_weights = val_rmse, state.epoch, _copy(model)
        epochs.set_postfix(val_rmse=f"{val_rmse:.5f}", best=f"{state.best_val_rmse:.5f}")
        stop = _stopped_early(state, config)
        last = stop or state.epoch == config.epochs
        # Counted to the end of the epoch, before its checkpoint is written: a finished run read back
        # from its checkpoint then reports the same seconds as the run itself.
        state.seconds = state.seconds_before + time.perf_counter() - started
        if last:
            state.finished_at = time.time()
        if checkpoint is not None and (state.epoch % config.checkpoint_every == 0 or last):
            state.generator_state = generator.get_state()
            _save(checkpoint, model, optimizer, scheduler, state, config, data.fingerprint)
        if stop:
            logger.info("early stop at epoch %d: best validation at epoch %d", state.epoch, state.best_epoch)
            break
    model.load_state_dict(state.best_weights)
    return TrainingResult(
        epochs_run=state.epoch,
        best_epoch=state.best_epoch,
        best_val_rmse=state.best_val_rmse,
        seconds=state.seconds,
        resumed_from_epoch=resumed,
        finished_at=state.finished_at if state.finished_at is not None else time.time(),
    )


def training_step(
    model: nn.Module,
    flat: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
) -> None:
    """One step on one batch: RMSE, its gradient into `flat.grad` (zeroed first: backward adds into
    it), and the optimizer's update."""
    loss = _rmse(model(inputs), targets)
    flat.grad.zero_()
    loss.backward()
    optimizer.step()


def _stopped_early(state: _TrainingState, config: TrainingConfig) -> bool:
    return config.patience is not None and state.epoch - state.best_epoch >= config.patience


@torch.no_grad()
def evaluate_rmse(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    model.eval()
    return float(_rmse(model(inputs), targets))


def _rmse(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean((predicted - target) ** 2))


def _copy(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


@dataclass
class _TrainingState:
    best_val_rmse: float
    best_epoch: int
    best_weights: dict[str, torch.Tensor]
    epoch: int
    generator_state: torch.Tensor | None = None
    seconds: float = 0.0  # training time up to the last checkpoint, across resumptions
    seconds_before: float = 0.0  # the part of it spent before this session
    finished_at: float | None = None  # Unix time of the last epoch's end, once there was one


def _save(
    path: Path,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: _TrainingState,
    config: TrainingConfig,
    fingerprint: str,
) -> None:
    """Save everything a resumed run needs, atomically: a crash never leaves half a checkpoint."""
    payload = {
        "config": asdict(config),
        "fingerprint": fingerprint,
        "architecture": repr(model),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "state": asdict(state),
        "torch_rng": torch.get_rng_state(),
    }
    write_atomically(path, lambda file: torch.save(payload, file))


def _resume(
    path: Path | None,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    state: _TrainingState,
    config: TrainingConfig,
    fingerprint: str,
) -> int:
    """Load a matching checkpoint into the run and return its epoch (0 when starting afresh)."""
    if path is None or not path.exists():
        return 0
    saved = torch.load(path, weights_only=False)
    # The architecture (the module tree with its settings, e.g. dropout rates or S-Mamba's use_norm)
    # catches a model changed without changing its parameter shapes. Checkpoints written before it
    # was recorded carry none and are judged by config and data alone.
    architecture = repr(model)
    same_model = saved.get("architecture", architecture) == architecture
    if saved["config"] != asdict(config) or saved["fingerprint"] != fingerprint or not same_model:
        logger.warning("checkpoint %s was made with other settings, data or model; starting afresh", path)
        return 0
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(flat_optimizer_state(saved["optimizer"], trainable_parameters(model)))
    scheduler.load_state_dict(saved["scheduler"])
    for name, value in saved["state"].items():
        setattr(state, name, value)
    torch.set_rng_state(saved["torch_rng"])
    logger.info("resuming %s at epoch %d", path, state.epoch)
    return state.epoch
