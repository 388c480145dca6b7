"""TD-MPC's planner: MPPI over latent rollouts with policy-prior samples (see :mod:`planners` for
the shared conventions: (B, N, H, A) candidates, per-row generators)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from agents.model_based.planners import Objective, _noise
from agents.model_based.tdmpc_config import LatentPlannerConfig


class LatentMPPI:
    """TD-MPC's planner: MPPI over latent rollouts with samples from the policy prior among the
    candidates. Each iteration scores ``prior`` sequences (fixed) and Gaussian samples around the mean,
    refits mean and std to the ``elites`` best with weights softmax(temperature * value), and returns
    the final mean and std (the std serves exploration)."""

    def __init__(self, config: LatentPlannerConfig) -> None:
        self.config = config

    def plan(
        self,
        objective: Objective,
        mean: torch.Tensor,
        generators: Sequence[torch.Generator],
        prior: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``mean`` (B, H, A) warm start; ``prior`` (B, P, H, A) sequences of the policy prior."""
        cfg = self.config
        h, a = mean.shape[1:]
        std = torch.full_like(mean, cfg.max_std)
        n = cfg.population - (0 if prior is None else prior.shape[1])
        for _ in range(cfg.iterations):
            samples = (mean[:, None] + std[:, None] * _noise(generators, n, h, a)).clamp(-1, 1)
            if prior is not None:
                samples = torch.cat([prior, samples], dim=1)  # (B, N, H, A)
            values = objective(samples)  # (B, N)
            top_values, top = values.topk(cfg.elites, dim=1)  # (B, K)
            elites = samples.gather(1, top[..., None, None].expand(-1, -1, h, a))  # (B, K, H, A)
            score = torch.softmax(cfg.temperature * (top_values - top_values[:, :1]), dim=1)[..., None, None]
            mean = (score * elites).sum(1)
            std = (score * (elites - mean[:, None]) ** 2).sum(1).sqrt().clamp(cfg.min_std, cfg.max_std)
        return mean, std
