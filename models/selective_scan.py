"""The selective scan at the heart of Mamba, with mamba-ssm's `selective_scan_fn` semantics and shapes.

Shapes: u, delta, z: (batch, dim, length); A: (dim, d_state), real; B, C: (batch, d_state, length);
D, delta_bias: (dim,). Per (batch, dim) channel the recurrence is

    dt_t = softplus(delta_t + delta_bias)      (bias and softplus only if asked)
    h_t  = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t
    y_t  = <C_t, h_t> + D * u_t,  then  y_t *= silu(z_t)  if z is given.

Three paths compute it and agree numerically; `selective_scan` picks one and logs which, once:

* CUDA: mamba-ssm's fused kernel, when the tensors live on a GPU and the kernel imports.
* CPU: a `torch.autograd.Function` whose forward and backward are C loops (`cpu_scan.c`, compiled for
  the host on first use). Mamba's per-step tensors are (batch, dim, length, d_state); materialising
  them, as a parallel scan must, costs GBs at training sizes. A sequential loop keeps the state in
  registers instead and, being compiled, is not slowed by Python's per-step overhead. It is also the
  fastest path for tiny sequences (CryptoMamba's: batch 32, dim 28..64, d_state 64, length 6; see
  `python -m benchmarks.scan --small`), so there is no length threshold. Where no C compiler is
  available, the CPU falls back to the reference loop with a warning.
* Reference: `selective_scan_reference`, a plain PyTorch loop, the spec the other two are tested against.

`selective_state_step` advances the state by one bar in O(1), for streaming inference.
"""

# A, B, C, D (and their gradients dA ...) are the paper's and mamba-ssm's names; F is torch's idiom.
# ruff: noqa: N803, N806, N812

import contextvars
import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from models.cpu_scan_library import (
    CHECKPOINT_EVERY,
    cpu_kernel,
    cpu_kernels_available,
    kernel_buffer,
    pointer,
)
from models.cpu_threads import kernel_threads

logger = logging.getLogger(__name__)

_announced: set[str] = set()


def announce_path(path: str) -> None:
    """Log the path taken once per process, so a run's log says which implementation it trained with.
    The whole-block C kernels (`models.cpu_mamba`) and the C streaming step skip `selective_scan`, so
    they announce themselves here too."""
    if path not in _announced:
        _announced.add(path)
        logger.info("selective scan: using the %s path", path)


def _effective_delta(delta: torch.Tensor, delta_bias: torch.Tensor | None, softplus: bool) -> torch.Tensor:
    """dt as the kernels see it; the bias is per channel, so it broadcasts over batch (and length)."""
    if delta_bias is not None:
        delta = delta + (delta_bias.unsqueeze(-1) if delta.dim() == 3 else delta_bias)
    # F.softplus's threshold (20) is the one mamba-ssm's kernel uses.
    return F.softplus(delta) if softplus else delta


def _skip_and_gate(
    y: torch.Tensor, u: torch.Tensor, D: torch.Tensor | None, z: torch.Tensor | None
) -> torch.Tensor:
    """Add the D skip connection and apply the silu(z) gate, broadcasting D over batch (and length)."""
    if D is not None:
        y = y + u * (D.unsqueeze(-1) if u.dim() == 3 else D)
    if z is not None:
        y = y * F.silu(z)
    return y


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half precisions run in float32: the recurrence multiplies many decays and loses them in 16 bits."""
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


# ----------------------------------------------------------------------------------------------- reference


def selective_scan_reference(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> torch.Tensor:
    """The recurrence written out step by step; slow but obviously right, and autograd differentiates it."""
    return _scan_with(_reference_core, u, delta, A, B, C, D, z, delta_bias, delta_softplus)


def _reference_core(
    u: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor
) -> torch.Tensor:
    batch, dim, length = u.shape
    h = u.new_zeros(batch, dim, A.shape[1])
    ys = []
    for t in range(length):
        dt_t = dt[:, :, t].unsqueeze(-1)  # (batch, dim, 1)
        h = torch.exp(dt_t * A) * h + dt_t * B[:, None, :, t] * u[:, :, t, None]
        ys.append((h * C[:, None, :, t]).sum(-1))
    return torch.stack(ys, dim=-1)


def _scan_with(
    core: Callable[..., torch.Tensor],
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None,
    z: torch.Tensor | None,
    delta_bias: torch.Tensor | None,
    delta_softplus: bool,
) -> torch.Tensor:
    """What the reference and the CPU path share around their recurrence `core(u, dt, A, B, C)`: the
    compute dtype, dt's bias and softplus, then the D skip and z gate (left to autograd in both)."""
    if A.is_complex():
        raise ValueError("only a real A is supported")
    dtype_in = u.dtype
    dtype = _compute_dtype(dtype_in)
    u, delta, A, B, C = (t.to(dtype) for t in (u, delta, A, B, C))
    dt = _effective_delta(delta, delta_bias, delta_softplus)
    return _skip_and_gate(core(u, dt, A, B, C), u, D, z).to(dtype_in)


