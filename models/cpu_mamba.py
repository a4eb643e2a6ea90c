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

import numpy as np
import torch
from torch import nn

from models.cpu_scan_library import (
    cpu_kernel,
    kernel_buffer,
    mamba_stack_workspace_elements,
    mamba_workspace_elements,
    pointer,
)
from models.cpu_threads import kernel_threads
from models.flat_parameters import aligned_offsets, parameter_span
from models.selective_scan import announce_path, differentiating_twice

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


def _pointer_array(pointers: list[int | None]) -> ctypes.Array[ctypes.c_void_p]:
    return (ctypes.c_void_p * len(pointers))(*pointers)


def _addresses(base: torch.Tensor, offsets: tuple[int | None, ...]) -> ctypes.Array[ctypes.c_void_p]:
    """Pointers to `base`'s elements at `offsets` (None stays NULL), as one vector sum: a Python loop
    over a C-Block's 52 offsets cost as much as the rest of its call's setup."""
    byte_offsets, present = _byte_offsets(offsets, base.element_size())
    pointers = (byte_offsets + base.data_ptr()) * present
    return (ctypes.c_void_p * len(offsets)).from_buffer(pointers)  # keeps `pointers` alive


@functools.cache
def _byte_offsets(offsets: tuple[int | None, ...], itemsize: int) -> tuple[np.ndarray, np.ndarray]:
    """`offsets` in bytes, and 1 where an offset is given, 0 where it is None."""
    present = np.array([offset is not None for offset in offsets], dtype=np.uint64)
    return np.array([(offset or 0) * itemsize for offset in offsets], dtype=np.uint64), present


def _hold_parameters(ctx, parameters: tuple[torch.Tensor | None, ...]) -> list[torch.Tensor | None]:
    """The parameters made contiguous, their pointers and shapes kept on `ctx` for the backward; the
    caller saves the returned tensors with the context, so the pointers stay valid."""
    held = [None if p is None else p.contiguous() for p in parameters]
    ctx.parameter_pointers = _pointer_array([pointer(p) for p in held])
    ctx.shapes = [None if p is None else p.shape for p in held]
    return held


def _gradient_rows(
    shapes: list[torch.Size | None], threads: int, like: torch.Tensor
) -> tuple[ctypes.Array[ctypes.c_void_p], int, list[torch.Tensor | None]]:
    """Zeroed gradient rows as the kernels' backward wants them: `threads` rows, each holding every
    gradient (aligned as in a flat parameter tensor); thread k adds into row k and row 0 ends up with
    the sum. Returns the gradients' pointers in row 0, the row length, and row 0's gradient views.

    The views are one `as_strided` each: a slice and a view per gradient cost four times as much.
    """
    offsets, row = _row_layout(tuple(shapes), like.element_size())
    buffer = like.new_zeros(threads, row)
    grads = [
        None if shape is None else buffer.as_strided(shape, _contiguous_strides(shape), offset)
        for shape, offset in zip(shapes, offsets, strict=True)
    ]
    return _addresses(buffer, offsets), row, grads


@functools.cache
def _row_layout(
    shapes: tuple[torch.Size | None, ...], element_size: int
) -> tuple[tuple[int | None, ...], int]:
    """Where each gradient starts in a row of `_gradient_rows`, and the row's length."""
    sizes = [0 if shape is None else shape.numel() for shape in shapes]
    offsets, row = aligned_offsets(sizes, element_size)
    return tuple(None if shape is None else start for shape, start in zip(shapes, offsets, strict=True)), row


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
        workspace = kernel_buffer(hidden, batch, mamba_workspace_elements(length, d_inner, dt_rank, d_state))
        out = kernel_buffer(hidden, *hidden.shape)
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
        dhidden = kernel_buffer(hidden, *hidden.shape)
        grad_pointers, grad_stride, grads = _gradient_rows(ctx.shapes, threads, hidden)
        cpu_kernel("mamba_backward", hidden.dtype)(
            pointer(dout), pointer(hidden), ctx.parameter_pointers, pointer(workspace),
            batch, length, d_model, *ctx.dims, pointer(dhidden), grad_pointers, grad_stride, threads,
        )  # fmt: skip
        return None, dhidden, *grads


