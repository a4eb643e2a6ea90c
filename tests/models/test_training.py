"""The training loop: it learns, stops early, checkpoints atomically and resumes to the same weights."""

import time
from pathlib import Path

import pytest
import torch
from torch import nn

from models.cpu_mamba import MambaStackSpanCpu
from models.cpu_threads import kernel_threads
from models.cryptomamba import CryptoMamba
from models.flat_parameters import flat_layout
from models.training import ScaledData, TrainingConfig, train
from tests.models.test_cpu_mamba import record_calls


def _data(seed: int = 0) -> ScaledData:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.rand(96, 3, 5, generator=generator)
    targets = inputs[:, 2, -1] * 0.8 + 0.1  # learnable: a scaled copy of the last close
    return ScaledData(inputs[:64], targets[:64], inputs[64:], targets[64:], fingerprint="test-data")


class _Linear(nn.Module):
    """A small model with dropout, so resuming must restore the random state too."""

    def __init__(self) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.1)
        self.head = nn.Linear(15, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(x.flatten(1))).squeeze(-1)


class _CrashAfter(nn.Module):
    """Wraps a model and raises after `calls` training forwards: a process killed mid-run."""

    def __init__(self, model: nn.Module, calls: int) -> None:
        super().__init__()
        self.model, self.calls = model, calls

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.calls -= 1
            if self.calls < 0:
                raise KeyboardInterrupt("simulated crash")
        return self.model(x)


CONFIG = TrainingConfig(epochs=8, learning_rate=0.05, lr_step=3, batch_size=16, checkpoint_every=2)


def _fresh(seed: int = 1) -> _Linear:
    torch.manual_seed(seed)
    return _Linear()


def test_training_lowers_the_validation_error():
    model = _fresh()
    data = _data()
    before = torch.sqrt(torch.mean((model.eval()(data.val_inputs) - data.val_targets) ** 2)).item()
    result = train(model, data, CONFIG, progress=False)
    assert result.best_val_rmse < before / 2
    assert result.epochs_run == 8 and 1 <= result.best_epoch <= 8


def test_same_seed_same_weights():
    first, second = _fresh(), _fresh()
    train(first, _data(), CONFIG, progress=False)
    train(second, _data(), CONFIG, progress=False)
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_same_seed_same_cryptomamba_weights_through_the_c_kernels(monkeypatch: pytest.MonkeyPatch):
    """Deterministic CPU runs hold for the models whose blocks run in C too (for a fixed thread count:
    the kernels' partial sums are split by thread)."""
    stack_calls = record_calls(monkeypatch, MambaStackSpanCpu)
    trained = []
    for _ in range(2):
        torch.manual_seed(1)
        model = CryptoMamba(num_features=3, window=5, hidden_dims=(5, 8, 1), blocks_per_stage=2, d_state=8)
        initial = {name: value.clone() for name, value in model.state_dict().items()}
        train(model, _data(), CONFIG, progress=False)
        trained.append(model.state_dict())
        assert not any(torch.equal(initial[name], value) for name, value in trained[-1].items())
    assert stack_calls, "training should run the C-Blocks through the stack kernel"
    for a, b in zip(trained[0].values(), trained[1].values(), strict=True):
        assert torch.equal(a, b)


