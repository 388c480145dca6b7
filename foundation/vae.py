"""The variational pieces of a VAE, as building blocks: a diagonal-Gaussian posterior head, the
reparameterised sample and the KL divergence to the standard-normal prior.

    (mu, logvar) = GaussianHead(h)                  (B, Z) each, logvar clamped for stability
    z            = mu + exp(logvar / 2) * eps,  eps ~ N(0, I)      (reparameterisation: gradients flow)
    KL(q || p)   = 1/2 sum_z (mu^2 + exp(logvar) - logvar - 1),  p = N(0, I)

Used by the ACT policy (a conditional VAE over action chunks, ``agents/imitation/act.py``).
"""

from __future__ import annotations

import torch
from torch import nn

LOGVAR_MIN, LOGVAR_MAX = -10.0, 10.0  # exp(+-10): a bounded variance keeps the KL and its gradient finite


class GaussianHead(nn.Module):
    """``(B, D) -> (mu, logvar)``, each ``(B, Z)``: a linear map to a diagonal Gaussian."""

    def __init__(self, in_dim: int, latent_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(in_dim, 2 * latent_dim)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.proj(h).chunk(2, dim=-1)
        return mu, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A sample of N(mu, exp(logvar)) that is differentiable in mu and logvar."""
    eps = torch.randn(mu.shape, generator=generator).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over the latent: (B, Z) -> (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)
