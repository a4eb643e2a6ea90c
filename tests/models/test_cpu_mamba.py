"""The whole-block and residual-stack C paths (models.cpu_mamba) against the readable blocks on the
reference scan."""

import logging

import pytest
import torch
from torch import nn
from torch.func import functional_call

from models import cpu_mamba
from models import selective_scan as selective_scan_module
from models.cpu_mamba import (
    MambaBlockCpu,
    MambaStackCpu,
    MambaStackSpanCpu,
    block_parameters,
    residual_stack_cpu,
    stack_parameters,
)
from models.cryptomamba import PAPER_HIDDEN_DIMS, CMBlock, CryptoMamba
from models.flat_parameters import flat_parameters, parameter_span
from models.mamba_block import Mamba
from models.selective_scan import CHECKPOINT_EVERY, differentiable_twice, selective_scan_cpu
from tests.models.test_selective_scan import make_inputs

SHAPES = {
    # d_model, d_state, length, batch, bias (in/out projections), conv_bias
    "CryptoMamba's first stage": (14, 64, 6, 5, False, True),
    "one bar, every bias but the conv's": (8, 16, 1, 3, True, False),
    "odd d_state, a chunk and a remainder": (5, 7, CHECKPOINT_EVERY + 6, 2, True, True),
    "d_state 32, two chunks and one step": (16, 32, 2 * CHECKPOINT_EVERY + 1, 2, False, True),
}


def perturbed(module: nn.Module) -> nn.Module:
    """`module` in float64, moved off its initialisation so every parameter's gradient is non-trivial."""
    module = module.double()
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
    return module


def perturbed_block(d_model: int, d_state: int, bias: bool, conv_bias: bool, seed: int = 0) -> Mamba:
    torch.manual_seed(seed)
    return perturbed(Mamba(d_model, d_state=d_state, bias=bias, conv_bias=conv_bias))


def weighted_loss(out: torch.Tensor) -> torch.Tensor:
    """A loss on `out` that weighs every element differently."""
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)
    return (out * weights).sum() + (out**2).sum()


