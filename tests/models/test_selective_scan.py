"""The compiled CPU scan, the streaming step and the CUDA kernel against the readable reference loop."""

# A, B, C, D are mamba-ssm's names for the scan's inputs.
# ruff: noqa: N803, N806

import logging
from collections.abc import Callable

import pytest
import torch

from models import cpu_threads
from models import selective_scan as selective_scan_module
from models.selective_scan import (
    CHECKPOINT_EVERY,
    differentiable_twice,
    selective_scan,
    selective_scan_cpu,
    selective_scan_reference,
    selective_state_step,
)
from tests.models.cuda_kernel import needs_cuda_kernel

NAMES = ("u", "delta", "A", "B", "C", "D", "z", "delta_bias")


def make_inputs(
    batch: int,
    dim: int,
    d_state: int,
    length: int,
    *,
    with_d: bool = True,
    with_z: bool = True,
    with_bias: bool = True,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
) -> dict[str, torch.Tensor | None]:
    """Inputs in the ranges a Mamba block produces: small positive dt, negative A; all require grad."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=dtype)

    inputs = {
        "u": randn(batch, dim, length),
        "delta": randn(batch, dim, length) * 0.5 - 1.0,
        "A": -torch.rand(dim, d_state, generator=generator, dtype=dtype) * 2 - 0.1,
        "B": randn(batch, d_state, length),
        "C": randn(batch, d_state, length),
        "D": randn(dim) if with_d else None,
        "z": randn(batch, dim, length) if with_z else None,
        "delta_bias": randn(dim) * 0.1 if with_bias else None,
    }
    return {name: None if t is None else t.requires_grad_() for name, t in inputs.items()}


def forward_and_grads(
    scan: Callable[..., torch.Tensor], inputs: dict[str, torch.Tensor | None], softplus: bool
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """y and the gradient of a fixed random projection of y with respect to every given input."""
    y = scan(**inputs, delta_softplus=softplus)
    # Drawn in float64 on the CPU, so every dtype and device sees the same projection.
    generator = torch.Generator().manual_seed(1)
    weights = torch.randn(y.shape, generator=generator, dtype=torch.float64).to(y)
    given = {name: t for name, t in inputs.items() if t is not None and t.requires_grad}
    grads = torch.autograd.grad((y * weights).sum(), list(given.values()))
    return y, dict(zip(given, grads, strict=True))


def assert_matches_reference(
    inputs: dict[str, torch.Tensor | None],
    softplus: bool,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    scan: Callable[..., torch.Tensor] = selective_scan_cpu,
    reference: Callable[..., torch.Tensor] = selective_scan_reference,
) -> None:
    y, grads = forward_and_grads(scan, inputs, softplus)
    y_ref, grads_ref = forward_and_grads(reference, inputs, softplus)
    torch.testing.assert_close(y, y_ref, rtol=rtol, atol=atol)
    assert grads.keys() == grads_ref.keys()
    for name, grad in grads.items():
        torch.testing.assert_close(
            grad, grads_ref[name], rtol=rtol, atol=atol, msg=lambda m, n=name: f"d{n}: {m}"
        )


@pytest.mark.parametrize(
    ("batch", "dim", "d_state", "with_d", "with_z", "with_bias", "softplus"),
    [
        (1, 1, 1, False, False, False, False),
        (2, 3, 4, True, False, False, False),
        (3, 8, 16, True, True, True, True),
        (2, 5, 7, False, True, False, True),
        (1, 4, 16, True, False, True, False),
        (2, 3, 32, True, True, True, True),  # 16, 32 and 64 are compiled as constants
        (2, 3, 64, True, True, True, True),
    ],
)
def test_cpu_scan_matches_reference_across_shapes_and_options(
    batch: int, dim: int, d_state: int, with_d: bool, with_z: bool, with_bias: bool, softplus: bool
) -> None:
    inputs = make_inputs(batch, dim, d_state, 37, with_d=with_d, with_z=with_z, with_bias=with_bias)
    assert_matches_reference(inputs, softplus)


@pytest.mark.parametrize("d_state", [5, 16, 32, 64])  # 16, 32 and 64 are compiled as constants
@pytest.mark.parametrize(
    "length",
    [1, 2, CHECKPOINT_EVERY, CHECKPOINT_EVERY + 1, 2 * CHECKPOINT_EVERY - 1, 3 * CHECKPOINT_EVERY + 17],
)
def test_cpu_scan_matches_reference_at_chunk_edges(length: int, d_state: int) -> None:
    """Lengths of one step, exactly one chunk, a one-step or near-full remainder, and several chunks."""
    assert_matches_reference(make_inputs(2, 3, d_state, length), softplus=True)


def scan_from_the_equations(
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
    """The selective scan written out here from the Mamba paper, sharing no code with `models`:
    dt = softplus(delta + bias), h_t = exp(dt A) h_(t-1) + dt B_t u_t, and y_t = (C_t h_t + D u_t)
    times silu(z_t)."""
    dt = delta if delta_bias is None else delta + delta_bias[:, None]
    if delta_softplus:
        dt = torch.log1p(torch.exp(dt))
    batch, dim, length = u.shape
    h = torch.zeros(batch, dim, A.shape[1], dtype=torch.float64)
    ys = []
    for t in range(length):
        step = dt[:, :, t, None]  # (batch, dim, 1)
        h = torch.exp(step * A) * h + step * u[:, :, t, None] * B[:, None, :, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, :, t]))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + D[:, None] * u
    return y if z is None else y * z * torch.sigmoid(z)


@pytest.mark.parametrize("scan", [selective_scan_reference, selective_scan_cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("with_options", [False, True])
def test_both_paths_match_the_scan_written_from_the_equations(scan, with_options: bool) -> None:
    """The reference and the compiled path share their bias, softplus, skip and gate code; this
    checks that code, and the recurrence, against an independent float64 loop."""
    inputs = make_inputs(
        2, 4, 16, 2 * CHECKPOINT_EVERY + 7, with_d=with_options, with_z=with_options, with_bias=with_options
    )
    assert_matches_reference(inputs, with_options, scan=scan, reference=scan_from_the_equations)


@pytest.mark.parametrize("batch", [1, 3])
def test_cpu_scan_matches_reference_on_several_threads(batch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work split over threads: (row, channel) items forward; backward, channel groups per row (batch 1
    takes 4 groups on 2 threads), each summing its own slice of dB and dC."""
    monkeypatch.setattr(cpu_threads, "MIN_WORK_PER_THREAD", 1)
    with cpu_threads.kernels_take_the_cores(2):
        assert cpu_threads.kernel_threads(batch, 5, 10, 3) == 2
        assert_matches_reference(make_inputs(batch, 5, 3, 2 * CHECKPOINT_EVERY + 7), softplus=True)


