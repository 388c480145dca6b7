"""Sinusoidal embeddings of scalars (diffusion steps, positions).

Vaswani et al. 2017, sec. 3.5; Ho et al. 2020 embed the diffusion step the same way. The step is
a number, not a token: sin/cos at geometrically spaced frequencies make nearby steps similar and
let an MLP read off any smooth function of the step.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SinusoidalPosEmb(nn.Module):
    """``(B,)`` scalars -> ``(B, dim)`` embeddings: [sin(x w_0..w_{d/2}), cos(x w_0..w_{d/2})]."""

    def __init__(self, dim: int, max_period: float = 10_000.0) -> None:
        super().__init__()
        if dim < 2 or dim % 2:
            raise ValueError(f"embedding dim={dim} must be even and >= 2")
        self.dim = dim
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)  # (dim/2,)

    freqs: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        args = x.float().reshape(-1, 1) * self.freqs  # (B, dim/2)
        return torch.cat([args.sin(), args.cos()], dim=-1)  # (B, dim)
