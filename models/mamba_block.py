"""One Mamba block, after mamba-ssm's `mamba_simple.Mamba`, on the paths of `models.selective_scan`.

Parameter names, shapes and initialisation are mamba-ssm's, so a state dict moves between this block
and the CUDA one unchanged. The forward written here is mamba-ssm's readable (non-fused) one:
projections, a causal depthwise convolution, the selective scan, a silu gate, and the output
projection. It runs on CUDA and wherever a gradient of a gradient is needed; on the CPU the same
arithmetic runs as one C call each way (`models.cpu_mamba`), tested against it.
"""

# A, B, C, D are the paper's and mamba-ssm's names; F is torch's idiom.
# ruff: noqa: N802, N806, N812

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from models.cpu_mamba import block_parameters, mamba_block_cpu
from models.cpu_scan_library import cpu_kernel, cpu_kernels_available, pointer
from models.selective_scan import announce_path, differentiating_twice, selective_scan, selective_state_step

DT_MIN = 0.001
DT_MAX = 0.1
DT_INIT_FLOOR = 1e-4


def _causal_conv1d_cuda() -> Callable[..., torch.Tensor] | None:
    """causal-conv1d's fused kernel where it is installed, else None (always so on CPU hosts)."""
    try:
        from causal_conv1d import causal_conv1d_fn
    except (ImportError, ModuleNotFoundError):
        return None
    return causal_conv1d_fn


def _at_least_float32(parameter: torch.Tensor) -> torch.Tensor:
    """A and D in at least float32, as mamba-ssm keeps them even in a half-precision model: the scan
    multiplies thousands of decays, which 16 bits cannot carry."""
    return parameter if parameter.dtype == torch.float64 else parameter.float()