def test_cpu_scan_float32_stays_close_to_float64_reference() -> None:
    inputs64 = make_inputs(2, 6, 16, 2 * CHECKPOINT_EVERY + 9)
    inputs32 = {
        name: None if t is None else t.detach().float().requires_grad_() for name, t in inputs64.items()
    }
    y32, grads32 = forward_and_grads(selective_scan_cpu, inputs32, softplus=True)
    y64, grads64 = forward_and_grads(selective_scan_reference, inputs64, softplus=True)
    assert y32.dtype == torch.float32
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-4)
    for name, grad in grads32.items():
        assert grad.dtype == torch.float32, name
        torch.testing.assert_close(grad.double(), grads64[name], rtol=1e-4, atol=1e-4)


def test_vanishing_decays_are_flushed_without_changing_the_result() -> None:
    """dt * A down to -300: float32 decays that would be subnormal become 0, the values stay right."""
    inputs64 = make_inputs(2, 4, 64, 20)
    with torch.no_grad():
        inputs64["delta"].uniform_(0.5, 5.0)
        inputs64["A"].copy_(-torch.arange(1, 65, dtype=torch.float64).repeat(4, 1))
    inputs32 = {
        name: None if t is None else t.detach().float().requires_grad_() for name, t in inputs64.items()
    }
    y32, grads32 = forward_and_grads(selective_scan_cpu, inputs32, softplus=False)
    y64, grads64 = forward_and_grads(selective_scan_reference, inputs64, softplus=False)
    torch.testing.assert_close(y32.double(), y64, rtol=1e-4, atol=1e-4)
    for name, grad in grads32.items():
        torch.testing.assert_close(grad.double(), grads64[name], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_decays_far_below_the_flush_threshold_are_zero_not_garbage(dtype: torch.dtype) -> None:
    """Exponents dt * A of -1e30 and -inf (no clamp holds 2^k in range there): the decay is 0, so
    every state is dt u B alone, and y is what those states give, without a NaN."""
    inputs = make_inputs(2, 3, 16, 9, with_d=False, with_z=False, with_bias=False, dtype=dtype)
    with torch.no_grad():
        inputs["delta"].abs_().add_(0.01)  # dt > 0, so dt * A is -1e30 * dt and -inf
        inputs["A"][0].fill_(-1e30)
        inputs["A"][1].fill_(-float("inf"))
    u, delta, B, C = (inputs[name] for name in ("u", "delta", "B", "C"))
    y = selective_scan_cpu(**inputs)
    states = delta[:, :, None, :] * B[:, None, :, :] * u[:, :, None, :]  # (batch, dim, d_state, length)
    expected = (states * C[:, None, :, :]).sum(2)
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y[:, :2], expected[:, :2].detach(), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y[:, 2], selective_scan_reference(**inputs)[:, 2], rtol=1e-5, atol=1e-6)


def test_cpu_scan_passes_gradcheck() -> None:
    inputs = make_inputs(2, 2, 3, CHECKPOINT_EVERY + 3)
    given = [name for name, t in inputs.items() if t is not None]

    def scan(*tensors: torch.Tensor) -> torch.Tensor:
        return selective_scan_cpu(**dict(zip(given, tensors, strict=True)), delta_softplus=True)

    assert torch.autograd.gradcheck(scan, tuple(inputs[name] for name in given))