def output_and_gradients(
    out: torch.Tensor, x: torch.Tensor, module: nn.Module
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """`out` and the gradients of `weighted_loss` on it w.r.t. x and `module`'s parameters."""
    return out, list(torch.autograd.grad(weighted_loss(out), [x, *module.parameters()]))


def block_dims(block: Mamba) -> tuple[int, int, int, int]:
    """The sizes the C Functions take first."""
    return (block.d_inner, block.d_conv, block.dt_rank, block.d_state)


def values_and_gradients(block: Mamba, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    return output_and_gradients(block(x), x, block)


def assert_same_results(results: tuple, expected: tuple, rtol: float, atol: float) -> None:
    """Outputs and every gradient (`values_and_gradients`' pairs) equal within the tolerances."""
    torch.testing.assert_close(results[0], expected[0], rtol=rtol, atol=atol)
    for grad, grad_expected in zip(results[1], expected[1], strict=True):
        torch.testing.assert_close(grad, grad_expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_matches_the_readable_block_on_the_reference_scan(shape: tuple[int, ...]) -> None:
    d_model, d_state, length, batch, bias, conv_bias = shape
    block = perturbed_block(d_model, d_state, bias, conv_bias)
    x = torch.randn(batch, length, d_model, dtype=torch.float64, requires_grad=True)
    out, grads = values_and_gradients(block, x)
    assert type(out.grad_fn).__name__ == "MambaBlockCpuBackward"
    with differentiable_twice():  # the readable block, on the reference loop
        out_ref, grads_ref = values_and_gradients(block, x)
    assert type(out_ref.grad_fn).__name__ != "MambaBlockCpuBackward"
    assert_same_results((out, grads), (out_ref, grads_ref), rtol=1e-6, atol=1e-9)


def test_gradcheck() -> None:
    block = perturbed_block(3, 4, bias=True, conv_bias=True)
    parameters = [p.detach().clone().requires_grad_() for p in block_parameters(block)]
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    dims = block_dims(block)
    assert torch.autograd.gradcheck(lambda x, *p: MambaBlockCpu.apply(dims, x, *p), (x, *parameters))


def test_generated_weights_under_functional_call_get_their_gradients() -> None:
    """HyperMamba runs blocks on weights it computes; the gradient must reach those tensors."""
    block = perturbed_block(6, 8, bias=False, conv_bias=True)
    scale = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, 7, 6, dtype=torch.float64)

    def gradient_of_scale() -> torch.Tensor:
        weights = {name: p * scale if name == "x_proj.weight" else p for name, p in block.named_parameters()}
        out = functional_call(block, weights, (x,))
        return torch.autograd.grad(out.square().sum(), scale)[0]

    fused = gradient_of_scale()
    with differentiable_twice():
        readable = gradient_of_scale()
    torch.testing.assert_close(fused, readable, rtol=1e-6, atol=1e-9)
    assert fused.abs() > 0


def test_float32_stays_close_to_float64() -> None:
    block64 = perturbed_block(14, 64, bias=False, conv_bias=True)
    block32 = perturbed_block(14, 64, bias=False, conv_bias=True).float()
    x = torch.randn(4, 6, 14, dtype=torch.float64, requires_grad=True)
    x32 = x.detach().float().requires_grad_()
    out64, grads64 = values_and_gradients(block64, x)
    out32, grads32 = values_and_gradients(block32, x32)
    assert type(out32.grad_fn).__name__ == "MambaBlockCpuBackward"
    torch.testing.assert_close(out32.double(), out64, rtol=1e-4, atol=1e-5)
    for grad32, grad64 in zip(grads32, grads64, strict=True):
        torch.testing.assert_close(grad32.double(), grad64, rtol=1e-3, atol=1e-4)


def test_a_parameter_of_another_dtype_takes_the_readable_path() -> None:
    """As when A_log or D is kept in float32 beside half-precision weights: the C path wants one dtype."""
    block = perturbed_block(4, 4, bias=False, conv_bias=True).float()
    x = torch.randn(1, 3, 4, requires_grad=True)
    assert type(block(x).grad_fn).__name__ == "MambaBlockCpuBackward"
    block.D.data = block.D.data.double()
    assert type(block(x).grad_fn).__name__ != "MambaBlockCpuBackward"


STACKS = {
    # d_model, d_state, length, batch, blocks
    "CryptoMamba's first C-Block": (14, 64, 6, 5, 4),
    "one block, one bar": (8, 16, 1, 3, 1),
    "odd d_state, a chunk and a remainder": (5, 7, CHECKPOINT_EVERY + 6, 2, 2),
}


def perturbed_stack(d_model: int, d_state: int, blocks: int, seed: int = 0) -> nn.ModuleList:
    torch.manual_seed(seed)
    return perturbed(nn.ModuleList(CMBlock(d_model, d_state) for _ in range(blocks)))


def stack_values_and_gradients(
    stack: nn.ModuleList, x: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    out = residual_stack_cpu(stack, x)
    if out is None:  # the blocks one by one
        out = x
        for block in stack:
            out = block(out)
    return output_and_gradients(out, x, stack)


def _block_case() -> tuple[Mamba, torch.Tensor]:
    return perturbed_block(6, 16, bias=True, conv_bias=True), torch.randn(7, 9, 6, dtype=torch.float64)


def _stack_case() -> tuple[nn.ModuleList, torch.Tensor]:
    return perturbed_stack(6, 16, blocks=3), torch.randn(7, 9, 6, dtype=torch.float64)


@pytest.mark.parametrize(
    ("case", "run"),
    [(_block_case, values_and_gradients), (_stack_case, stack_values_and_gradients)],
    ids=["block", "stack"],
)
def test_two_threads_agree_with_one(monkeypatch: pytest.MonkeyPatch, case, run) -> None:
    """Rows split over threads, each summing its own parameter gradients: an odd batch, one total."""
    module, x = case()
    x.requires_grad_()
    monkeypatch.setattr(cpu_mamba, "kernel_threads", lambda *sizes: 1)
    one = run(module, x)
    monkeypatch.setattr(cpu_mamba, "kernel_threads", lambda *sizes: 2)
    assert_same_results(run(module, x), one, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("shape", STACKS.values(), ids=STACKS.keys())
def test_a_residual_stack_matches_its_blocks_on_the_reference_scan(shape: tuple[int, ...]) -> None:
    d_model, d_state, length, batch, blocks = shape
    stack = perturbed_stack(d_model, d_state, blocks)
    x = torch.randn(batch, length, d_model, dtype=torch.float64, requires_grad=True)
    out, grads = stack_values_and_gradients(stack, x)
    assert type(out.grad_fn).__name__ == "MambaStackCpuBackward"
    with differentiable_twice():  # the readable blocks and torch's LayerNorm, on the reference loop
        out_ref, grads_ref = stack_values_and_gradients(stack, x)
    assert type(out_ref.grad_fn).__name__ != "MambaStackCpuBackward"
    assert_same_results((out, grads), (out_ref, grads_ref), rtol=1e-6, atol=1e-9)


def test_stack_gradcheck() -> None:
    stack = perturbed_stack(3, 4, blocks=2)
    parameters = [None if p is None else p.detach().clone().requires_grad_() for p in stack_parameters(stack)]
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    dims = block_dims(stack[0].op)
    assert torch.autograd.gradcheck(
        lambda x, *p: MambaStackCpu.apply(dims, stack[0].norm.eps, x, *p), (x, *parameters)
    )


def test_blocks_the_stack_kernel_cannot_take_run_one_by_one() -> None:
    """Norms with different eps, or one without an affine part: the caller gets None and loops."""
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    stack = perturbed_stack(4, 4, blocks=2)
    assert residual_stack_cpu(stack, x) is not None
    stack[1].norm.eps = 1e-6
    assert residual_stack_cpu(stack, x) is None
    stack = perturbed_stack(4, 4, blocks=2)
    stack[0].norm = nn.LayerNorm(4, elementwise_affine=False).double()
    assert residual_stack_cpu(stack, x) is None
    assert residual_stack_cpu(stack, x.float()) is None  # another dtype than the model's


def record_calls(monkeypatch: pytest.MonkeyPatch, function: type[torch.autograd.Function]) -> list[tuple]:
    """The arguments of every later `function.apply` call (each still runs): proof a C path was taken."""
    calls: list[tuple] = []
    apply = function.apply
    monkeypatch.setattr(function, "apply", lambda *args: calls.append(args) or apply(*args))
    return calls


def test_cryptomamba_runs_each_c_block_as_one_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_calls(monkeypatch, MambaStackCpu)
    CryptoMamba(num_features=6)(torch.randn(2, 6, 14)).sum().backward()
    assert len(calls) == len(PAPER_HIDDEN_DIMS) - 1  # one call per C-Block, for its four CMBlocks


def nan_filled(like: torch.Tensor, *shape: int) -> torch.Tensor:
    return like.new_full(shape, float("nan"))


def test_the_kernels_read_no_buffer_element_they_have_not_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """`kernel_buffer` skips torch's NaN fill of new memory. With the kernels' buffers (workspaces with
    their padding, outputs, checkpoints) filled with NaN instead, every result stays the same."""
    stack, block = perturbed_stack(5, 7, blocks=2), perturbed_block(5, 7, bias=True, conv_bias=True)
    x = torch.randn(3, CHECKPOINT_EVERY + 6, 5, dtype=torch.float64, requires_grad=True)
    scan_inputs = make_inputs(3, 5, 7, 2 * CHECKPOINT_EVERY + 3)

    def run() -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        scan_out = selective_scan_cpu(**scan_inputs, delta_softplus=True)
        scan_grads = list(torch.autograd.grad(scan_out.square().sum(), list(scan_inputs.values())))
        return [stack_values_and_gradients(stack, x), values_and_gradients(block, x), (scan_out, scan_grads)]

    expected = run()
    monkeypatch.setattr(cpu_mamba, "kernel_buffer", nan_filled)
    monkeypatch.setattr(selective_scan_module, "kernel_buffer", nan_filled)
    for result, wanted in zip(run(), expected, strict=True):
        assert_same_results(result, wanted, rtol=0, atol=0)


@pytest.mark.parametrize("threads", [1, 2])
def test_inside_flat_parameters_a_stack_takes_one_span_and_gives_the_same_gradients(
    monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """Training's path: one input and one gradient for the stack's 33 tensors, added into the flat
    gradient, and so into each parameter's `.grad`, as the per-tensor path's are."""
    monkeypatch.setattr(cpu_mamba, "kernel_threads", lambda *sizes: threads)
    stack = perturbed_stack(6, 16, blocks=3)
    x = torch.randn(5, 9, 6, dtype=torch.float64, requires_grad=True)
    out, grads = stack_values_and_gradients(stack, x)
    with flat_parameters(stack) as flat:
        for _ in range(2):  # a second step, after zeroing the flat gradient as training does
            flat.grad.zero_()
            x_flat = x.detach().clone().requires_grad_()
            out_flat = residual_stack_cpu(stack, x_flat)
            assert type(out_flat.grad_fn).__name__ == "MambaStackSpanCpuBackward"
            weighted_loss(out_flat).backward()
            grads_flat = [x_flat.grad, *(p.grad.clone() for p in stack.parameters())]
            assert_same_results((out_flat, grads_flat), (out, grads), rtol=1e-12, atol=1e-15)


def test_span_gradcheck() -> None:
    """The span's gradient, alignment gaps included (they get zeros), against finite differences."""
    stack = perturbed_stack(3, 4, blocks=2)
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    dims = block_dims(stack[0].op)
    with flat_parameters(stack):
        span = parameter_span(stack_parameters(stack))
        tensor = span.tensor.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda x, t: MambaStackSpanCpu.apply(dims, stack[0].norm.eps, span.offsets, x, t), (x, tensor)
    )


@pytest.mark.usefixtures("fresh_path_announcements")
def test_each_c_path_says_once_that_it_runs(caplog: pytest.LogCaptureFixture) -> None:
    """The whole-block kernels and the C step bypass `selective_scan`, so they log their path
    themselves: a training or streaming run's log says which implementation it used."""
    model, block = CryptoMamba(num_features=6), Mamba(8, d_state=16)
    with caplog.at_level(logging.INFO, logger=selective_scan_module.__name__):
        for _ in range(2):
            model(torch.randn(2, 6, 14)).sum().backward()
            block(torch.randn(2, 5, 8)).sum().backward()
            with torch.no_grad():
                block.step(torch.randn(1, 1, 8), *block.allocate_inference_cache(batch_size=1))
    assert [r.getMessage() for r in caplog.records] == [
        "selective scan: using the compiled CPU (C, whole pre-norm block stack) path",
        "selective scan: using the compiled CPU (C, whole Mamba block) path",
        "selective scan: using the compiled CPU (C, streaming step) path",
    ]


@pytest.mark.usefixtures("fresh_path_announcements")
def test_a_model_off_the_c_path_does_not_claim_it(caplog: pytest.LogCaptureFixture) -> None:
    """Where a gradient of a gradient is wanted the blocks run the readable path, and the log says so."""
    with caplog.at_level(logging.INFO, logger=selective_scan_module.__name__), differentiable_twice():
        CryptoMamba(num_features=6)(torch.randn(2, 6, 14))
    assert [r.getMessage() for r in caplog.records] == [
        "selective scan: using the reference (cpu, differentiable twice) path"
    ]
