"""Exponential moving average of a model's weights, with the warm-up decay of Diffusion Policy.

Polyak averaging; Diffusion Policy (Chi et al. 2023) evaluates the EMA weights, which are much
smoother than the raw weights of a diffusion model trained with a noisy objective. The decay grows
with the number of updates (diffusers' ``EMAModel`` with ``power=0.75``):

    decay(n) = clamp(1 - (1 + n / inv_gamma) ** -power, min_decay, max_decay),  n = updates - 1

so early on the average follows the model closely and later it averages over ~1/(1 - decay) steps.
The update is ``ema = decay * ema + (1 - decay) * param``; buffers (e.g. normaliser statistics) are
copied. The averaged copy is a submodule, so it is saved and loaded with its owner's
``state_dict`` together with the update count.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """Holds ``averaged``, a frozen copy of ``model``; call ``update(model)`` after each optimiser step."""

    updates: torch.Tensor

    def __init__(
        self,
        model: nn.Module,
        power: float = 0.75,
        max_decay: float = 0.9999,
        min_decay: float = 0.0,
        inv_gamma: float = 1.0,
    ) -> None:
        super().__init__()
        if not 0.0 <= min_decay <= max_decay < 1.0:
            raise ValueError(f"need 0 <= min_decay ({min_decay}) <= max_decay ({max_decay}) < 1")
        if power <= 0 or inv_gamma <= 0:
            raise ValueError(f"power={power} and inv_gamma={inv_gamma} must be > 0")
        self.power, self.max_decay, self.min_decay, self.inv_gamma = power, max_decay, min_decay, inv_gamma
        self.averaged = copy.deepcopy(model).requires_grad_(False)
        self.register_buffer("updates", torch.zeros((), dtype=torch.int64))

    def decay(self, updates: int) -> float:
        """The decay used for update number ``updates`` (0-based)."""
        n = updates - 1
        if n <= 0:
            return 0.0  # the first updates copy the weights: the random init is not worth averaging
        value = 1.0 - (1.0 + n / self.inv_gamma) ** -self.power
        return min(max(value, self.min_decay), self.max_decay)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.decay(int(self.updates))
        for ema_p, p in zip(self.averaged.parameters(), model.parameters(), strict=True):
            if p.requires_grad:
                ema_p.lerp_(p.detach(), 1.0 - decay)  # ema + (1 - decay) * (p - ema)
            else:
                ema_p.copy_(p)
        for ema_b, b in zip(self.averaged.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)
        self.updates += 1

    def forward(self, *args: object, **kwargs: object) -> object:
        return self.averaged(*args, **kwargs)
