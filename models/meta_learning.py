"""Meta-learning on regime tasks: HyperMamba, its head-only variant, MAML, and the global baselines.

Each learner answers one question: given a task's support set and n gradient steps, what does it
forecast on the query set? The meta-learners are trained the same way (HyperMamba paper, Alg. IV-C):

    for each meta-batch of training tasks T_i:
        theta_i  = theta + H_phi(e_i)                         (MAML: theta_i = theta)
        theta_i' = theta_i - alpha * grad L_support(theta_i)  (`inner_steps` times, on the adapted subset)
        loss    += L_query(theta_i')
    (theta, phi) <- Adam step of size beta on the mean query loss

With `second_order` the inner gradient is differentiated through (torch.func.grad over the reference
scan, whose backward is itself differentiable); otherwise it is a constant (first-order MAML) and
the compiled scan computes it. Selection uses the validation tasks'
query loss, checked every `validate_every` iterations. Losses are MSE on returns in percent.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.atomic import write_atomically
from models.cpu_threads import kernels_take_the_cores
from models.cryptomamba import CryptoMamba
from models.hypermamba import HyperNetwork, RegimeMamba, Weights, forecast, weights_of
from models.selective_scan import differentiable_twice
from models.tasks import EMBEDDING_COLUMNS, Task
from models.training import ScaledData, TrainingConfig, seed_everything, train

logger = logging.getLogger(__name__)

META_METHODS = ("maml", "hypermaml_head", "hypermamba")


@dataclass(frozen=True)
class MetaConfig:
    iterations: int = 300
    tasks_per_batch: int = 8
    inner_steps: int = 1
    inner_lr: float = 0.01  # alpha
    outer_lr: float = 1e-3  # beta
    second_order: bool = False
    rank: int = 2
    validate_every: int = 25
    global_epochs: int = 30  # pooled training of the global models
    fine_tune_lr: float = 0.01
    max_gradient_norm: float = 1.0  # per inner step: keeps ten steps from running away
    max_tasks: int | None = None  # per split, the earliest first; None = every task
    seed: int = 23


@dataclass
class Learner:
    """A trained model and how it adapts; `adapted` None means it never adapts."""

    name: str
    model: nn.Module
    hyper: HyperNetwork | None = None
    adapted: tuple[str, ...] | None = None
    inner_lr: float = 0.0
    second_order: bool = False
    max_gradient_norm: float = 1.0
    transpose_inputs: bool = False  # CryptoMamba reads (batch, features, window)

    def weights(self, task: Task) -> Weights:
        shared = weights_of(self.model)
        return shared if self.hyper is None else self.hyper.task_weights(shared, task.embedding)

    def predict(self, task: Task, steps: int, support_size: int | None = None) -> torch.Tensor:
        """Query forecasts after `steps` gradient steps on the first `support_size` support samples."""
        weights = self.weights(task)
        size = len(task.support_y) if support_size is None else support_size
        if self.adapted is not None and steps > 0 and size > 0:
            with torch.enable_grad():
                weights = adapt(
                    self.model, weights, self.adapted, task.support_x[:size], task.support_y[:size], steps,
                    self.inner_lr, second_order=False, max_gradient_norm=self.max_gradient_norm,
                )  # fmt: skip
        with torch.no_grad():
            return self._forecast(weights, task.query_x).detach()

    def _forecast(self, weights: Weights, inputs: torch.Tensor) -> torch.Tensor:
        return forecast(self.model, weights, inputs.transpose(1, 2) if self.transpose_inputs else inputs)


def adapt(
    model: nn.Module,
    weights: Weights,
    names: tuple[str, ...],
    inputs: torch.Tensor,
    targets: torch.Tensor,
    steps: int,
    lr: float,
    second_order: bool,
    max_gradient_norm: float = 1.0,
) -> Weights:
    """`steps` gradient steps of size `lr` on the support MSE, over the weights named `names`.

    Each step's gradient is scaled down to at most `max_gradient_norm` (all weights together).
    """
    for _ in range(steps):
        subset = {name: weights[name] for name in names}

        def support_loss(trial: Weights, fixed: Weights = weights) -> torch.Tensor:
            return nn.functional.mse_loss(forecast(model, {**fixed, **trial}, inputs), targets)

        if second_order:
            with differentiable_twice():
                gradients = torch.func.grad(support_loss)(subset)
        else:  # a constant gradient: the compiled scan's own backward will do
            values = torch.autograd.grad(support_loss(subset), list(subset.values()))
            gradients = {name: value.detach() for name, value in zip(subset, values, strict=True)}
        norm = torch.sqrt(sum(gradient.square().sum() for gradient in gradients.values()))
        scale = torch.clamp(max_gradient_norm / (norm + 1e-12), max=1.0)
        weights = {**weights, **{name: subset[name] - lr * scale * gradients[name] for name in names}}
    return weights


@kernels_take_the_cores()  # as `train` does
def meta_train(
    method: str,
    features: int,
    train_tasks: list[Task],
    val_tasks: list[Task],
    config: MetaConfig,
    warm_start: nn.Module | None = None,
) -> Learner:
    """Meta-train one of META_METHODS; the weights of the best validation check are kept.

    `warm_start` (the pooled `global` model) gives the shared weights their starting point, so the
    meta-learners and the global baseline differ by adaptation, not by how long the base was trained.
    """
    if method not in META_METHODS:
        raise ValueError(f"meta-learning method {method!r}: expected one of {', '.join(META_METHODS)}")
    if not train_tasks or not val_tasks:
        raise ValueError(
            f"{method}: needs training and validation tasks, got {len(train_tasks)} and {len(val_tasks)}"
        )
    seed_everything(config.seed)
    model = RegimeMamba(features)
    if warm_start is not None:
        model.load_state_dict(warm_start.state_dict())
    hyper = None
    if method != "maml":
        adapt_subset = "head" if method == "hypermaml_head" else "head+ssm"
        hyper = HyperNetwork(model, len(EMBEDDING_COLUMNS), adapt=adapt_subset, rank=config.rank)
    names = hyper.adapted_names if hyper is not None else tuple(name for name, _ in model.named_parameters())
    learner = Learner(
        method, model, hyper, names, config.inner_lr, config.second_order, config.max_gradient_norm
    )
    parameters = list(model.parameters()) + (list(hyper.parameters()) if hyper is not None else [])
    optimizer = torch.optim.Adam(parameters, lr=config.outer_lr)
    sampler = random.Random(config.seed)
    best = (
        float("inf"),
        copy.deepcopy(model.state_dict()),
        copy.deepcopy(hyper.state_dict()) if hyper else None,
    )
    for iteration in range(1, config.iterations + 1):
        batch = sampler.sample(train_tasks, min(config.tasks_per_batch, len(train_tasks)))
        losses = []
        for task in batch:
            adapted = adapt(
                model, learner.weights(task), names, task.support_x, task.support_y, config.inner_steps,
                config.inner_lr, config.second_order, config.max_gradient_norm,
            )  # fmt: skip
            with differentiable_twice() if config.second_order else contextlib.nullcontext():
                losses.append(nn.functional.mse_loss(forecast(model, adapted, task.query_x), task.query_y))
        optimizer.zero_grad()
        torch.stack(losses).mean().backward()
        optimizer.step()
        if iteration % config.validate_every == 0 or iteration == config.iterations:
            score = query_mse(learner, val_tasks, config.inner_steps)
            logger.info("%s iteration %d: validation query MSE %.4f", method, iteration, score)
            if score < best[0]:
                best = (
                    score,
                    copy.deepcopy(model.state_dict()),
                    copy.deepcopy(hyper.state_dict()) if hyper else None,
                )
    model.load_state_dict(best[1])
    if hyper is not None:
        hyper.load_state_dict(best[2])
    return learner


def query_mse(learner: Learner, tasks: list[Task], steps: int) -> float:
    return float(
        np.mean([nn.functional.mse_loss(learner.predict(task, steps), task.query_y).item() for task in tasks])
    )


def train_global(
    kind: str, features: int, window: int, train_tasks: list[Task], val_tasks: list[Task], config: MetaConfig
) -> Learner:
    """A model fitted on every training task's samples pooled, regimes ignored: the no-adaptation baseline.

    `kind` "regime_mamba" is the meta-learners' base architecture; "cryptomamba" is the paper's model
    (hidden dims [window, 16, 32, 1], scanning over the features as published).
    """
    seed_everything(config.seed)
    transpose = kind == "cryptomamba"
    model: nn.Module = (
        CryptoMamba(features, window, hidden_dims=(window, 16, 32, 1)) if transpose else RegimeMamba(features)
    )

    def pooled(tasks: list[Task]) -> tuple[torch.Tensor, torch.Tensor]:
        inputs = torch.cat([torch.cat([task.support_x, task.query_x]) for task in tasks])
        targets = torch.cat([torch.cat([task.support_y, task.query_y]) for task in tasks])
        return (inputs.transpose(1, 2) if transpose else inputs), targets

    train_inputs, train_targets = pooled(train_tasks)
    val_inputs, val_targets = pooled(val_tasks)
    data = ScaledData(train_inputs, train_targets, val_inputs, val_targets, fingerprint="regime-tasks")
    settings = TrainingConfig(
        epochs=config.global_epochs, learning_rate=1e-3, weight_decay=1e-5, patience=5, seed=config.seed
    )
    train(model, data, settings, checkpoint=None, progress=False)
    if kind == "cryptomamba":
        return Learner("global_cryptomamba", model, transpose_inputs=True)
    return Learner("global", model)


def fine_tuned(global_learner: Learner, config: MetaConfig) -> Learner:
    """The global model, fine-tuned on each task's support set for n steps of plain gradient descent."""
    names = tuple(name for name, _ in global_learner.model.named_parameters())
    return Learner(
        "fine_tune",
        global_learner.model,
        adapted=names,
        inner_lr=config.fine_tune_lr,
        max_gradient_norm=config.max_gradient_norm,
    )


