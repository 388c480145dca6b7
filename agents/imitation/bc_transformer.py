"""BC-Transformer's sequence model: a causal transformer over the observation history.

robomimic's BC-Transformer (and the GPT-style policies after it) embeds each history frame as one
token, runs causal self-attention over the ``To`` tokens and reads the action (chunk) from the last
position, which has seen every frame. Causality means the output at position t depends on frames
<= t only, so the same network serves every history length up to ``To`` (``foundation.transformer``).
"""

from __future__ import annotations

import torch
from torch import nn

from foundation.transformer import CausalTransformer


class TransformerHead(nn.Module):
    """``(B, To, in_dim)`` frame features -> ``(B, out_dim)`` from the last token."""

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

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.transformer(feats)[:, -1]  # (B, To, out_dim) -> (B, out_dim)
