"""A whole Mamba block's training forward and backward on the CPU, as one autograd Function.

`Mamba.forward`'s readable path is about forty small torch operations, and autograd adds twice as many
in the backward; on CryptoMamba's blocks (batch 32, length 6, d_inner 28..64) each costs far more than
its arithmetic. Here each direction is one call into cpu_mamba_kernels.h (an epoch of CryptoMamba-v
takes about a quarter less time than with only the scan in C; see the README's Performance section),
which works row by row through the same arithmetic: in_proj, the causal depthwise conv and silu, x_proj,
dt_proj with softplus, the selective scan (the kernels of `selective_scan_cpu`), the D skip, the silu(z)
gate and out_proj. The forward keeps each row's intermediates in a workspace for the backward, so
nothing but the scan's states within a chunk is recomputed.
"""

from __future__ import annotations

import ctypes
from operator import attrgetter
from typing import TYPE_CHECKING

import torch

from models.cpu_scan_library import cpu_kernel, mamba_workspace_elements, pointer
from models.cpu_threads import kernel_threads

if TYPE_CHECKING:
    from models.mamba_block import Mamba

PARAMETERS = (
    "in_proj.weight",
    "in_proj.bias",
    "conv1d.weight",
    "conv1d.bias",
    "x_proj.weight",
    "dt_proj.weight",
    "dt_proj.bias",
    "A_log",
    "D",
    "out_proj.weight",
    "out_proj.bias",
)
"""The block's parameters in the order of the P_* indices in cpu_scan.c; an absent bias is None."""


def _pointer_array(tensors: list[torch.Tensor | None]) -> ctypes.Array[ctypes.c_void_p]:
    return (ctypes.c_void_p * len(tensors))(*map(pointer, tensors))


class MambaBlockCpu(torch.autograd.Function):
    """(hidden (batch, length, d_model), *parameters in PARAMETERS order) -> the block's output."""

    @staticmethod
    def forward(ctx, dims: tuple[int, ...], hidden, *parameters):  # type: ignore[override]
        d_inner, _, dt_rank, d_state = dims
        hidden = hidden.detach().contiguous()
        parameters = [None if p is None else p.detach().contiguous() for p in parameters]
        batch, length, d_model = hidden.shape
        workspace = hidden.new_empty(batch, mamba_workspace_elements(length, d_inner, dt_rank, d_state))
        out = torch.empty_like(hidden)
        ctx.parameter_pointers = _pointer_array(parameters)
        cpu_kernel("mamba_forward", hidden.dtype)(
            pointer(hidden), ctx.parameter_pointers, batch, length, d_model, *dims,
            pointer(workspace), pointer(out), kernel_threads(batch, d_inner, length, d_state),
        )  # fmt: skip
        ctx.dims = dims
        ctx.shapes = [None if p is None else p.shape for p in parameters]
        # The parameters' (contiguous) tensors stay alive with the context: their pointers are reused.
        ctx.save_for_backward(hidden, workspace, *(p for p in parameters if p is not None))
        return out

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        hidden, workspace = ctx.saved_tensors[:2]
        batch, length, d_model = hidden.shape
        d_inner, _, _, d_state = ctx.dims
        threads = kernel_threads(batch, d_inner, length, d_state)
        dout = dout.contiguous().to(hidden.dtype)
        dhidden = torch.empty_like(hidden)
        # One zeroed buffer holds every gradient's per-thread partial sums, (threads, numel) each.
        sizes = [0 if shape is None else threads * shape.numel() for shape in ctx.shapes]
        partials = hidden.new_zeros(sum(sizes)).split(sizes)
        grad_pointers = _pointer_array(
            [None if shape is None else part for shape, part in zip(ctx.shapes, partials, strict=True)]
        )
        cpu_kernel("mamba_backward", hidden.dtype)(
            pointer(dout), pointer(hidden), ctx.parameter_pointers, pointer(workspace),
            batch, length, d_model, *ctx.dims, pointer(dhidden), grad_pointers, threads,
        )  # fmt: skip
        grads = [
            None if shape is None else part[: shape.numel()].view(shape)
            for shape, part in zip(ctx.shapes, partials, strict=True)
        ]
        return None, dhidden, *grads


def block_parameters(block: Mamba) -> list[torch.Tensor | None]:
    """The block's parameters in PARAMETERS order, None for an absent bias.

    Read as attributes, not from named_parameters(): under torch.func.functional_call (HyperMamba's
    generated weights) the attributes are the tensors in use.
    """
    return [attrgetter(name)(block) for name in PARAMETERS]


def mamba_block_cpu(
    block: Mamba, hidden_states: torch.Tensor, parameters: list[torch.Tensor | None]
) -> torch.Tensor:
    """`block(hidden_states)` through the C kernels, for `parameters = block_parameters(block)`."""
    dims = (block.d_inner, block.d_conv, block.dt_rank, block.d_state)
    return MambaBlockCpu.apply(dims, hidden_states, *parameters)
