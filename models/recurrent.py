"""LSTM, Bi-LSTM and GRU forecasters: the recurrent baselines of the CryptoMamba paper (3 layers of 100)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Cell = Literal["lstm", "gru"]


class RecurrentForecaster(nn.Module):
    """(batch, features, window) -> (batch,): run over the days, read the forecast off the last one."""

    def __init__(
        self,
        num_features: int,
        cell: Cell = "lstm",
        hidden_size: int = 100,
        layers: int = 3,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = recurrent(
            num_features, hidden_size, num_layers=layers, batch_first=True, bidirectional=bidirectional
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(features.transpose(1, 2))  # (batch, window, hidden * directions)
        return self.head(outputs[:, -1]).squeeze(-1)