def selective_state_step(
    state: torch.Tensor,
    u_t: torch.Tensor,
    delta_t: torch.Tensor,
    A: torch.Tensor,
    B_t: torch.Tensor,
    C_t: torch.Tensor,
    D: torch.Tensor | None = None,
    z_t: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the recurrence: (y_t, new_state) from state (batch, dim, d_state) and one new bar.

    u_t, delta_t, z_t: (batch, dim); B_t, C_t: (batch, d_state). O(1) in the length already seen, which
    is what makes a Mamba model cheap to run bar by bar; `state` is left untouched.
    """
    dt = _effective_delta(delta_t, delta_bias, delta_softplus).unsqueeze(-1)  # (batch, dim, 1)
    new_state = torch.exp(dt * A) * state + dt * B_t.unsqueeze(1) * u_t.unsqueeze(-1)
    y = (new_state * C_t.unsqueeze(1)).sum(-1)
    return _skip_and_gate(y, u_t, D, z_t), new_state


# --------------------------------------------------------------------------------------------- CPU kernels
# The recurrence runs in C (`cpu_scan.c`, built for the host on first use by `cpu_scan_library`): per
# (batch row, channel) a sequential loop keeps the state in registers, with the decays exp(dt_t * A)
# computed in the same vectorised loop that uses them. The forward stores the state only every
# CHECKPOINT_EVERY steps; the backward recomputes each chunk's states from its checkpoint and walks
# back through them.


class _SelectiveScanCpu(torch.autograd.Function):
    """y = <C_t, h_t> for dt already biased and soft-plussed; the skip and gate are left to autograd."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C):  # type: ignore[override]
        u, dt, A = (t.detach().contiguous() for t in (u, dt, A))
        batch, dim, length = u.shape
        d_state = A.shape[1]
        Bt = B.detach().transpose(1, 2).contiguous()  # (batch, length, d_state): contiguous per step
        Ct = C.detach().transpose(1, 2).contiguous()
        y = kernel_buffer(u, *u.shape)
        # the states before each chunk but the first, which starts from zeros
        checkpoints = kernel_buffer(u, batch, dim, -(-length // CHECKPOINT_EVERY) - 1, d_state)
        threads = kernel_threads(batch, dim, length, d_state)
        cpu_kernel("scan_forward", u.dtype)(
            *map(pointer, (u, dt, A, Bt, Ct)), batch, dim, length, d_state,
            pointer(y), pointer(checkpoints), threads,
        )  # fmt: skip
        ctx.save_for_backward(u, dt, A, Bt, Ct, checkpoints)
        return y

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        u, dt, A, Bt, Ct, checkpoints = ctx.saved_tensors
        batch, dim, length = u.shape
        d_state = A.shape[1]
        threads = kernel_threads(batch, dim, length, d_state)
        # Work items are (batch row, channel group); enough groups to keep every thread busy, and no
        # more, since each adds a (length, d_state) slice of dB / dC partial sums.
        groups = min(dim, -(-2 * threads // batch))
        dy = dy.contiguous().to(u.dtype)
        du, ddt = kernel_buffer(u, *u.shape), kernel_buffer(u, *u.shape)
        dA_part = kernel_buffer(u, batch, dim, d_state)
        dB_part = torch.zeros(batch, groups, length, d_state, dtype=u.dtype)
        dC_part = torch.zeros(batch, groups, length, d_state, dtype=u.dtype)
        cpu_kernel("scan_backward", u.dtype)(
            *map(pointer, (u, dt, A, Bt, Ct, dy, checkpoints)), batch, dim, length, d_state, groups,
            *map(pointer, (du, ddt, dA_part, dB_part, dC_part)), threads,
        )  # fmt: skip
        return du, ddt, dA_part.sum(0), dB_part.sum(1).transpose(1, 2), dC_part.sum(1).transpose(1, 2)


def selective_scan_cpu(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> torch.Tensor:
    """The compiled CPU path: exact, differentiable, memory bounded by chunk checkpoints."""
    return _scan_with(_SelectiveScanCpu.apply, u, delta, A, B, C, D, z, delta_bias, delta_softplus)


# -------------------------------------------------------------------------------------------------- dispatch


def cuda_kernel() -> Callable[..., torch.Tensor] | None:
    """mamba-ssm's fused kernel, or None where it is not installed or not built (always so on CPU hosts)."""
    try:
        from mamba_ssm.ops.selective_scan_interface import selective_scan_fn
    except (ImportError, ModuleNotFoundError):
        return None
    return selective_scan_fn


_HIGHER_ORDER = contextvars.ContextVar("selective_scan_higher_order", default=False)


@contextmanager
def differentiable_twice() -> Iterator[None]:
    """Route scans through the reference loop, whose gradient is itself differentiable.

    The compiled CPU path and the CUDA kernel compute their backward outside autograd, so a
    gradient of a gradient (second-order MAML, `torch.func` transforms) must use the loop.
    """
    token = _HIGHER_ORDER.set(True)
    try:
        yield
    finally:
        _HIGHER_ORDER.reset(token)


def differentiating_twice() -> bool:
    """Whether the caller is inside `differentiable_twice`, so that compiled backwards must not run."""
    return _HIGHER_ORDER.get()


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> torch.Tensor:
    """y (batch, dim, length), as mamba-ssm's `selective_scan_fn`, on the fastest path for the device."""
    args = (u, delta, A, B, C, D, z, delta_bias, delta_softplus)
    if differentiating_twice():
        announce_path(f"reference ({u.device.type}, differentiable twice)")
        return selective_scan_reference(*args)
    if u.is_cuda:
        kernel = cuda_kernel()
        # The CUDA kernel has no float64 instantiation; double precision is for checks, so the loop will do.
        if kernel is not None and u.dtype != torch.float64:
            announce_path("CUDA (mamba-ssm)")
            return kernel(*args)
        if "CUDA fallback" not in _announced:
            warnings.warn(
                "mamba-ssm's CUDA selective scan is unavailable for these inputs; using the reference loop",
                RuntimeWarning,
                stacklevel=2,
            )
        announce_path("CUDA fallback")
        return selective_scan_reference(*args)
    if u.device.type == "cpu" and cpu_kernels_available():
        announce_path("compiled CPU (C)")
        return selective_scan_cpu(*args)
    announce_path(f"reference ({u.device.type})")
    return selective_scan_reference(*args)
