"""The selective scan at the heart of Mamba, with mamba-ssm's `selective_scan_fn` semantics and shapes.

Shapes: u, delta, z: (batch, dim, length); A: (dim, d_state), real; B, C: (batch, d_state, length);
D, delta_bias: (dim,). Per (batch, dim) channel the recurrence is

    dt_t = softplus(delta_t + delta_bias)      (bias and softplus only if asked)
    h_t  = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t
    y_t  = <C_t, h_t> + D * u_t,  then  y_t *= silu(z_t)  if z is given.

Three paths compute it and agree numerically; `selective_scan` picks one and logs which, once:

* CUDA: mamba-ssm's fused kernel, when the tensors live on a GPU and the kernel imports.
* CPU: a `torch.autograd.Function` whose forward and backward are compiled numba loops. Mamba's
  per-step tensors are (batch, dim, length, d_state); materialising them, as a parallel scan must,
  costs GBs at training sizes. A sequential loop keeps the state in registers instead and, being
  compiled, is not slowed by Python's per-step overhead. Only the decays exp(dt * A) of one block of
  steps at a time are materialised, by torch, whose exp is vectorised (see "CPU kernels" below). It is
  also the fastest path for tiny sequences: at CryptoMamba's shapes (batch 32, dim 28..64, d_state 64,
  length 6) one forward + backward takes about half the reference loop's time (`python -m
  benchmarks.scan --small`), so there is no length threshold; only at length 1 do the two tie.
* Reference: `selective_scan_reference`, a plain PyTorch loop, the spec the other two are tested against.

`selective_state_step` advances the state by one bar in O(1), for streaming inference.
"""

# A, B, C, D (and their gradients dA ...) are the paper's and mamba-ssm's names; F is torch's idiom.
# ruff: noqa: N803, N806, N812

import contextvars
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numba
import numpy as np
import torch
import torch.nn.functional as F
from numba import njit, prange

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 64
"""The CPU path stores the state only every this many steps and recomputes the steps in between during
backward: memory O(batch * dim * length / 64 * d_state) instead of O(batch * dim * length * d_state), plus
one block's decays (`DECAY_BUFFER_ELEMENTS`) and the (batch, length, d_state) gradients of B and C."""

_announced: set[str] = set()


def _announce(path: str) -> None:
    """Log the path taken once per process, so a run's log says which implementation it trained with."""
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
# The CPU path works through the sequence one block at a time: a block is CHECKPOINT_EVERY steps of a
# slice of the batch rows. Per block, torch computes all its decays exp(dt_t * A) into one bounded buffer,
# then a numba loop does the recurrence. The split is for speed: numba cannot vectorise exp (that needs
# Intel's SVML, and the PyPI llvmlite builds are not SVML-patched: `numba -s`), so scalar exp was three
# quarters of the loop's time, while torch's exp is SIMD-vectorised. What remains in numba is
# multiply-adds over a contiguous d_state axis, compiled with reassociation allowed so that the sums over
# d_state vectorise too; that only reorders roundings, far below the tests' float64 tolerance.
# The state runs in the input dtype, as in mamba-ssm's kernel; sums over d_state, time or channels
# accumulate in float64.

_FAST = {"reassoc", "contract", "nsz"}
"""LLVM flags for the exp-free loops: reorder and fuse (FMA) sums, nothing that assumes finite values."""

DECAY_BUFFER_ELEMENTS = 2**21
"""Bound on the decay buffer of one block (8 MiB in float32): batch rows are sliced so that one block's
(rows, dim, steps, d_state) decays fit (but a block has at least one row). Large enough that the per-block
Python and dispatch costs vanish, small enough to stay in cache between torch's exp and the numba loop;
2**21 was the fastest of 2**17 .. 2**23 in `benchmarks.scan` on a 2-core host."""


@njit(parallel=True, cache=True, fastmath=_FAST)
def _scan_forward_kernel(u, dt, Bt, Ct, decays, row0, start, state, y):  # pragma: no cover - compiled
    """Advance `state` (batch, dim, d_state) over one block and write its y[b, d, t] = <C_t, h_t>.

    `decays` is (rows, dim, steps, d_state) for batch rows row0.. and steps start..; the caller stores
    the checkpoint (the state at the block's start) before the call.
    """
    rows, dim, steps, d_state = decays.shape
    for item in prange(rows * dim):
        r = item // dim
        d = item % dim
        b = row0 + r
        h = state[b, d, :].copy()
        for k in range(steps):
            t = start + k
            dtu = dt[b, d, t] * u[b, d, t]
            acc = 0.0
            for n in range(d_state):
                h[n] = decays[r, d, k, n] * h[n] + dtu * Bt[b, t, n]
                acc += Ct[b, t, n] * h[n]
            y[b, d, t] = acc
        state[b, d, :] = h


