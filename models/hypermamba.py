"""HyperMamba (HyperMamba paper, Algorithm IV-C): a hypernetwork writes task-specific weights.

The base model is a small Mamba regressor: a linear embedding of each bar's features, one Mamba
block with a residual connection and a normalisation, and a linear head on the last bar. For a task
with embedding e (statistics of its support window), the hypernetwork H_phi adds task-specific
offsets to a chosen subset of the base weights:

- `head`: the head's weight and bias (a HyperMAML-style head-only hypernetwork);
- `head+ssm`: also a low-rank offset U V^T to the block's `x_proj`, the projection that produces
  the selective scan's Delta, B and C from each bar, so a task changes what the state keeps.

The final layer of H_phi starts at zero, so before meta-training every task starts from the shared
weights. Everything runs functionally (`torch.func.functional_call`) on a dict of weights, so the
inner gradient steps of `models.meta_learning` can differentiate through them.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

from models.mamba_block import Mamba

HEAD = ("head.weight", "head.bias")
SSM_PROJECTION = "mixer.x_proj.weight"
ADAPTED_SUBSETS = ("head", "head+ssm")

Weights = dict[str, torch.Tensor]


class RegimeMamba(nn.Module):
    """(batch, window, features) -> (batch,) next-bar return forecast."""

    def __init__(self, features: int, d_model: int = 16, d_state: int = 8) -> None:
        super().__init__()
        self.embed = nn.Linear(features, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.mixer = Mamba(d_model, d_state=d_state, expand=2)
        self.head = nn.Linear(d_model, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        hidden = self.embed(inputs)
        hidden = hidden + self.mixer(self.norm(hidden))
        return self.head(hidden[:, -1]).squeeze(-1)


def weights_of(model: nn.Module) -> Weights:
    return dict(model.named_parameters())


def forecast(model: nn.Module, weights: Weights, inputs: torch.Tensor) -> torch.Tensor:
    """The model's forecast with `weights` in place of its own (a functional call)."""
    return functional_call(model, weights, (inputs,))


class HyperNetwork(nn.Module):
    """H_phi: task embedding -> offsets of the adapted weights of a `RegimeMamba`."""

    def __init__(
        self, base: RegimeMamba, embedding: int, adapt: str = "head+ssm", rank: int = 2, hidden: int = 64
    ):
        super().__init__()
        if adapt not in ADAPTED_SUBSETS:
            raise ValueError(f"adapt={adapt!r}: expected one of {', '.join(ADAPTED_SUBSETS)}")
        self.adapt = adapt
        self.rank = rank
        d_model = base.head.in_features
        self.x_proj_shape = tuple(base.mixer.x_proj.weight.shape)
        outputs = d_model + 1
        if adapt == "head+ssm":
            outputs += rank * sum(self.x_proj_shape)
        self.body = nn.Sequential(nn.Linear(embedding, hidden), nn.Tanh(), nn.Linear(hidden, outputs))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)
        if adapt == "head+ssm":
            # As in LoRA: U starts at zero (no offset yet) but V does not, or U V^T would have no
            # gradient in either factor and the SSM offset could never move.
            columns = self.x_proj_shape[1]
            v_bias = self.body[-1].bias[outputs - rank * columns :]
            with torch.no_grad():
                v_bias.normal_(0.0, columns**-0.5)

    @property
    def adapted_names(self) -> tuple[str, ...]:
        return (*HEAD, SSM_PROJECTION) if self.adapt == "head+ssm" else HEAD

    def task_weights(self, shared: Weights, embedding: torch.Tensor) -> Weights:
        """theta_T: the shared weights plus the offsets H_phi writes for this task."""
        out = self.body(embedding)
        d_model = shared["head.weight"].shape[1]
        weights = dict(shared)
        weights["head.weight"] = shared["head.weight"] + out[:d_model].view(1, d_model)
        weights["head.bias"] = shared["head.bias"] + out[d_model : d_model + 1]
        if self.adapt == "head+ssm":
            rows, columns = self.x_proj_shape
            factors = out[d_model + 1 :]
            u = factors[: rows * self.rank].view(rows, self.rank)
            v = factors[rows * self.rank :].view(self.rank, columns)
            weights[SSM_PROJECTION] = shared[SSM_PROJECTION] + u @ v
        return weights
