"""What the model-based agents share: the Policy API over per-row plans, a second set of plans for
training rollouts, random seed-step actions, policy files and the planning-time metric."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.model_based.planners import PlanState
from agents.policy_io import save_policy


class PlanningAgent(nn.Module):
    """Acting for evaluation (``act``, the Policy API) and acting for training (``explore``) keep
    separate plans and generators, so evaluating mid-run never changes training. Subclasses bring
    ``plan(obs, state, explore) -> (B, A)``."""

    def __init__(self, horizon: int, action_dim: int, seed_steps: int) -> None:
        super().__init__()
        self.horizon, self.action_dim = horizon, action_dim
        self.seed_steps = seed_steps  # training env steps acted uniformly at random before planning
        self.acting = PlanState(horizon, action_dim)  # evaluation
        self.exploring = PlanState(horizon, action_dim)  # training rollouts
        self._plan_seconds, self._plan_calls = 0.0, 0

    def plan(self, obs: dict[str, np.ndarray], state: PlanState, explore: bool) -> np.ndarray:
        raise NotImplementedError

    # ------------------------------------------------------------------------------- Policy API
    def reset(self, seed: int | None = None) -> None:
        self.acting = PlanState(self.horizon, self.action_dim)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        self.acting.restart(mask, seeds)

    @torch.no_grad()
    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        return self._timed_plan(obs, self.acting, explore=False)

    def save(self, path: Any) -> None:
        save_policy(self, path)

    # --------------------------------------------------------------------------- training rollouts
    def start_rows(self, mask: np.ndarray, seeds: list[int]) -> None:
        """Training rows of ``mask`` begin episodes with these seeds."""
        self.exploring.restart(mask, list(seeds))

    @torch.no_grad()
    def explore(self, obs: dict[str, np.ndarray], step: int) -> np.ndarray:
        """(B, A) training actions at env step ``step``: uniform in [-1, 1] from each row's generator
        for the first ``seed_steps``, then planned (with the agent's exploration)."""
        if step < self.seed_steps:
            _, gens = self.exploring.warm_start(len(next(iter(obs.values()))))
            return np.stack([(torch.rand(self.action_dim, generator=g) * 2 - 1).numpy() for g in gens])
        return self._timed_plan(obs, self.exploring, explore=True)

    def _timed_plan(self, obs: dict[str, np.ndarray], state: PlanState, explore: bool) -> np.ndarray:
        tic = time.perf_counter()
        actions = self.plan(obs, state, explore)
        self._plan_seconds += time.perf_counter() - tic
        self._plan_calls += 1
        return actions

    def plan_metrics(self) -> dict[str, float]:
        """``plan_ms``: the mean wall time of one planning call since the last call (one env row per
        call while training with one env)."""
        if not self._plan_calls:
            return {}
        out = {"plan_ms": 1000 * self._plan_seconds / self._plan_calls}
        self._plan_seconds, self._plan_calls = 0.0, 0
        return out
