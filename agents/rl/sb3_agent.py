"""An SB3 algorithm's policy behind the workbench's Policy interface.

The agent *is* the SB3 policy module (``self.policy``: actor, critics and target networks as SB3
builds them), so ``state_dict()`` is SB3's own and a policy file rebuilds it from the config and
specs alone. For training, the online trainer builds the full algorithm (replay buffer, optimizers)
on the real envs and the agent adopts that algorithm's policy; for evaluation the policy is rebuilt
on a spaces-only VecEnv. Acting is SB3's ``predict(deterministic=True)``: the mean action of SAC's
squashed Gaussian, DQN's greedy action.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from agents.policy_io import save_policy
from agents.rl.algorithms import build_algorithm, spaces_vec_env
from agents.rl.config import RLConfig
from agents.rl.spaces import action_space_from_spec, image_keys, observation_space_from_spec, to_sb3_obs


class SB3Agent(nn.Module):
    def __init__(
        self,
        config: RLConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,  # unused: SB3 policies normalise nothing by default
    ) -> None:
        super().__init__()
        self.name = config.name
        self.config = config
        self.obs_spec = obs_spec
        self.action_spec = action_spec
        self.observation_space = observation_space_from_spec(obs_spec)
        self.action_space = action_space_from_spec(action_spec)
        self.images = image_keys(obs_spec)
        self.flat = list(obs_spec) == ["state"]  # a Box observation (CartPole), recorded as `state`
        acting = build_algorithm(config, self.vec_env_of_spaces(), seed=0, device="cpu", acting=True)
        self.policy: Any = acting.policy

    def vec_env_of_spaces(self) -> Any:
        return spaces_vec_env(self.observation_space, self.action_space)

    def adopt(self, policy: nn.Module) -> None:
        """Act with the training algorithm's own policy module (same class and shapes)."""
        self.policy = policy

    # ------------------------------------------------------------------------------------ acting
    def reset(self, seed: int | None = None) -> None:
        pass  # deterministic and memoryless

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        pass

    def act(self, obs: Any) -> np.ndarray:
        """Batched env observations -> (B, A) actions, or (B,) indices for a discrete action space."""
        if isinstance(obs, dict) and not self.flat:  # only the keys the policy was trained on
            obs = {k: obs[k] for k in self.obs_spec}
        actions, _ = self.policy.predict(to_sb3_obs(obs, self.images, self.flat), deterministic=True)
        return np.asarray(actions)

    def save(self, path: str | Path) -> None:
        save_policy(self, path)
