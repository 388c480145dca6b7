"""Symlog two-hot regression (DreamerV3, Hafner et al. 2023; TD-MPC2, Hansen et al. 2024).

A scalar target becomes a distribution over ``num_bins`` fixed bins evenly spaced in symlog space: the
two bins around ``symlog(x)`` share the mass by proximity, so the distribution's mean is exactly
``symlog(x)``. A head predicts logits over the bins, trained by cross-entropy; its value is the
symexp of the predicted mean. Why not mean-squared error: the cross-entropy's gradient does not
shrink with the target's scale, so a reward of +-0.1 trains the network that predicts it as hard as
a reward of +-100 (with MSE, tiny rewards give tiny gradients and a latent world model's other
losses swamp them), and one setting of the bins serves every task.

``num_bins=1`` is plain regression (a single output, MSE), for comparisons.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def symlog(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def symexp(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.expm1(x.abs())


class TwoHot(nn.Module):
    bins: torch.Tensor

    def __init__(self, num_bins: int = 101, vmin: float = -10.0, vmax: float = 10.0) -> None:
        super().__init__()
        if num_bins < 1 or (num_bins > 1 and not vmin < vmax):
            raise ValueError(
                f"two-hot bins: need num_bins >= 1 and vmin < vmax, got {num_bins}, [{vmin}, {vmax}]"
            )
        self.num_bins = num_bins
        # Not in the state dict: fixed by the config, and the same on every device it moves to.
        self.register_buffer("bins", torch.linspace(vmin, vmax, num_bins), persistent=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(...) targets -> (..., K) two-hot distributions over the symlog bins (values outside the
        bins' range are clamped to the end bins)."""
        if self.num_bins == 1:
            return x[..., None]
        y = symlog(x).clamp(float(self.bins[0]), float(self.bins[-1]))
        width = float(self.bins[1] - self.bins[0])
        pos = (y - float(self.bins[0])) / width  # fractional bin index in [0, K-1]
        low = pos.floor().clamp(max=self.num_bins - 2).long()
        upper_mass = pos - low  # in [0, 1]: mass on bin low + 1
        out = torch.zeros((*x.shape, self.num_bins), dtype=x.dtype, device=x.device)
        out.scatter_(-1, low[..., None], (1 - upper_mass)[..., None])
        out.scatter_add_(-1, (low + 1)[..., None], upper_mass[..., None])
        return out

    def decode(self, logits: torch.Tensor) -> torch.Tensor:
        """(..., K) logits -> (...) values: symexp of the predicted distribution's mean."""
        if self.num_bins == 1:
            return logits[..., 0]
        return symexp((logits.softmax(-1) * self.bins).sum(-1))

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """(..., K) logits, (...) targets -> (...) cross-entropy to the targets' two-hot (MSE when K=1)."""
        if self.num_bins == 1:
            return (logits[..., 0] - target) ** 2
        return -(self.encode(target) * F.log_softmax(logits, dim=-1)).sum(-1)
