"""Flat parameters: the Adam trajectory of per-tensor parameters, and old optimizer states load."""

import copy

import pytest
import torch
from torch import nn

from models.cryptomamba import CryptoMamba
from models.flat_parameters import ALIGNMENT_BYTES, flat_optimizer_state, flat_parameters, parameter_span


def small_cryptomamba(seed: int = 0) -> CryptoMamba:
    torch.manual_seed(seed)
    return CryptoMamba(num_features=4, window=6, hidden_dims=(6, 5, 1), blocks_per_stage=2, d_state=4)


def adam(parameters: list[torch.Tensor]) -> torch.optim.Adam:
    return torch.optim.Adam(parameters, lr=0.01, weight_decay=1e-3)


def step(model: nn.Module, optimizer: torch.optim.Optimizer, flat: torch.Tensor | None = None) -> None:
    """One RMSE step on a fixed batch; with `flat`, its gradient is zeroed instead of the parameters'."""
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 4, 6, generator=generator), torch.randn(8, generator=generator)
    if flat is None:
        optimizer.zero_grad(set_to_none=True)
    else:
        flat.grad.zero_()
    torch.sqrt(torch.mean((model(x) - y) ** 2)).backward()
    optimizer.step()


def assert_same_weights(a: nn.Module, b: nn.Module) -> None:
    """Equal to float rounding: torch's fused Adam rounds a tensor's last partial vector of elements
    slightly differently from the same elements inside a longer tensor."""
    for weight_a, weight_b in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(weight_a, weight_b, rtol=1e-5, atol=1e-7)


def test_the_flat_trajectory_is_the_per_tensor_one() -> None:
    per_tensor, flat_model = small_cryptomamba(), small_cryptomamba()
    optimizer = adam(list(per_tensor.parameters()))
    for _ in range(5):
        step(per_tensor, optimizer)
    with flat_parameters(flat_model) as flat:
        flat_optimizer = adam([flat])
        for _ in range(5):
            step(flat_model, flat_optimizer, flat)
    assert_same_weights(per_tensor, flat_model)


def test_parameters_are_views_within_and_have_their_own_storage_after() -> None:
    model = small_cryptomamba()
    weight = model.stages[0].project.weight
    with flat_parameters(model) as flat:
        assert flat.numel() >= model.parameter_count() and torch.count_nonzero(flat.grad) == 0
        assert all(p.data_ptr() % ALIGNMENT_BYTES == 0 for p in model.parameters())
        flat.add_(1.0)
        shifted = weight.detach().clone()
        model(torch.randn(2, 4, 6)).sum().backward()
        assert torch.count_nonzero(flat.grad) > 0  # backward added into the flat gradient
    assert torch.equal(weight, shifted) and weight.grad is None
    flat.add_(1.0)
    assert torch.equal(weight, shifted)


def test_a_per_tensor_optimizer_state_resumes_on_the_flat_tensor() -> None:
    """As a checkpoint written before the flat optimizer: the run goes on exactly as it would have."""
    reference = small_cryptomamba()
    optimizer = adam(list(reference.parameters()))
    for _ in range(3):
        step(reference, optimizer)
    saved_weights, saved_state = copy.deepcopy(reference.state_dict()), copy.deepcopy(optimizer.state_dict())
    for _ in range(2):
        step(reference, optimizer)

    resumed = small_cryptomamba(seed=5)
    resumed.load_state_dict(saved_weights)
    with flat_parameters(resumed) as flat:
        flat_optimizer = adam([flat])
        flat_optimizer.load_state_dict(flat_optimizer_state(saved_state, list(resumed.parameters())))
        for _ in range(2):
            step(resumed, flat_optimizer, flat)
    assert_same_weights(reference, resumed)


def test_a_flat_state_is_kept_and_a_mismatched_one_refused() -> None:
    model = small_cryptomamba()
    with flat_parameters(model) as flat:
        optimizer = adam([flat])
        step(model, optimizer, flat)
        flat_state = optimizer.state_dict()
    assert flat_optimizer_state(flat_state, list(model.parameters())) is flat_state
    per_tensor = adam(list(model.parameters()))
    step(model, per_tensor)
    with pytest.raises(ValueError, match="parameters"):
        flat_optimizer_state(per_tensor.state_dict(), list(model.parameters())[1:])


def test_parameters_of_two_dtypes_are_refused() -> None:
    model = small_cryptomamba()
    model.merge.double()
    with pytest.raises(ValueError, match="single dtype"), flat_parameters(model):
        pass


def test_a_span_aliases_its_parameters_and_their_gradients_only_inside() -> None:
    model = small_cryptomamba()
    block = model.stages[0].blocks[0]
    parameters = [block.norm.weight, None, block.op.x_proj.weight, block.op.A_log]  # any order, gaps
    assert parameter_span(parameters) is None
    with flat_parameters(model):
        span = parameter_span(parameters)
        assert span is not None and parameter_span(parameters) is span  # made once
        assert span.offsets[1] is None
        for parameter, offset in zip(parameters, span.offsets, strict=True):
            if parameter is not None:
                assert span.tensor[offset].data_ptr() == parameter.data_ptr()
                assert span.tensor.grad[offset].data_ptr() == parameter.grad.data_ptr()
        assert span.tensor.is_leaf and span.tensor.requires_grad
        span.tensor.grad = torch.zeros_like(span.tensor)  # as a backward with create_graph=True does
        assert parameter_span(parameters).tensor.grad.data_ptr() == parameters[0].grad.data_ptr()
        assert parameter_span([block.norm.weight, torch.zeros(3)]) is None  # not one of its parameters
    assert parameter_span(parameters) is None
