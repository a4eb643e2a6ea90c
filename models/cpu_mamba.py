"""A whole Mamba block's training forward and backward on the CPU, as one autograd Function each way;
and a residual stack of pre-norm blocks (CryptoMamba's C-Block) likewise.

`Mamba.forward`'s readable path is about forty small torch operations, and autograd adds twice as many
in the backward; on CryptoMamba's blocks (batch 32, length 6, d_inner 28..64) each costs far more than
its arithmetic. Here each direction is one call into cpu_mamba_kernels.h (an epoch of CryptoMamba-v
takes about a quarter less time than with only the scan in C; see the README's Performance section),
which works row by row through the same arithmetic: in_proj, the causal depthwise conv and silu, x_proj,
dt_proj with softplus, the selective scan (the kernels of `selective_scan_cpu`), the D skip, the silu(z)
gate and out_proj. The forward keeps each row's intermediates in a workspace for the backward, so
nothing but the scan's states within a chunk is recomputed.

`residual_stack_cpu` goes one step further for blocks of the form x + Mamba(LayerNorm(x)): a whole
stack of them is one call each way (cpu_mamba_stack_kernels.h), so CryptoMamba's twelve blocks cost
three calls, not twelve plus the norms' and residuals' torch operations.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import torch
from torch import nn

from models.cpu_scan_library import (
    cpu_kernel,
    mamba_stack_workspace_elements,
    mamba_workspace_elements,
    pointer,
)
from models.cpu_threads import kernel_threads
from models.selective_scan import differentiating_twice

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
_PARAMETER_PATHS = tuple(tuple(name.split(".")) for name in PARAMETERS)
_STACK_PATHS = (("norm", "weight"), ("norm", "bias"), *(("op", *path) for path in _PARAMETER_PATHS))
STACK_WIDTH = len(_STACK_PATHS)
"""Tensors per block of a residual stack (STACK_PARAMS in cpu_scan.c)."""


def _pointer_array(tensors: list[torch.Tensor | None]) -> ctypes.Array[ctypes.c_void_p]:
    return (ctypes.c_void_p * len(tensors))(*map(pointer, tensors))


def _hold_parameters(ctx, parameters: tuple[torch.Tensor | None, ...]) -> list[torch.Tensor | None]:
    """The parameters made contiguous, their pointers and shapes kept on `ctx` for the backward; the
    caller saves the returned tensors with the context, so the pointers stay valid."""
    held = [None if p is None else p.contiguous() for p in parameters]
    ctx.parameter_pointers = _pointer_array(held)
    ctx.shapes = [None if p is None else p.shape for p in held]
    return held


def _gradient_rows(
    shapes: list[torch.Size | None], threads: int, like: torch.Tensor
) -> tuple[ctypes.Array[ctypes.c_void_p], list[torch.Tensor | None]]:
    """Zeroed (threads, numel) rows per gradient, one buffer for all, as the kernels' backward wants
    them (thread k adds into row k, row 0 ends up with the sum): their pointers, and the row-0 views.

    The views are one `as_strided` each: a slice and a view per gradient cost four times as much,
    about 0.2 ms per C-Block call of 52 tensors.
    """
    sizes = [0 if shape is None else threads * shape.numel() for shape in shapes]
    buffer = like.new_zeros(sum(sizes))
    address, itemsize = buffer.data_ptr(), buffer.element_size()
    pointers: list[int | None] = []
    grads: list[torch.Tensor | None] = []
    offset = 0
    for shape, size in zip(shapes, sizes, strict=True):
        pointers.append(None if shape is None else address + offset * itemsize)
        grads.append(None if shape is None else buffer.as_strided(shape, _contiguous_strides(shape), offset))
        offset += size
    return (ctypes.c_void_p * len(pointers))(*pointers), grads


@functools.cache
def _contiguous_strides(shape: torch.Size) -> tuple[int, ...]:
    strides = [1]
    for size in reversed(shape[1:]):
        strides.insert(0, strides[0] * size)
    return tuple(strides)


class MambaBlockCpu(torch.autograd.Function):
    """(hidden (batch, length, d_model), *parameters in PARAMETERS order) -> the block's output."""

    @staticmethod
    def forward(ctx, dims: tuple[int, ...], hidden, *parameters):  # type: ignore[override]
        d_inner, _, dt_rank, d_state = dims
        hidden = hidden.contiguous()
        parameters = _hold_parameters(ctx, parameters)
        batch, length, d_model = hidden.shape
        workspace = hidden.new_empty(batch, mamba_workspace_elements(length, d_inner, dt_rank, d_state))
        out = torch.empty_like(hidden)
        cpu_kernel("mamba_forward", hidden.dtype)(
            pointer(hidden), ctx.parameter_pointers, batch, length, d_model, *dims,
            pointer(workspace), pointer(out), kernel_threads(batch, d_inner, length, d_state),
        )  # fmt: skip
        ctx.dims = dims
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
        grad_pointers, grads = _gradient_rows(ctx.shapes, threads, hidden)
        cpu_kernel("mamba_backward", hidden.dtype)(
            pointer(dout), pointer(hidden), ctx.parameter_pointers, pointer(workspace),
            batch, length, d_model, *ctx.dims, pointer(dhidden), grad_pointers, threads,
        )  # fmt: skip
        return None, dhidden, *grads