class Mamba(nn.Module):
    """Input (batch, length, d_model) to output of the same shape; `step` runs it one bar at a time."""

    def __init__(
        self,
        d_model: int,
        d_state: int = 16,
        d_conv: int = 4,
        expand: int = 2,
        dt_rank: int | str = "auto",
        bias: bool = False,
        conv_bias: bool = True,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.d_state = d_state
        self.d_conv = d_conv
        self.d_inner = expand * d_model
        self.dt_rank = math.ceil(d_model / 16) if dt_rank == "auto" else int(dt_rank)

        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=bias)
        self.conv1d = nn.Conv1d(
            self.d_inner,
            self.d_inner,
            kernel_size=d_conv,
            groups=self.d_inner,
            padding=d_conv - 1,
            bias=conv_bias,
        )
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        self._init_dt_proj()
        # S4D-real: A_n = -n, stored as a log so that A stays negative (a decay) whatever the optimiser does.
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        # mamba-ssm's markers, for optimisers that exempt A_log and D from weight decay. `train` does
        # not read them: like the published CryptoMamba code, it decays every parameter.
        self.A_log._no_weight_decay = True  # type: ignore[attr-defined]
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.D._no_weight_decay = True  # type: ignore[attr-defined]
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=bias)

    def _init_dt_proj(self) -> None:
        """mamba-ssm's init: softplus(bias) is log-uniform in [DT_MIN, DT_MAX], so each channel starts
        with its own time scale; the weight is small so dt starts near that bias."""
        std = self.dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(
            torch.rand(self.d_inner) * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN)
        ).clamp(min=DT_INIT_FLOOR)
        inverse_softplus_dt = dt + torch.log(-torch.expm1(-dt))
        with torch.no_grad():
            self.dt_proj.bias.copy_(inverse_softplus_dt)
        self.dt_proj.bias._no_reinit = True  # type: ignore[attr-defined]

    def _A(self) -> torch.Tensor:
        """The (negative) state matrix."""
        return -torch.exp(_at_least_float32(self.A_log))

    def _split_x_dbl(self, x_dbl: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x_proj's output as (dt before dt_proj, B, C)."""
        return torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)  # type: ignore[return-value]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """(batch, length, d_model) -> (batch, length, d_model), causal in `length`.

        Below is the readable path (and the one for CUDA, with mamba-ssm's kernels). On the CPU the same
        arithmetic runs as two C calls, forward and backward (`models.cpu_mamba`), whenever that is
        possible: the dozens of small torch operations here cost far more than their arithmetic.
        """
        if not differentiating_twice():
            parameters = block_parameters(self)
            if self.can_run_in_c(hidden_states, *parameters):
                return mamba_block_cpu(self, hidden_states, parameters)
        x, z = self.in_proj(hidden_states).transpose(1, 2).chunk(2, dim=1)  # each (batch, d_inner, length)
        conv = _causal_conv1d_cuda() if x.is_cuda else None
        if conv is None:
            x = F.silu(self._causal_conv(x))
        else:
            x = conv(x=x, weight=self.conv1d.weight.squeeze(1), bias=self.conv1d.bias, activation="silu")
        dt, B, C = self._split_x_dbl(self.x_proj(x.transpose(1, 2)))  # each (batch, length, ...)
        dt = F.linear(dt, self.dt_proj.weight).transpose(1, 2)  # the bias is added inside the scan
        y = selective_scan(
            x,
            dt,
            self._A(),
            B.transpose(1, 2).contiguous(),
            C.transpose(1, 2).contiguous(),
            _at_least_float32(self.D),
            z=z,
            delta_bias=self.dt_proj.bias,
            delta_softplus=True,
        )
        return self.out_proj(y.transpose(1, 2))

    def _causal_conv(self, x: torch.Tensor) -> torch.Tensor:
        """`conv1d` with left padding, as d_conv shifted multiply-adds over an unfolded view.

        Same numbers as `self.conv1d(x)[..., :length]`; oneDNN's depthwise convolution is slow on the
        short sequences CryptoMamba scans (its backward took 0.5 ms a call at length 6, this half).
        """
        # (batch, d_inner, length, d_conv): each position with the d_conv - 1 inputs before it
        windows = F.pad(x, (self.d_conv - 1, 0)).unfold(-1, self.d_conv, 1)
        out = (windows * self.conv1d.weight.squeeze(1)[:, None, :]).sum(-1)
        return out if self.conv1d.bias is None else out + self.conv1d.bias[:, None]

    def allocate_inference_cache(
        self, batch_size: int, dtype: torch.dtype | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Zeroed (conv_state (batch, d_inner, d_conv), ssm_state (batch, d_inner, d_state)) for `step`."""
        device = self.out_proj.weight.device
        conv_state = torch.zeros(
            batch_size, self.d_inner, self.d_conv, device=device, dtype=dtype or self.conv1d.weight.dtype
        )
        ssm_state = torch.zeros(
            batch_size, self.d_inner, self.d_state, device=device, dtype=dtype or self.dt_proj.weight.dtype
        )
        return conv_state, ssm_state

    def step(
        self, hidden_states: torch.Tensor, conv_state: torch.Tensor, ssm_state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One new bar (batch, 1, d_model) -> its output (batch, 1, d_model) in O(1).

        The caches are updated in place, as mamba-ssm does, and returned for convenience: conv_state holds
        the last d_conv conv inputs, ssm_state the scan's hidden state. Below is the readable path; for
        inference on the CPU the same arithmetic runs as one C call (`_step_in_c`), since at batch 1 the
        thirty-odd small torch operations of a step cost far more than their arithmetic.
        """
        if hidden_states.shape[1] != 1:
            raise ValueError(f"step takes one bar at a time; got length {hidden_states.shape[1]}")
        if self._can_step_in_c(hidden_states, conv_state, ssm_state):
            return self._step_in_c(hidden_states, conv_state, ssm_state)
        x, z = self.in_proj(hidden_states.squeeze(1)).chunk(2, dim=-1)  # each (batch, d_inner)
        conv_state.copy_(torch.roll(conv_state, shifts=-1, dims=-1))
        conv_state[:, :, -1] = x
        x = (conv_state * self.conv1d.weight.squeeze(1)).sum(-1)
        if self.conv1d.bias is not None:
            x = x + self.conv1d.bias
        x = F.silu(x)
        dt, B, C = self._split_x_dbl(self.x_proj(x))
        y, new_ssm_state = selective_state_step(
            ssm_state,
            x,
            F.linear(dt, self.dt_proj.weight),
            self._A(),
            B,
            C,
            self.D,
            z_t=z,
            delta_bias=self.dt_proj.bias,
            delta_softplus=True,
        )
        ssm_state.copy_(new_ssm_state)
        return self.out_proj(y).unsqueeze(1), conv_state, ssm_state

    def _can_step_in_c(self, hidden_states: torch.Tensor, *caches: torch.Tensor) -> bool:
        """The C step serves inference only (it has no backward), on CPU tensors of the model's dtype;
        it writes the caches in place, so they must be contiguous."""
        return (
            not torch.is_grad_enabled()
            and all(cache.is_contiguous() for cache in caches)
            and self.can_run_in_c(hidden_states, self.A_log, *caches)
        )

    def can_run_in_c(self, *tensors: torch.Tensor | None) -> bool:
        """The C kernels take CPU tensors of the model's dtype, float32 or float64 (None: an absent bias)."""
        dtype = self.in_proj.weight.dtype
        return (
            dtype in (torch.float32, torch.float64)
            and all(t is None or (t.is_cpu and t.dtype == dtype) for t in tensors)
            and cpu_kernels_available()
        )

    def _step_in_c(
        self, hidden_states: torch.Tensor, conv_state: torch.Tensor, ssm_state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`step` in one call of cpu_scan.c's `mamba_step`, which updates both caches in place."""
        announce_path("compiled CPU (C, streaming step)")
        batch = hidden_states.shape[0]
        out = hidden_states.new_empty(batch, 1, self.d_model)
        # Held here, so any contiguous copy outlives the call that reads it.
        # The kernel takes the parameters in cpu_mamba's PARAMETERS order, after the input and caches.
        tensors = [
            t if t is None else t.contiguous()
            for t in (hidden_states, conv_state, ssm_state, *block_parameters(self))
        ]
        cpu_kernel("mamba_step", out.dtype)(
            *map(pointer, tensors),
            batch, self.d_model, self.d_inner, self.d_conv, self.dt_rank, self.d_state, pointer(out),
        )  # fmt: skip
        return out, conv_state, ssm_state