LEARNER_KINDS = {
    "global": "regime_mamba",
    "global_cryptomamba": "cryptomamba",
    "fine_tune": "regime_mamba",
    "maml": "regime_mamba",
    "hypermaml_head": "regime_mamba",
    "hypermamba": "regime_mamba",
}


def save_learners(
    path: Path, learners: dict[str, Learner], features: int, window: int, config: MetaConfig
) -> None:
    """Every learner's weights, and what rebuilding them needs, in one atomically written file."""
    states = {
        name: {
            "model": learner.model.state_dict(),
            "hyper": learner.hyper.state_dict() if learner.hyper is not None else None,
            "adapt": learner.hyper.adapt if learner.hyper is not None else None,
        }
        for name, learner in learners.items()
        if name != "fine_tune"  # the global model's weights, adapted at evaluation
    }
    payload = {"features": features, "window": window, "config": asdict(config), "states": states}
    write_atomically(path, lambda file: torch.save(payload, file))


def load_learners(path: Path) -> tuple[dict[str, Learner], MetaConfig]:
    payload = torch.load(path, weights_only=False)
    config = MetaConfig(**payload["config"])
    features, window = payload["features"], payload["window"]
    learners: dict[str, Learner] = {}
    for name, state in payload["states"].items():
        if LEARNER_KINDS[name] == "cryptomamba":
            model: nn.Module = CryptoMamba(features, window, hidden_dims=(window, 16, 32, 1))
        else:
            model = RegimeMamba(features)
        model.load_state_dict(state["model"])
        hyper = None
        if state["hyper"] is not None:
            hyper = HyperNetwork(model, len(EMBEDDING_COLUMNS), adapt=state["adapt"], rank=config.rank)
            hyper.load_state_dict(state["hyper"])
        if name in META_METHODS:
            names = (
                hyper.adapted_names if hyper is not None else tuple(n for n, _ in model.named_parameters())
            )
            learners[name] = Learner(
                name, model, hyper, names, config.inner_lr, config.second_order, config.max_gradient_norm
            )
        else:
            learners[name] = Learner(name, model, transpose_inputs=LEARNER_KINDS[name] == "cryptomamba")
    learners["fine_tune"] = fine_tuned(learners["global"], config)
    return learners, config


def train_learners(
    features: int, window: int, train_tasks: list[Task], val_tasks: list[Task], config: MetaConfig
) -> dict[str, Learner]:
    """The global baselines, fine-tuning, and the three meta-learners warm-started from the global model."""
    pooled = train_global("regime_mamba", features, window, train_tasks, val_tasks, config)
    learners = {
        "global": pooled,
        "global_cryptomamba": train_global("cryptomamba", features, window, train_tasks, val_tasks, config),
        "fine_tune": fine_tuned(pooled, config),
    }
    for method in META_METHODS:
        learners[method] = meta_train(
            method, features, train_tasks, val_tasks, config, warm_start=pooled.model
        )
    return learners


# `quick` for the main job and the nightly run; `paper` for the figures in the README.
META_PROFILES = {
    "quick": MetaConfig(iterations=60, validate_every=20, global_epochs=3),
    "paper": MetaConfig(iterations=400, validate_every=25, global_epochs=30),
}