class MambaStackCpu(torch.autograd.Function):
    """A residual stack x <- x + Mamba_k(LayerNorm_k(x)), k = 0 .. blocks - 1, in one C call each way.

    (hidden (batch, length, d_model), *parameters: per block its LayerNorm's weight and bias, then its
    Mamba's in PARAMETERS order) -> the stack's output. All blocks share their sizes and the norms' eps.
    """

    @staticmethod
    def forward(ctx, dims: tuple[int, ...], eps: float, hidden, *parameters):  # type: ignore[override]
        d_inner, _, dt_rank, d_state = dims
        hidden = hidden.contiguous()
        parameters = _hold_parameters(ctx, parameters)
        batch, length, d_model = hidden.shape
        blocks = len(parameters) // STACK_WIDTH
        workspace = hidden.new_empty(
            batch, mamba_stack_workspace_elements(blocks, length, d_model, d_inner, dt_rank, d_state)
        )
        out = torch.empty_like(hidden)
        cpu_kernel("mamba_stack_forward", hidden.dtype)(
            pointer(hidden), ctx.parameter_pointers, blocks, batch, length, d_model, *dims, eps,
            pointer(workspace), pointer(out), kernel_threads(batch, blocks * d_inner, length, d_state),
        )  # fmt: skip
        ctx.dims, ctx.blocks = dims, blocks
        ctx.save_for_backward(workspace, *(p for p in parameters if p is not None))
        return out

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        workspace = ctx.saved_tensors[0]
        batch, length, d_model = dout.shape
        d_inner, _, _, d_state = ctx.dims
        threads = kernel_threads(batch, ctx.blocks * d_inner, length, d_state)
        dout = dout.contiguous().to(workspace.dtype)
        dhidden = torch.empty_like(dout)
        grad_pointers, grads = _gradient_rows(ctx.shapes, threads, workspace)
        cpu_kernel("mamba_stack_backward", workspace.dtype)(
            pointer(dout), ctx.parameter_pointers, pointer(workspace), ctx.blocks,
            batch, length, d_model, *ctx.dims, pointer(dhidden), grad_pointers, threads,
        )  # fmt: skip
        return None, None, dhidden, *grads


def block_parameters(block: Mamba) -> list[torch.Tensor | None]:
    """The block's parameters in PARAMETERS order, None for an absent bias.

    Read from the modules' parameter dicts, not named_parameters(): under torch.func.functional_call
    (HyperMamba's generated weights) those dicts hold the tensors in use. Reading them directly skips
    nn.Module.__getattr__, which made gathering a C-Block's 52 tensors cost about 0.1 ms.
    """
    return [_parameter(block, path) for path in _PARAMETER_PATHS]


def _parameter(module: nn.Module, path: tuple[str, ...]) -> torch.Tensor | None:
    """The parameter at `path` (submodule names, then the parameter's) below `module`."""
    for name in path[:-1]:
        module = module._modules[name]
    return module._parameters[path[-1]]


def mamba_block_cpu(
    block: Mamba, hidden_states: torch.Tensor, parameters: list[torch.Tensor | None]
) -> torch.Tensor:
    """`block(hidden_states)` through the C kernels, for `parameters = block_parameters(block)`."""
    return MambaBlockCpu.apply(_dims(block), hidden_states, *parameters)


class PreNormMamba(Protocol):
    """A residual block x + op(norm(x)), as CryptoMamba's CMBlock."""

    norm: nn.LayerNorm
    op: Mamba


def residual_stack_cpu(blocks: Sequence[PreNormMamba], hidden_states: torch.Tensor) -> torch.Tensor | None:
    """`blocks` applied in turn to `hidden_states` through one C call each way, or None where the
    kernels cannot take them (then the caller runs the blocks one by one): a gradient of a gradient
    is wanted, a tensor is not on the CPU in the model's dtype, the blocks differ in size or in
    their norms' eps, or a norm has no weight or bias."""
    if differentiating_twice():
        return None
    norms, ops, parameters = (
        [block.norm for block in blocks],
        [block.op for block in blocks],
        stack_parameters(blocks),
    )
    same_blocks = all(
        _dims(op) == _dims(ops[0]) and op.d_model == ops[0].d_model and norm.eps == norms[0].eps
        for norm, op in zip(norms, ops, strict=True)
    )
    # Each block's first two tensors are its norm's weight and bias.
    affine = all(p is not None for p in parameters[0::STACK_WIDTH] + parameters[1::STACK_WIDTH])
    if not (same_blocks and affine and ops[0].can_run_in_c(hidden_states, *parameters)):
        return None
    return MambaStackCpu.apply(_dims(ops[0]), norms[0].eps, hidden_states, *parameters)


def stack_parameters(blocks: Sequence[PreNormMamba]) -> list[torch.Tensor | None]:
    """`MambaStackCpu`'s parameters: per block its norm's weight and bias, then `block_parameters`."""
    return [_parameter(block, path) for block in blocks for path in _STACK_PATHS]


def _dims(block: Mamba) -> tuple[int, int, int, int]:
    return (block.d_inner, block.d_conv, block.dt_rank, block.d_state)
