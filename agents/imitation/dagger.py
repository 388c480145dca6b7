"""DAgger's policy mixing and label accounting (Ross, Gordon & Bagnell 2011, "A Reduction of
Imitation Learning and Structured Prediction to No-Regret Online Learning", Algorithm 3.1).

Round r executes the mixture ``pi_r = beta_r * pi_expert + (1 - beta_r) * pi_learner``: at every
step, independently per environment, the expert's action is executed with probability beta_r and
the learner's otherwise; the expert labels every visited state either way. beta_r decays to 0
(``DaggerConfig.beta``), so later rounds visit the states the learner itself reaches, which is
what fixes behaviour cloning's compounding errors. The outer loop is :mod:`agents.imitation.dagger_loop`.
"""

from __future__ import annotations

import numpy as np

from agents.base import Policy
from agents.imitation.dagger_config import DaggerConfig

__all__ = ["DaggerConfig", "MixturePolicy", "label_budget_left"]


class MixturePolicy:
    """Executes the expert's action with probability ``beta`` per step and env, else the learner's.

    The learner acts at every step, also when its action is not executed, so that its observation
    history and action queue follow the episode exactly as they would when it acts alone.
    """

    def __init__(self, learner: Policy, expert: Policy, beta: float, seed: int) -> None:
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"beta={beta} must be in [0, 1]")
        self.learner, self.expert, self.beta = learner, expert, beta
        self._rng = np.random.default_rng(seed)
        self.steps = 0  # env steps acted
        self.expert_steps = 0  # of which the expert's action was executed

    def reset(self, seed: int | None = None) -> None:
        self.learner.reset(seed=seed)
        self.expert.reset(seed=seed)

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        for policy in (self.learner, self.expert):
            policy.reset_envs(mask, seeds)

    def act(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        learner_action = np.asarray(self.learner.act(obs), dtype=np.float32)  # (B, A)
        expert_action = np.asarray(self.expert.act(obs), dtype=np.float32)  # (B, A)
        use_expert = self._rng.random(len(learner_action)) < self.beta  # (B,)
        self.steps += len(use_expert)
        self.expert_steps += int(use_expert.sum())
        return np.where(use_expert[:, None], expert_action, learner_action)

    @property
    def expert_fraction(self) -> float:
        return self.expert_steps / max(1, self.steps)


def label_budget_left(budget: int, labels: int) -> int | None:
    """Expert labels that may still be added (None: no budget). ``budget`` 0 means unlimited."""
    if budget <= 0:
        return None
    return max(0, budget - labels)