@njit(parallel=True, cache=True, fastmath=_FAST)
def _scan_backward_kernel(
    u,
    dt,
    A,
    Bt,
    Ct,
    dy,
    decays,
    checkpoints,
    chunk_index,
    row0,
    start,
    groups,
    grad_h,
    du,
    ddt,
    dA_part,
    dB_part,
    dC_part,
):  # pragma: no cover - compiled
    """Reverse scan over one block: its states are recomputed from the checkpoint, then walked backwards.

    grad_h (batch, dim, d_state) carries dL/dh_t * exp(dt_t A) from step t back to step t - 1, across
    blocks. B and C are shared by all channels of a batch row, so their gradients are sums over channels;
    each (batch row, channel group) work item owns one slice of dB_part / dC_part, which avoids races
    without atomics. dA_part (batch, dim, d_state) accumulates over blocks.

    Only the walk back through grad_h is sequential in time; it stores dL/dh_t for the whole block, and
    the gradients that follow from it are separate loops, each over few arrays: loops that touch many
    arrays are left scalar by LLVM, which cannot rule out that they overlap.
    """
    rows, dim, steps, d_state = decays.shape
    for item in prange(rows * groups):
        r = item // groups
        g = item % groups
        b = row0 + r
        states = np.empty((steps + 1, d_state), dtype=checkpoints.dtype)  # [k + 1]: h after step k
        grads = np.empty((steps, d_state), dtype=checkpoints.dtype)  # [k]: dL/dh after step k
        carry = np.empty(d_state, dtype=checkpoints.dtype)
        grad_A = np.empty(d_state)
        for d in range(g, dim, groups):
            decay = decays[r, d]
            states[0, :] = checkpoints[b, d, chunk_index, :]
            for k in range(steps):
                t = start + k
                dtu = dt[b, d, t] * u[b, d, t]
                for n in range(d_state):
                    states[k + 1, n] = decay[k, n] * states[k, n] + dtu * Bt[b, t, n]
            carry[:] = grad_h[b, d, :]
            for k in range(steps - 1, -1, -1):
                t = start + k
                dy_t = dy[b, d, t]
                for n in range(d_state):
                    grads[k, n] = carry[n] + dy_t * Ct[b, t, n]
                    carry[n] = grads[k, n] * decay[k, n]
            grad_h[b, d, :] = carry
            grad_A[:] = dA_part[b, d, :]
            for k in range(steps):
                t = start + k
                dt_t = dt[b, d, t]
                u_t = u[b, d, t]
                grad_bu = 0.0  # sum_n dL/dh_t,n * B_t,n
                grad_dt = 0.0
                for n in range(d_state):
                    grad_bu += grads[k, n] * Bt[b, t, n]
                    grad_exponent = grads[k, n] * decay[k, n] * states[k, n]  # dL/d(dt_t * A_n)
                    grad_dt += grad_exponent * A[d, n]
                    grad_A[n] += grad_exponent * dt_t
                du[b, d, t] = grad_bu * dt_t
                ddt[b, d, t] = grad_dt + grad_bu * u_t
                dtu = dt_t * u_t
                dy_t = dy[b, d, t]
                for n in range(d_state):
                    dB_part[b, g, t, n] += grads[k, n] * dtu
                    dC_part[b, g, t, n] += dy_t * states[k + 1, n]
            dA_part[b, d, :] = grad_A


def _as_array(t: torch.Tensor) -> np.ndarray:
    """A C-contiguous numpy view; one memory layout means one numba specialisation per dtype."""
    return t.detach().contiguous().numpy()