def test_only_requested_inputs_need_grad() -> None:
    """Parameters frozen for fine-tuning (here A and B) must not break the backward pass."""
    inputs = make_inputs(2, 3, 4, 20)
    inputs["A"] = inputs["A"].detach()
    inputs["B"] = inputs["B"].detach()
    assert_matches_reference(inputs, softplus=True)


@pytest.mark.usefixtures("fresh_path_announcements")
def test_dispatch_on_cpu_takes_the_compiled_path_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    inputs = make_inputs(1, 2, 3, 10)
    with torch.no_grad(), caplog.at_level(logging.INFO, logger=selective_scan_module.__name__):
        first = selective_scan(**inputs)
        selective_scan(**inputs)
    torch.testing.assert_close(first, selective_scan_cpu(**inputs), rtol=0, atol=0)
    assert [r.getMessage() for r in caplog.records] == ["selective scan: using the compiled CPU (C) path"]


@pytest.mark.parametrize("with_options", [False, True])
def test_state_step_reproduces_the_full_scan(with_options: bool) -> None:
    inputs = make_inputs(2, 4, 8, 25, with_d=with_options, with_z=with_options, with_bias=with_options)
    u, delta, A, B, C, D, z, bias = (inputs[name] for name in NAMES)
    with torch.no_grad():
        full = selective_scan_cpu(**inputs, delta_softplus=with_options)
        state = torch.zeros(2, 4, 8, dtype=torch.float64)
        steps = []
        for t in range(u.shape[-1]):
            y_t, state = selective_state_step(
                state,
                u[..., t],
                delta[..., t],
                A,
                B[..., t],
                C[..., t],
                D,
                z_t=None if z is None else z[..., t],
                delta_bias=bias,
                delta_softplus=with_options,
            )
            steps.append(y_t)
    torch.testing.assert_close(torch.stack(steps, dim=-1), full, rtol=1e-6, atol=1e-9)


@needs_cuda_kernel
def test_cuda_kernel_matches_reference() -> None:
    inputs = {
        name: None if t is None else t.detach().float().cuda().requires_grad_()
        for name, t in make_inputs(2, 8, 16, 3 * CHECKPOINT_EVERY + 5).items()
    }
    y, grads = forward_and_grads(selective_scan, inputs, softplus=True)
    y_ref, grads_ref = forward_and_grads(selective_scan_reference, inputs, softplus=True)
    torch.testing.assert_close(y, y_ref, rtol=1e-3, atol=1e-3)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, grads_ref[name], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_backward_recomputes_exactly_the_forwards_states(dtype: torch.dtype) -> None:
    """The backward recomputes each chunk's states from its checkpoint; they must be the forward's,
    bit for bit, or its gradients belong to another trajectory. With one channel and dL/dy = 1, dL/dC_t
    is h_t as the backward recomputed it, and the forward's own h_t at the chunk ends are its
    checkpoints."""
    inputs = make_inputs(1, 1, 16, 3 * CHECKPOINT_EVERY + 5, with_d=False, with_z=False, dtype=dtype)
    y = selective_scan_cpu(**inputs, delta_softplus=True)
    checkpoints = y.grad_fn.saved_tensors[-1]  # (batch, dim, chunks - 1, d_state)
    y.backward(torch.ones_like(y))
    for chunk in range(checkpoints.shape[2]):
        end = (chunk + 1) * CHECKPOINT_EVERY - 1  # the last step before the checkpoint
        assert torch.equal(inputs["C"].grad[0, :, end], checkpoints[0, 0, chunk])


def test_cpu_scan_saves_no_per_step_state() -> None:
    """Autograd keeps the inputs and chunk checkpoints, never the (batch, dim, length, d_state) states."""
    batch, dim, d_state, length = 2, 64, 32, 4 * CHECKPOINT_EVERY
    inputs = make_inputs(batch, dim, d_state, length, with_z=False, with_d=False, with_bias=False)
    saved_bytes = 0

    def count(tensor: torch.Tensor) -> torch.Tensor:
        nonlocal saved_bytes
        saved_bytes += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(count, lambda tensor: tensor):
        selective_scan_cpu(**inputs)
    all_states_bytes = batch * dim * length * d_state * 8
    assert 0 < saved_bytes < all_states_bytes / 4


def test_second_derivatives_inside_differentiable_twice_match_finite_differences():
    inputs = make_inputs(1, 3, 4, 6)
    given = [name for name, t in inputs.items() if t is not None]

    def scan(*tensors: torch.Tensor) -> torch.Tensor:
        return selective_scan(**dict(zip(given, tensors, strict=True)), delta_softplus=True)

    with differentiable_twice():
        assert torch.autograd.gradgradcheck(scan, tuple(inputs[name] for name in given))
