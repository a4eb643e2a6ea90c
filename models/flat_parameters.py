"""One flat tensor behind a model's parameters, and one behind their gradients, for the optimizer.

Why: CryptoMamba has 140 parameter tensors, and torch's Adam, even fused, spent 1.6 ms of a ~13 ms
training step on them: its Python loop over the parameters, grouping them by device and counting
each one's steps. With every parameter a view of one flat tensor, and every gradient a view of one
flat gradient that backward adds into, the optimizer updates a single tensor (0.5 ms) and zeroing
the gradients is one call. Adam's arithmetic is elementwise, so the trajectory is the same up to
float rounding: torch's fused kernel rounds a tensor's last partial vector of elements a little
differently from the same elements inside a longer tensor (GRU-v's weights differed by 5e-8 after
five steps; tests/models/test_flat_parameters.py).

Each parameter starts on a 64-byte boundary, as torch allocates a tensor of its own: packed back to
back, the C kernels' vector loads of misaligned weights made the forward and backward slower by about
as much as the optimizer saved. The gaps hold zeros, get zero gradients and stay zero.

The optimizer state then has one entry where it had one per parameter; `flat_optimizer_state` turns
a state saved the other way (checkpoints written before) into this one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

ALIGNMENT_BYTES = 64


def flat_layout(parameters: list[torch.Tensor]) -> tuple[list[int], int]:
    """Each parameter's first element in the flat tensor, and the flat tensor's size."""
    step = max(1, ALIGNMENT_BYTES // parameters[0].element_size())
    offsets, total = [], 0
    for parameter in parameters:
        offsets.append(total)
        total += -(-parameter.numel() // step) * step
    return offsets, total


def trainable_parameters(model: nn.Module) -> list[torch.Tensor]:
    """The parameters the flat tensor holds, in its order."""
    return [p for p in model.parameters() if p.requires_grad]


def _flattened(tensors: list[torch.Tensor], layout: tuple[list[int], int]) -> torch.Tensor:
    """`tensors` (one per parameter, of its size) in a zeroed flat tensor at `layout`'s offsets."""
    offsets, total = layout
    flat = tensors[0].new_zeros(total)
    for tensor, offset in zip(tensors, offsets, strict=True):
        flat[offset : offset + tensor.numel()] = tensor.detach().reshape(-1)
    return flat


@contextmanager
def flat_parameters(model: nn.Module) -> Iterator[torch.Tensor]:
    """Within: `model`'s trainable parameters are views of the yielded flat tensor, whose `.grad` is
    zeroed and holds their gradients (backward accumulates into it). On exit each parameter gets its
    own storage back, with the values it has then, and no gradient."""
    parameters = trainable_parameters(model)
    if not parameters or len({(p.dtype, p.device) for p in parameters}) != 1:
        raise ValueError("flat_parameters needs trainable parameters of a single dtype and device")
    layout = flat_layout(parameters)
    flat = _flattened(parameters, layout)
    flat.grad = torch.zeros_like(flat)
    for parameter, offset in zip(parameters, layout[0], strict=True):
        size = parameter.numel()
        parameter.data = flat[offset : offset + size].view_as(parameter)
        parameter.grad = flat.grad[offset : offset + size].view_as(parameter)
    try:
        yield flat
    finally:
        for parameter in parameters:
            parameter.data = parameter.data.clone()
            parameter.grad = None


def flat_optimizer_state(saved: dict[str, Any], parameters: list[torch.Tensor]) -> dict[str, Any]:
    """An optimizer state dict saved per parameter (one group, `parameters`' order), as the same state
    for their flat tensor: each per-parameter tensor (Adam's moments) laid out as the parameters are,
    and scalars such as the step count, equal for all of them, taken from the first. A state already
    flat is returned as it is."""
    if len(saved["param_groups"]) != 1 or len(saved["param_groups"][0]["params"]) == 1:
        return saved
    ids = saved["param_groups"][0]["params"]
    if len(ids) != len(parameters):
        raise ValueError(f"the saved optimizer state has {len(ids)} parameters, the model {len(parameters)}")
    states, layout = [saved["state"][i] for i in ids], flat_layout(parameters)
    flat_state = {
        key: _flattened([state[key] for state in states], layout) if value.dim() > 0 else value
        for key, value in states[0].items()
    }
    return {"state": {0: flat_state}, "param_groups": [{**saved["param_groups"][0], "params": [0]}]}