def _blocks(
    batch: int, dim: int, length: int, d_state: int
) -> tuple[list[tuple[int, int, int, int, int]], int, int]:
    """(row0, row1, chunk index, start, stop) of every block, chunks in time order, and the buffer rows.

    A block is one checkpoint chunk of CHECKPOINT_EVERY steps for as many batch rows as keep its decays
    within DECAY_BUFFER_ELEMENTS (at least one row).
    """
    steps = min(length, CHECKPOINT_EVERY)
    rows = max(1, min(batch, DECAY_BUFFER_ELEMENTS // (dim * steps * d_state)))
    blocks = [
        (row0, min(row0 + rows, batch), c, c * CHECKPOINT_EVERY, min((c + 1) * CHECKPOINT_EVERY, length))
        for c in range(-(-length // CHECKPOINT_EVERY))
        for row0 in range(0, batch, rows)
    ]
    return blocks, rows, steps


def _block_decays(
    buffer: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, row0: int, row1: int, start: int, stop: int
) -> np.ndarray:
    """exp(dt_t * A) for rows row0..row1 and steps start..stop, (rows, dim, steps, d_state), in `buffer`.

    The same ops on the same values in forward and backward, so the backward's recomputed states are the
    forward's bit for bit. The block is a contiguous view of the buffer's start even where it is smaller
    than the buffer (the last chunk, the last rows): the kernels then see one memory layout, C order,
    which is one compiled specialisation and loops that vectorise.

    Decays below sqrt(tiny) of the dtype are flushed to 0. Multiplied by another small factor they give
    subnormal numbers, which x86 computes 10-100x slower: a trained CryptoMamba (large dt, A down to -64)
    slowed from 3 to 11 s an epoch before this. Such a decay (< 1e-19 in float32, < 1e-154 in float64)
    scales the previous state below the dtype's precision against any normal term, so nothing is lost.
    """
    shape = (row1 - row0, buffer.shape[1], stop - start, buffer.shape[3])
    decays = buffer.view(-1)[: math.prod(shape)].view(shape)
    torch.mul(dt[row0:row1, :, start:stop, None], A[:, None, :], out=decays)
    log_floor = _LOG_DECAY_FLOOR[decays.dtype]
    decays.clamp_(min=log_floor).exp_()
    decays.masked_fill_(decays <= 1.001 * math.exp(log_floor), 0.0)  # margin: exp rounds in the dtype
    return decays.numpy()


_LOG_DECAY_FLOOR = {
    dtype: 0.5 * math.log(torch.finfo(dtype).tiny) for dtype in (torch.float32, torch.float64)
}


class _SelectiveScanCpu(torch.autograd.Function):
    """y = <C_t, h_t> for dt already biased and soft-plussed; the skip and gate are left to autograd."""

    @staticmethod
    def forward(ctx, u, dt, A, B, C):  # type: ignore[override]
        u, dt, A = (t.detach().contiguous() for t in (u, dt, A))
        batch, dim, length = u.shape
        d_state = A.shape[1]
        Bt = B.detach().transpose(1, 2).contiguous()  # (batch, length, d_state): contiguous per step
        Ct = C.detach().transpose(1, 2).contiguous()
        y = torch.empty_like(u)
        blocks, rows, steps = _blocks(batch, dim, length, d_state)
        buffer = torch.empty(rows, dim, steps, d_state, dtype=u.dtype)
        state = torch.zeros(batch, dim, d_state, dtype=u.dtype)
        checkpoints = torch.empty(batch, dim, -(-length // CHECKPOINT_EVERY), d_state, dtype=u.dtype)
        arrays = u.numpy(), dt.numpy(), Bt.numpy(), Ct.numpy()
        for row0, row1, c, start, stop in blocks:
            checkpoints[row0:row1, :, c] = state[row0:row1]
            decays = _block_decays(buffer, dt, A, row0, row1, start, stop)
            _scan_forward_kernel(*arrays, decays, row0, start, state.numpy(), y.numpy())
        ctx.save_for_backward(u, dt, A, Bt, Ct, checkpoints)
        return y

    @staticmethod
    def backward(ctx, dy):  # type: ignore[override]
        u, dt, A, Bt, Ct, checkpoints = ctx.saved_tensors
        batch, dim, length = u.shape
        d_state = A.shape[1]
        blocks, rows, steps = _blocks(batch, dim, length, d_state)
        # Enough work items to keep every thread busy even at one row a block; each group adds a
        # (length, d_state) slice of dB / dC partial sums, so no more than needed.
        groups = min(dim, -(-2 * numba.get_num_threads() // rows))
        buffer = torch.empty(rows, dim, steps, d_state, dtype=u.dtype)
        grad_h = torch.zeros(batch, dim, d_state, dtype=u.dtype)
        du, ddt = torch.empty_like(u), torch.empty_like(u)
        dA_part = torch.zeros(batch, dim, d_state, dtype=torch.float64)
        dB_part = torch.zeros(batch, groups, length, d_state, dtype=torch.float64)
        dC_part = torch.zeros(batch, groups, length, d_state, dtype=torch.float64)
        inputs = u.numpy(), dt.numpy(), A.numpy(), Bt.numpy(), Ct.numpy(), _as_array(dy)
        outputs = grad_h.numpy(), du.numpy(), ddt.numpy(), dA_part.numpy(), dB_part.numpy(), dC_part.numpy()
        for row0, row1, c, start, stop in reversed(blocks):
            decays = _block_decays(buffer, dt, A, row0, row1, start, stop)
            _scan_backward_kernel(
                *inputs, decays, checkpoints.numpy(), c, row0, start, groups, *outputs
            )  # fmt: skip
        dtype = u.dtype
        dA = dA_part.sum(0).to(dtype)
        dB = dB_part.sum(1).transpose(1, 2).to(dtype)
        dC = dC_part.sum(1).transpose(1, 2).to(dtype)
        return du, ddt, dA, dB, dC


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


def _cuda_kernel() -> Callable[..., torch.Tensor] | None:
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
    if _HIGHER_ORDER.get():
        _announce(f"reference ({u.device.type}, differentiable twice)")
        return selective_scan_reference(*args)
    if u.is_cuda:
        kernel = _cuda_kernel()
        # The CUDA kernel has no float64 instantiation; double precision is for checks, so the loop will do.
        if kernel is not None and u.dtype != torch.float64:
            _announce("CUDA (mamba-ssm)")
            return kernel(*args)
        if "CUDA fallback" not in _announced:
            warnings.warn(
                "mamba-ssm's CUDA selective scan is unavailable for these inputs; using the reference loop",
                RuntimeWarning,
                stacklevel=2,
            )
        _announce("CUDA fallback")
        return selective_scan_reference(*args)
    if u.device.type == "cpu":
        _announce("compiled CPU (numba)")
        return selective_scan_cpu(*args)
    _announce(f"reference ({u.device.type})")
    return selective_scan_reference(*args)
