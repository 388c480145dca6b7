"""Sampling-based planners over action sequences, batched in torch: CEM and MPPI.

A planner maximises ``objective(actions) -> returns`` over action sequences in ``[-1, 1]``:
``actions`` is ``(B, N, H, A)`` (B independent problems, e.g. one per env; N candidates each; horizon
H) and ``returns`` is ``(B, N)``. ``plan(objective, mean, generators)`` starts from ``mean``
``(B, H, A)`` (the previous plan shifted by one step: warm start) and returns the improved mean. The
noise for row ``b`` comes from ``generators[b]``, so a row's plan does not depend on which other rows
are planned beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from agents.model_based.config import PlannerConfig

Objective = Callable[[torch.Tensor], torch.Tensor]  # (B, N, H, A) -> (B, N)


def _noise(generators: Sequence[torch.Generator], n: int, h: int, a: int) -> torch.Tensor:
    """(B, N, H, A) standard normal noise, row b drawn from generators[b]."""
    return torch.stack([torch.randn(n, h, a, generator=g) for g in generators])


class CEM:
    """Cross-entropy method (Rubinstein 1999; PETS): sample around a Gaussian, refit it to the elites."""

    def __init__(self, config: PlannerConfig) -> None:
        self.config = config

    def plan(
        self, objective: Objective, mean: torch.Tensor, generators: Sequence[torch.Generator]
    ) -> torch.Tensor:
        cfg = self.config
        h, a = mean.shape[1:]
        std = torch.full_like(mean, cfg.init_std)  # (B, H, A)
        for _ in range(cfg.iterations):
            samples = (mean[:, None] + std[:, None] * _noise(generators, cfg.population, h, a)).clamp(-1, 1)
            returns = objective(samples)  # (B, N)
            top = returns.topk(cfg.elites, dim=1).indices  # (B, K)
            elites = samples.gather(1, top[..., None, None].expand(-1, -1, h, a))  # (B, K, H, A)
            new_mean, new_std = elites.mean(1), elites.std(1, unbiased=False)
            mean = cfg.momentum * mean + (1 - cfg.momentum) * new_mean
            std = (cfg.momentum * std + (1 - cfg.momentum) * new_std).clamp_min(cfg.min_std)
        return mean


class MPPI:
    """Model-predictive path integral control (Williams et al. 2017): the mean moves to the
    softmax(returns / temperature)-weighted average of the samples; returns are normalised per row
    (max-shifted and divided by their spread) so one temperature serves any reward scale."""

    def __init__(self, config: PlannerConfig) -> None:
        self.config = config

    def plan(
        self, objective: Objective, mean: torch.Tensor, generators: Sequence[torch.Generator]
    ) -> torch.Tensor:
        cfg = self.config
        h, a = mean.shape[1:]
        for _ in range(cfg.iterations):
            noise = cfg.init_std * _noise(generators, cfg.population, h, a)
            samples = (mean[:, None] + noise).clamp(-1, 1)  # (B, N, H, A)
            returns = objective(samples)  # (B, N)
            spread = returns.std(1, keepdim=True).clamp_min(1e-6)
            weights = torch.softmax(
                (returns - returns.amax(1, keepdim=True)) / (spread * cfg.temperature), dim=1
            )
            mean = (weights[..., None, None] * samples).sum(1)  # (B, H, A)
        return mean


class PlanState:
    """Per-row acting state: the warm-start plan (B, H, A) and one generator per row, seeded by the
    row's episode seed so a row's actions never depend on the other rows."""

    def __init__(self, horizon: int, action_dim: int) -> None:
        self.horizon, self.action_dim = horizon, action_dim
        self.plans = torch.zeros(0, horizon, action_dim)
        self.generators: list[torch.Generator] = []

    def ensure(self, rows: int) -> None:
        """Rows never restarted explicitly start from seeds 0..B-1 (a fixed, documented default)."""
        while len(self.generators) < rows:
            self.generators.append(torch.Generator().manual_seed(len(self.generators)))
        if self.plans.shape[0] < rows:
            extra = torch.zeros(rows - self.plans.shape[0], self.horizon, self.action_dim)
            self.plans = torch.cat([self.plans, extra])

    def warm_start(self, rows: int) -> tuple[torch.Tensor, list[torch.Generator]]:
        """The first ``rows`` rows' warm-start plans (B, H, A) and generators, created if new."""
        self.ensure(rows)
        return self.plans[:rows], self.generators[:rows]

    def shift(self, plan: torch.Tensor) -> None:
        """Keep ``plan`` (B, H, A) one step on for the next call: its tail, then zeros."""
        self.plans[: plan.shape[0]] = torch.cat([plan[:, 1:], torch.zeros_like(plan[:, :1])], dim=1)

    def restart(self, mask: np.ndarray, seeds: list[int | None] | None) -> None:
        self.ensure(len(mask))
        for row in np.flatnonzero(mask):
            seed = seeds[row] if seeds is not None else None
            self.generators[row] = torch.Generator().manual_seed(int(seed) if seed is not None else int(row))
            self.plans[row] = 0.0

    def state(self) -> dict[str, Any]:
        return {"plans": self.plans.clone(), "generators": [g.get_state() for g in self.generators]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.plans = state["plans"].clone()
        self.generators = [torch.Generator() for _ in state["generators"]]
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)


PLANNERS: dict[str, type[CEM] | type[MPPI]] = {"cem": CEM, "mppi": MPPI}


def make_planner(config: PlannerConfig) -> CEM | MPPI:
    return PLANNERS[config.name](config)
