"""HyperMamba: the hypernetwork's offsets, inner steps, meta-training and checkpoints."""

import numpy as np
import pytest
import torch

from models import meta_learning
from models.cpu_threads import kernel_threads
from models.hypermamba import HEAD, SSM_PROJECTION, HyperNetwork, RegimeMamba, forecast, weights_of
from models.meta_learning import (
    MetaConfig,
    adapt,
    load_learners,
    meta_train,
    save_learners,
    train_learners,
)
from models.tasks import EMBEDDING_COLUMNS, Task

FEATURES, WINDOW = 5, 6
TINY = MetaConfig(iterations=4, tasks_per_batch=2, validate_every=2, global_epochs=1, seed=1)


def _tasks(count: int, seed: int) -> list[Task]:
    """Tasks whose target is a task-specific multiple of the last bar's first feature."""
    generator = torch.Generator().manual_seed(seed)
    tasks = []
    for task_id in range(count):
        slope = float(task_id % 3) - 1.0
        x = torch.randn(16, WINDOW, FEATURES, generator=generator)
        y = slope * x[:, -1, 0]
        embedding = torch.zeros(len(EMBEDDING_COLUMNS))
        embedding[0] = slope
        tasks.append(Task(task_id, embedding, x[:10], y[:10], x[10:], y[10:], np.full(6, 100.0)))
    return tasks


def test_task_weights_start_at_the_shared_weights_and_offset_the_ssm_projection():
    torch.manual_seed(0)
    base = RegimeMamba(FEATURES)
    hyper = HyperNetwork(base, len(EMBEDDING_COLUMNS), adapt="head+ssm", rank=2)
    shared = weights_of(base)
    embedding = torch.randn(len(EMBEDDING_COLUMNS))
    weights = hyper.task_weights(shared, embedding)
    for name in (*HEAD, SSM_PROJECTION):
        torch.testing.assert_close(weights[name], shared[name])
    torch.nn.init.normal_(hyper.body[-1].weight)
    moved = hyper.task_weights(shared, embedding)
    offset = moved[SSM_PROJECTION] - shared[SSM_PROJECTION]
    assert torch.linalg.matrix_rank(offset.detach()) <= 2
    assert hyper.adapted_names == (*HEAD, SSM_PROJECTION)
    head_only = HyperNetwork(base, len(EMBEDDING_COLUMNS), adapt="head")
    assert head_only.adapted_names == HEAD


def test_inner_steps_lower_the_support_loss():
    torch.manual_seed(0)
    model = RegimeMamba(FEATURES)
    task = _tasks(1, seed=0)[0]
    weights = weights_of(model)

    def loss(w):
        return torch.nn.functional.mse_loss(forecast(model, w, task.support_x), task.support_y).item()

    adapted = adapt(model, weights, HEAD, task.support_x, task.support_y, steps=5, lr=0.1, second_order=False)
    assert loss(adapted) < loss(weights)


@pytest.mark.parametrize("second_order", [False, True])
def test_meta_gradients_reach_the_hypernetwork(second_order):
    torch.manual_seed(0)
    model = RegimeMamba(FEATURES)
    hyper = HyperNetwork(model, len(EMBEDDING_COLUMNS))
    torch.nn.init.normal_(hyper.body[-1].weight, std=0.01)
    task = _tasks(1, seed=0)[0]
    adapted = adapt(
        model, hyper.task_weights(weights_of(model), task.embedding), hyper.adapted_names,
        task.support_x, task.support_y, steps=1, lr=0.1, second_order=second_order,
    )  # fmt: skip
    torch.nn.functional.mse_loss(forecast(model, adapted, task.query_x), task.query_y).backward()
    assert hyper.body[0].weight.grad.abs().sum() > 0


def test_meta_training_and_checkpoint_round_trip(tmp_path):
    train, val = _tasks(6, seed=1), _tasks(3, seed=2)
    learners = train_learners(FEATURES, WINDOW, train, val, TINY)
    assert set(learners) == {
        "global",
        "global_cryptomamba",
        "fine_tune",
        "maml",
        "hypermaml_head",
        "hypermamba",
    }
    path = tmp_path / "learners.pt"
    save_learners(path, learners, FEATURES, WINDOW, TINY)
    loaded, config = load_learners(path)
    assert config == TINY
    task = val[0]
    for name, learner in learners.items():
        torch.testing.assert_close(loaded[name].predict(task, steps=2), learner.predict(task, steps=2))


def test_unknown_meta_method_is_refused():
    with pytest.raises(ValueError, match="reptile"):
        meta_train("reptile", FEATURES, _tasks(2, 0), _tasks(1, 1), TINY)


def test_the_ssm_offset_can_learn_from_its_zero_start():
    torch.manual_seed(0)
    model = RegimeMamba(FEATURES)
    hyper = HyperNetwork(model, len(EMBEDDING_COLUMNS), adapt="head+ssm")
    task = _tasks(1, seed=0)[0]
    weights = hyper.task_weights(weights_of(model), task.embedding)
    torch.testing.assert_close(weights[SSM_PROJECTION], weights_of(model)[SSM_PROJECTION])
    torch.nn.functional.mse_loss(forecast(model, weights, task.query_x), task.query_y).backward()
    rows = hyper.x_proj_shape[0]
    head = model.head.in_features + 1
    u_rows = slice(head, head + rows * hyper.rank)
    assert hyper.body[-1].weight.grad[u_rows].abs().sum() > 0


def test_meta_training_runs_torch_on_one_thread_and_the_kernels_on_the_rest(monkeypatch, two_torch_threads):
    """As `train` does: the kernels split the task batches' blocks, torch's pool stays out of their way."""
    seen = set()

    def recording_forecast(*args, **kwargs):
        seen.add((torch.get_num_threads(), kernel_threads(32, 28, 6, 64)))
        return forecast(*args, **kwargs)

    monkeypatch.setattr(meta_learning, "forecast", recording_forecast)
    meta_train("hypermamba", FEATURES, _tasks(4, seed=1), _tasks(2, seed=2), TINY)
    assert seen == {(1, 2)}
    assert torch.get_num_threads() == 2