def _stack_forward(
    ctx, dims: tuple[int, ...], eps: float, hidden: torch.Tensor, blocks: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`mamba_stack_forward` with the parameters at `ctx.parameter_pointers`; returns the output and
    the workspace the backward needs, and keeps the sizes on `ctx`."""
    d_inner, _, dt_rank, d_state = dims
    hidden = hidden.contiguous()
    batch, length, d_model = hidden.shape
    workspace = kernel_buffer(
        hidden, batch, mamba_stack_workspace_elements(blocks, length, d_model, d_inner, dt_rank, d_state)
    )
    out = kernel_buffer(hidden, *hidden.shape)
    ctx.dims, ctx.blocks = dims, blocks
    cpu_kernel("mamba_stack_forward", hidden.dtype)(
        pointer(hidden), ctx.parameter_pointers, blocks, batch, length, d_model, *dims, eps,
        pointer(workspace), pointer(out), _stack_threads(ctx, hidden),
    )  # fmt: skip
    return out, workspace


def _stack_threads(ctx, rows: torch.Tensor) -> int:
    """Threads for a stack call on `rows` (batch, length, d_model), with ctx.dims and ctx.blocks set."""
    batch, length, _ = rows.shape
    d_inner, _, _, d_state = ctx.dims
    return kernel_threads(batch, ctx.blocks * d_inner, length, d_state)


def _stack_backward(
    ctx, dout: torch.Tensor, workspace: torch.Tensor, grad_pointers, grad_stride: int, threads: int
) -> torch.Tensor:
    """`mamba_stack_backward` into zeroed gradient rows `grad_stride` apart; returns dL/d(hidden)."""
    batch, length, d_model = dout.shape
    dout = dout.contiguous().to(workspace.dtype)
    dhidden = kernel_buffer(dout, *dout.shape)
    cpu_kernel("mamba_stack_backward", workspace.dtype)(
        pointer(dout), ctx.parameter_pointers, pointer(workspace), ctx.blocks,
        batch, length, d_model, *ctx.dims, pointer(dhidden), grad_pointers, grad_stride, threads,
    )  # fmt: skip
    return dhidden


class MambaStackCpu(torch.autograd.Function):
    """A residual stack x <- x + Mamba_k(LayerNorm_k(x)), k = 0 .. blocks - 1, in one C call each way.

    (hidden (batch, length, d_model), *parameters: per block its LayerNorm's weight and bias, then its
    Mamba's in PARAMETERS order) -> the stack's output. All blocks share their sizes and the norms' eps.
    """

    @staticmethod
    def forward(ctx, dims: tuple[int, ...], eps: float, hidden, *parameters):  # type: ignore[override]
        parameters = _hold_parameters(ctx, parameters)
        out, workspace = _stack_forward(ctx, dims, eps, hidden, len(parameters) // STACK_WIDTH)
        ctx.save_for_backward(workspace, *(p for p in parameters if p is not None))
        return out

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        workspace, threads = ctx.saved_tensors[0], _stack_threads(ctx, dout)
        grad_pointers, row, grads = _gradient_rows(ctx.shapes, threads, workspace)
        return None, None, _stack_backward(ctx, dout, workspace, grad_pointers, row, threads), *grads


class MambaStackSpanCpu(torch.autograd.Function):
    """`MambaStackCpu` with the parameters given as one `ParameterSpan` (its offsets, then its tensor
    after `hidden`), so autograd records one input and accumulates one gradient, not one per tensor."""

    @staticmethod
    def forward(ctx, dims: tuple[int, ...], eps: float, offsets, hidden, span):  # type: ignore[override]
        ctx.parameter_pointers, ctx.offsets = _addresses(span, offsets), offsets
        out, workspace = _stack_forward(ctx, dims, eps, hidden, len(offsets) // STACK_WIDTH)
        ctx.save_for_backward(workspace, span)
        return out

    @staticmethod
    def backward(ctx, dout):  # type: ignore[override]
        (workspace, span), threads = ctx.saved_tensors, _stack_threads(ctx, dout)
        rows = span.new_zeros(threads, span.numel())  # each row laid out as the span
        dhidden = _stack_backward(ctx, dout, workspace, _addresses(rows, ctx.offsets), span.numel(), threads)
        return None, None, None, dhidden, rows[0]


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
    announce_path("compiled CPU (C, whole Mamba block)")
    return MambaBlockCpu.apply(_dims(block), hidden_states, *parameters)


class PreNormMamba(Protocol):
    """A residual block x + op(norm(x)), as CryptoMamba's CMBlock."""

    norm: nn.LayerNorm
    op: Mamba


def residual_stack_cpu(blocks: Sequence[PreNormMamba], hidden_states: torch.Tensor) -> torch.Tensor | None:
    """`blocks` applied in turn to `hidden_states` through one C call each way, or None where the
    kernels cannot take them (then the caller runs the blocks one by one): a gradient of a gradient
    is wanted, a tensor is not on the CPU in the model's dtype, the blocks differ in size or in
    their norms' eps, or a norm has no weight or bias. Inside `flat_parameters` (training) the
    parameters go to the kernels as one span of the flat tensor."""
    if differentiating_twice():
        return None
    norms, ops, parameters = (
        [block.norm for block in blocks],
        [block.op for block in blocks],
        stack_parameters(blocks),
    )
    dims = _dims(ops[0])
    same_blocks = all(
        _dims(op) == dims and op.d_model == ops[0].d_model and norm.eps == norms[0].eps
        for norm, op in zip(norms, ops, strict=True)
    )
    # Each block's first two tensors are its norm's weight and bias.
    affine = all(p is not None for p in parameters[0::STACK_WIDTH] + parameters[1::STACK_WIDTH])
    span = parameter_span(parameters)
    tensors = parameters if span is None else [span.tensor]
    if not (same_blocks and affine and ops[0].can_run_in_c(hidden_states, *tensors)):
        return None
    announce_path("compiled CPU (C, whole pre-norm block stack)")
    if span is None:
        return MambaStackCpu.apply(dims, norms[0].eps, hidden_states, *parameters)
    return MambaStackSpanCpu.apply(dims, norms[0].eps, span.offsets, hidden_states, span.tensor)


def stack_parameters(blocks: Sequence[PreNormMamba]) -> list[torch.Tensor | None]:
    """`MambaStackCpu`'s parameters: per block its norm's weight and bias, then `block_parameters`."""
    return [_parameter(block, path) for block in blocks for path in _STACK_PATHS]


def _dims(block: Mamba) -> tuple[int, int, int, int]:
    return (block.d_inner, block.d_conv, block.dt_rank, block.d_state)
