"""S-Mamba (Wang et al., 2024, "Is Mamba effective for time series forecasting?"), the paper's SSM baseline.

Each variate's whole look-back window becomes one token; a bidirectional Mamba mixes the variates
(one block reads them in order, one in reverse, and their outputs are summed), then a feed-forward
layer works on each token. A linear projection of the close's token gives the forecast.

As in the published code (`use_norm`, on by default there, taken from the Non-stationary
Transformer), each window is first normalised per variate by its own mean and standard deviation
over the days, and the forecast is mapped back with the target variate's. The model thus learns the
next value relative to the window, so prices outside the training years' range do not leave it
extrapolating its input layer. Without it, S-Mamba on train-only scaled prices forecast the test
year far worse than persistence.
"""

from __future__ import annotations

import torch
from torch import nn

from models.mamba_block import Mamba

NORM_EPS = 1e-5
"""Added to each window's variance before the square root, as in the published code."""


class SMambaLayer(nn.Module):
    """Bidirectional Mamba over variate tokens, then a token-wise feed-forward, each with residual + norm."""

    def __init__(self, d_model: int, d_state: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.forward_mamba = Mamba(d_model=d_model, d_state=d_state, d_conv=2, expand=1)
        self.backward_mamba = Mamba(d_model=d_model, d_state=d_state, d_conv=2, expand=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        mixed = self.forward_mamba(tokens) + self.backward_mamba(tokens.flip(1)).flip(1)
        tokens = self.norm1(tokens + self.dropout(mixed))
        return self.norm2(tokens + self.dropout(self.feed_forward(tokens)))


class SMamba(nn.Module):
    """(batch, features, window) -> (batch,) next value of the feature at `target_index`."""

    def __init__(
        self,
        num_features: int,
        window: int,
        target_index: int,
        d_model: int = 128,
        d_state: int = 32,
        d_ff: int = 128,
        dropout: float = 0.1,
        layers: int = 2,
        use_norm: bool = True,
    ) -> None:
        super().__init__()
        self.target_index = target_index
        self.use_norm = use_norm
        self.embed = nn.Linear(window, d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(SMambaLayer(d_model, d_state, d_ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.project = nn.Linear(d_model, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if self.use_norm:  # per sample and variate, over the window (the last axis)
            means = features.mean(-1, keepdim=True).detach()
            stdevs = torch.sqrt(features.var(-1, keepdim=True, unbiased=False) + NORM_EPS).detach()
            features = (features - means) / stdevs
        tokens = self.dropout(self.embed(features))  # (batch, features, d_model): one token per variate
        for layer in self.layers:
            tokens = layer(tokens)
        forecast = self.project(self.norm(tokens[:, self.target_index])).squeeze(-1)
        if self.use_norm:
            forecast = forecast * stdevs[:, self.target_index, 0] + means[:, self.target_index, 0]
        return forecast

    def extra_repr(self) -> str:
        return f"target_index={self.target_index}, use_norm={self.use_norm}"
