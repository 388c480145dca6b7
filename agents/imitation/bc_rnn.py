"""BC-RNN's sequence model: an LSTM over the observation history (robomimic, Mandlekar et al. 2021).

robomimic found an LSTM over a short history (10 frames, 2 x 400 units) the strongest of its BC
variants on human data, where the demonstrator's actions depend on more than the current frame.
Here the LSTM reads the last ``To`` frames of features and its final output predicts the action
chunk. The policy re-runs it over a sliding window at every decision (no hidden state carried
between calls), so training and acting see exactly the same inputs and a batch of environments
can restart episodes independently; robomimic instead carries the state and resets it every 10 steps.
"""

from __future__ import annotations

import torch
from torch import nn


class LSTMHead(nn.Module):
    """``(B, To, in_dim)`` frame features -> ``(B, out_dim)`` from the LSTM output at the last frame."""

    def __init__(self, in_dim: int, out_dim: int, hidden_dim: int = 400, num_layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(in_dim, hidden_dim, num_layers=num_layers, batch_first=True)
        self.out = nn.Linear(hidden_dim, out_dim)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.lstm(feats)  # (B, To, hidden)
        return self.out(outputs[:, -1])  # (B, out_dim)
