"""The Mamba block: mamba-ssm's parameter layout, the compiled path against the reference, and streaming."""

import copy

import pytest
import torch

from models import mamba_block
from models.mamba_block import Mamba
from models.selective_scan import CHECKPOINT_EVERY, selective_scan_reference
from tests.models.cuda_kernel import needs_cuda_kernel


def make_block(d_model: int = 8, d_state: int = 4, seed: int = 0) -> Mamba:
    torch.manual_seed(seed)
    return Mamba(d_model, d_state=d_state).double()


def test_parameters_have_mamba_ssm_names_and_shapes() -> None:
    block = Mamba(32, d_state=16)
    shapes = {name: tuple(p.shape) for name, p in block.named_parameters()}
    assert shapes == {
        "A_log": (64, 16),
        "D": (64,),
        "in_proj.weight": (128, 32),
        "conv1d.weight": (64, 1, 4),
        "conv1d.bias": (64,),
        "x_proj.weight": (2 + 2 * 16, 64),
        "dt_proj.weight": (64, 2),
        "dt_proj.bias": (64,),
        "out_proj.weight": (32, 64),
    }
    torch.testing.assert_close(block.A_log[3], torch.log(torch.arange(1.0, 17.0)))
    torch.testing.assert_close(block.D, torch.ones(64))
    dt = torch.nn.functional.softplus(block.dt_proj.bias)
    assert bool(((dt >= 0.001 - 1e-6) & (dt <= 0.1 + 1e-6)).all())


def test_forward_matches_the_reference_scan_with_gradients(monkeypatch: pytest.MonkeyPatch) -> None:
    """The readable block (the whole-block C path is off), values and parameter gradients, with the
    compiled scan or the reference loop."""
    block = make_block()
    monkeypatch.setattr(Mamba, "can_run_in_c", lambda *args: False)
    x = torch.randn(2, CHECKPOINT_EVERY + 5, 8, dtype=torch.float64, requires_grad=True)

    def run() -> tuple[torch.Tensor, list[torch.Tensor]]:
        out = block(x)
        return out, list(torch.autograd.grad((out * out).sum(), [x, *block.parameters()]))

    out, grads = run()
    monkeypatch.setattr(mamba_block, "selective_scan", selective_scan_reference)
    out_ref, grads_ref = run()
    assert out.shape == x.shape
    torch.testing.assert_close(out, out_ref, rtol=1e-6, atol=1e-9)
    for grad, grad_ref in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(grad, grad_ref, rtol=1e-6, atol=1e-9)


def test_forward_is_causal() -> None:
    block = make_block()
    x = torch.randn(1, 20, 8, dtype=torch.float64)
    changed = x.clone()
    changed[:, 12:] += 1.0
    with torch.no_grad():
        torch.testing.assert_close(block(x)[:, :12], block(changed)[:, :12], rtol=0, atol=0)


@pytest.mark.parametrize("in_c", [True, False], ids=["C step", "torch step"])
@pytest.mark.parametrize("length", [1, 3, 30])
def test_step_by_step_matches_forward_on_the_whole_sequence(
    length: int, in_c: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = make_block()
    if not in_c:
        monkeypatch.setattr(Mamba, "_can_step_in_c", lambda *args: False)
    x = torch.randn(3, length, 8, dtype=torch.float64)
    conv_state, ssm_state = block.allocate_inference_cache(3)
    assert conv_state.shape == (3, 16, 4)
    assert ssm_state.shape == (3, 16, 4)
    with torch.no_grad():
        assert block._can_step_in_c(x[:, :1], conv_state, ssm_state) == in_c
        full = block(x)
        steps = [block.step(x[:, t : t + 1], conv_state, ssm_state)[0] for t in range(length)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_c_step_matches_the_torch_step_with_every_bias(dtype: torch.dtype) -> None:
    """Both caches and the output agree after each bar, with in/out projection biases switched on."""
    torch.manual_seed(1)
    block = Mamba(8, d_state=6, bias=True).to(dtype)
    bars = torch.randn(2, 12, 8, dtype=dtype)
    caches_c, caches_torch = block.allocate_inference_cache(2), block.allocate_inference_cache(2)
    tolerance = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}
    with torch.no_grad():
        for t in range(bars.shape[1]):
            bar = bars[:, t : t + 1]
            out_c = block.step(bar, *caches_c)[0]
            with torch.enable_grad():  # autograd on: the readable torch path
                assert not block._can_step_in_c(bar, *caches_torch)
                out_torch = block.step(bar, *caches_torch)[0].detach()
            torch.testing.assert_close(out_c, out_torch, **tolerance)
            for cache_c, cache_torch in zip(caches_c, caches_torch, strict=True):
                torch.testing.assert_close(cache_c, cache_torch, **tolerance)


def test_float32_block_runs_and_stays_close_to_float64() -> None:
    block64 = make_block()
    block32 = make_block().float()
    x = torch.randn(2, 40, 8, dtype=torch.float64)
    with torch.no_grad():
        out32 = block32(x.float())
        out64 = block64(x)
    assert out32.dtype == torch.float32
    torch.testing.assert_close(out32.double(), out64, rtol=1e-4, atol=1e-5)


def test_state_dict_round_trips_between_blocks() -> None:
    source, target = make_block(seed=0), make_block(seed=1)
    target.load_state_dict(source.state_dict())
    x = torch.randn(1, 10, 8, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)


@needs_cuda_kernel
def test_block_on_cuda_matches_the_cpu_path() -> None:
    """One float32 block and batch, on the GPU (mamba-ssm's fused scan) and on the CPU (the C kernels):
    the same output and gradients, the parameters moved as they are (mamba-ssm's layout)."""
    torch.manual_seed(0)
    cpu_block = Mamba(16, d_state=16)
    gpu_block = copy.deepcopy(cpu_block).cuda()
    x = torch.randn(4, 3 * CHECKPOINT_EVERY + 5, 16)
    results = []
    for block, inputs in ((cpu_block, x.clone()), (gpu_block, x.cuda())):
        inputs.requires_grad_()
        out = block(inputs)
        out.square().sum().backward()
        grads = {name: p.grad.cpu() for name, p in block.named_parameters()}
        results.append((out.detach().cpu(), {"input": inputs.grad.cpu(), **grads}))
    (cpu_out, cpu_grads), (gpu_out, gpu_grads) = results
    torch.testing.assert_close(gpu_out, cpu_out, rtol=1e-3, atol=1e-4)
    for name, expected in cpu_grads.items():
        # Gradients sum over the whole batch and sequence: the tolerance scales with their size.
        atol = 1e-3 * float(expected.abs().max())
        torch.testing.assert_close(gpu_grads[name], expected, rtol=1e-3, atol=atol, msg=name)
