"""BC-Transformer's sequence model: a causal transformer over the observation history.

robomimic's BC-Transformer (and the GPT-style policies after it) embeds each history frame as one
token and runs causal self-attention over the ``To`` tokens, so the output at position j has seen
frames <= j only (``foundation.transformer``). Like a GPT trained on every next token, it is
supervised at every position: the output at the frame of step s predicts the action (chunk) from s
(``BCAgent.compute_loss``), To targets per sample instead of one. Acting reads the last position,
which has seen every frame.
"""

from __future__ import annotations

import torch
from torch import nn

from foundation.transformer import CausalTransformer


class TransformerHead(nn.Module):
    """``(B, To, in_dim)`` frame features -> ``(B, out_dim)`` from the last token; ``forward_all``
    gives every position's output ``(B, To, out_dim)`` for the per-position loss."""

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        max_len: int,
        d_model: int = 128,
        n_layers: int = 4,
        n_heads: int = 4,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.transformer = CausalTransformer(in_dim, out_dim, max_len, d_model, n_layers, n_heads, dropout)

    def forward_all(self, feats: torch.Tensor) -> torch.Tensor:
        return self.transformer(feats)  # (B, To, in_dim) -> (B, To, out_dim), position j sees frames <= j

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.forward_all(feats)[:, -1]  # (B, out_dim): the position that has seen every frame