def test_resuming_after_a_crash_ends_with_the_uninterrupted_weights(tmp_path: Path):
    uninterrupted = _fresh()
    train(uninterrupted, _data(), CONFIG, progress=False)

    checkpoint = tmp_path / "model.pt"
    crashing = _CrashAfter(_fresh(), calls=5 * 4 + 2)  # 4 batches per epoch: dies inside epoch 6
    with pytest.raises(KeyboardInterrupt):
        train(crashing, _data(), CONFIG, checkpoint, progress=False)
    assert torch.load(checkpoint, weights_only=False)["state"]["epoch"] == 4
    assert not list(tmp_path.glob(".*.tmp")), "no half-written checkpoint may remain"

    resumed = _CrashAfter(_fresh(seed=99), calls=10**6)  # other initial weights: the checkpoint wins
    result = train(resumed, _data(), CONFIG, checkpoint, progress=False)
    assert result.resumed_from_epoch == 4 and result.epochs_run == 8
    for a, b in zip(uninterrupted.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_finished_run_read_back_from_its_checkpoint_reports_its_own_seconds_and_end(tmp_path: Path):
    checkpoint = tmp_path / "model.pt"
    finished = train(_fresh(), _data(), CONFIG, checkpoint, progress=False)
    read_back = train(_fresh(), _data(), CONFIG, checkpoint, progress=False)
    assert read_back.resumed_from_epoch == finished.epochs_run == 8
    assert read_back.seconds == finished.seconds > 0
    assert read_back.finished_at == finished.finished_at < time.time()


def test_a_checkpoint_with_a_per_parameter_optimizer_state_resumes(tmp_path: Path):
    """Checkpoints written before the optimizer ran on one flat tensor hold Adam's state per parameter."""
    uninterrupted = _fresh()
    train(uninterrupted, _data(), CONFIG, progress=False)
    checkpoint = tmp_path / "model.pt"
    with pytest.raises(KeyboardInterrupt):
        train(_CrashAfter(_fresh(), calls=5 * 4 + 2), _data(), CONFIG, checkpoint, progress=False)
    saved = torch.load(checkpoint, weights_only=False)
    flat_state, parameters = saved["optimizer"]["state"][0], list(_fresh().parameters())
    offsets, _ = flat_layout(parameters)

    def per_parameter(value: torch.Tensor, offset: int, parameter: torch.Tensor) -> torch.Tensor:
        return value[offset : offset + parameter.numel()].view_as(parameter) if value.dim() else value

    saved["optimizer"] = {
        "state": {
            i: {key: per_parameter(value, offset, parameter) for key, value in flat_state.items()}
            for i, (offset, parameter) in enumerate(zip(offsets, parameters, strict=True))
        },
        "param_groups": [{**saved["optimizer"]["param_groups"][0], "params": list(range(len(parameters)))}],
    }
    torch.save(saved, checkpoint)

    resumed = _CrashAfter(_fresh(seed=99), calls=10**6)
    assert train(resumed, _data(), CONFIG, checkpoint, progress=False).resumed_from_epoch == 4
    for a, b in zip(uninterrupted.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_checkpoint_from_other_data_is_not_resumed(tmp_path: Path):
    checkpoint = tmp_path / "model.pt"
    train(_fresh(), _data(), CONFIG, checkpoint, progress=False)
    other = _data(seed=7)
    other = ScaledData(
        *(getattr(other, name) for name in ("train_inputs", "train_targets", "val_inputs")),
        other.val_targets,
        fingerprint="other-data",
    )
    result = train(_fresh(), other, CONFIG, checkpoint, progress=False)
    assert result.resumed_from_epoch == 0


def test_early_stopping_keeps_the_best_epoch():
    config = TrainingConfig(epochs=200, learning_rate=0.05, lr_step=1000, batch_size=16, patience=3)
    result = train(_fresh(), _data(), config, progress=False)
    assert result.epochs_run == result.best_epoch + 3 < 200


def test_a_checkpoint_from_a_model_changed_without_new_shapes_is_not_resumed(tmp_path: Path):
    """Same parameters, other dropout: the state dict would load, so the architecture must say no."""
    checkpoint = tmp_path / "model.pt"
    train(_fresh(), _data(), CONFIG, checkpoint, progress=False)
    changed = _fresh()
    changed.dropout = nn.Dropout(0.3)
    assert train(changed, _data(), CONFIG, checkpoint, progress=False).resumed_from_epoch == 0


def test_a_checkpoint_without_a_recorded_architecture_still_resumes(tmp_path: Path):
    """Checkpoints written before the architecture was recorded are judged by config and data."""
    checkpoint = tmp_path / "model.pt"
    crashing = _CrashAfter(_fresh(), calls=5 * 4 + 2)
    with pytest.raises(KeyboardInterrupt):
        train(crashing, _data(), CONFIG, checkpoint, progress=False)
    saved = torch.load(checkpoint, weights_only=False)
    del saved["architecture"]
    torch.save(saved, checkpoint)
    result = train(_CrashAfter(_fresh(), calls=10**6), _data(), CONFIG, checkpoint, progress=False)
    assert result.resumed_from_epoch == 4


class _ThreadsSeen(_Linear):
    """Records torch's thread count and the kernels' for a CryptoMamba-sized block at each forward."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[int, int]] = set()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.add((torch.get_num_threads(), kernel_threads(32, 28, 6, 64)))
        return super().forward(x)


def test_training_runs_torch_on_one_thread_and_the_kernels_on_the_rest(two_torch_threads):
    model = _ThreadsSeen()
    train(model, _data(), CONFIG, progress=False)
    assert model.seen == {(1, 2)}
    assert torch.get_num_threads() == 2
