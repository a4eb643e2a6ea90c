"""CryptoMamba (Sepehri et al., 2025): C-Blocks of CMBlocks with a Linear between blocks and a Linear merge.

As published, a sample is a (features, window) matrix and each CMBlock's Mamba scans over the
*feature* axis: the sequence is Timestamp, Open, High, Low, Close[, Volume] and the 14 days are the
channels. `scan_axis="features"` keeps that (it gives the published 136,952 parameters with volume).
`scan_axis="time"` is the variant that scans over the days: it embeds each day's features, reads the
forecast off the last day (the scan is causal, so that position has seen the whole window), and can
therefore run one new bar at a time through `step`.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Literal

import torch
from torch import nn

from models.cpu_mamba import residual_stack_cpu
from models.mamba_block import Mamba

ScanAxis = Literal["features", "time"]
PAPER_HIDDEN_DIMS = (14, 16, 32, 1)
PAPER_BLOCKS_PER_STAGE = 4
PAPER_D_STATE = 64


class CMBlock(nn.Module):
    """Pre-norm residual Mamba: x + Mamba(LayerNorm(x)) (the published block with its MLP branch off)."""

    def __init__(self, dim: int, d_state: int, d_conv: int = 4, expand: int = 2) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.op = Mamba(d_model=dim, d_state=d_state, d_conv=d_conv, expand=expand)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.op(self.norm(x))

    def step(self, x: torch.Tensor, cache: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        out, _, _ = self.op.step(self.norm(x), *cache)
        return x + out


class CBlock(nn.Module):
    """`blocks` CMBlocks at one width, then a Linear to the next stage's width."""

    def __init__(self, dim: int, next_dim: int, blocks: int, d_state: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(CMBlock(dim, d_state) for _ in range(blocks))
        self.project = nn.Linear(dim, next_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stacked = residual_stack_cpu(self.blocks, x)  # the CMBlocks as one C call, where it can run
        if stacked is not None:
            return self.project(stacked)
        for block in self.blocks:
            x = block(x)
        return self.project(x)

    def step(self, x: torch.Tensor, caches: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        for block, cache in zip(self.blocks, caches, strict=True):
            x = block.step(x, cache)
        return self.project(x)


class CryptoMamba(nn.Module):
    """(batch, features, window) -> (batch,) next-day close, in the scaler's units."""

    def __init__(
        self,
        num_features: int,
        window: int = 14,
        hidden_dims: Sequence[int] = PAPER_HIDDEN_DIMS,
        blocks_per_stage: int = PAPER_BLOCKS_PER_STAGE,
        d_state: int = PAPER_D_STATE,
        scan_axis: ScanAxis = "features",
    ) -> None:
        super().__init__()
        if hidden_dims[-1] != 1:
            raise ValueError(f"the last hidden dim is the output per position and must be 1: {hidden_dims}")
        if scan_axis == "features" and hidden_dims[0] != window:
            raise ValueError(
                f"scanning over features makes the {window} days the channels: hidden_dims[0] must be "
                f"{window}, got {hidden_dims[0]}"
            )
        self.scan_axis = scan_axis
        # The time-axis variant embeds each day's features; the faithful one reads the days as channels.
        self.embed = nn.Linear(num_features, hidden_dims[0]) if scan_axis == "time" else None
        self.stages = nn.ModuleList(
            CBlock(dim, next_dim, blocks_per_stage, d_state) for dim, next_dim in pairwise(hidden_dims)
        )
        # The published merge: one value per feature into the forecast.
        self.merge = nn.Linear(num_features, 1) if scan_axis == "features" else None

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = features if self.embed is None else self.embed(features.transpose(1, 2))
        for stage in self.stages:
            x = stage(x)
        if self.merge is None:
            return x[:, -1, 0]
        return self.merge(x.squeeze(-1)).squeeze(-1)

    def parameter_count(self) -> int:
        return sum(parameter.numel() for parameter in self.parameters())

    # Streaming (time-axis variant only): one new day at a time, O(1) per day.

    def allocate_stream(self, batch_size: int) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
        """Zeroed caches for `step`, one (conv_state, ssm_state) per CMBlock."""
        if self.embed is None:
            raise ValueError("only the time-axis variant streams: the faithful one scans over features")
        return [
            [block.op.allocate_inference_cache(batch_size) for block in stage.blocks] for stage in self.stages
        ]

    def step(self, day: torch.Tensor, stream: list[list[tuple[torch.Tensor, torch.Tensor]]]) -> torch.Tensor:
        """One day's features (batch, features) -> the forecast made after that day (batch,).

        From fresh caches, feeding a window's days in order ends with `forward`'s forecast for it.
        """
        x = self.embed(day).unsqueeze(1)
        for stage, caches in zip(self.stages, stream, strict=True):
            x = stage.step(x, caches)
        return x.reshape(-1)
