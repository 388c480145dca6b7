"""An RLlib RLModule behind the workbench's Policy interface.

The policy file holds the inference-only RLModule's weights (the policy network; critics and target
networks stay in the run's RLlib checkpoint) with the config and specs, like every workbench policy;
``build_agent`` rebuilds the module from RLlib's own module spec for the same spaces, without Ray.
Dict observations (``env.obs_mode=goal``) are flattened in the order Gymnasium's
``FlattenObservation`` uses during training (the Dict space's sorted keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from agents.policy_io import save_policy
from agents.rl.rllib_config import RLlibConfig
from agents.rl.spaces import action_space_from_spec, observation_space_from_spec


def flat_observation_space(obs_spec: dict[str, Any]) -> Any:
    """The Box RLlib's default modules see: a lone ``state`` as is, a Dict flattened."""
    from gymnasium import spaces

    space = observation_space_from_spec(obs_spec)
    return spaces.flatten_space(space) if isinstance(space, spaces.Dict) else space


def flatten_batch(obs: Any, keys: list[str]) -> np.ndarray:
    """Batched env observations -> (B, D) float32, keys in the flattened space's order."""
    if not isinstance(obs, dict):
        return np.asarray(obs, dtype=np.float32)
    batch = len(next(iter(obs.values())))
    return np.concatenate([np.asarray(obs[k], dtype=np.float32).reshape(batch, -1) for k in keys], axis=1)


def module_spec(config: RLlibConfig, observation_space: Any, action_space: Any, inference_only: bool) -> Any:
    from ray.rllib.core import DEFAULT_MODULE_ID

    algo_config = config.algorithm_config().rl_module(model_config=config.model_config())
    spaces = {DEFAULT_MODULE_ID: (observation_space, action_space)}
    return algo_config.get_rl_module_spec(spaces=spaces, inference_only=inference_only)


class RLlibAgent(nn.Module):
    def __init__(
        self,
        config: RLlibConfig,
        obs_spec: dict[str, Any],
        action_spec: dict[str, Any],
        stats: dict[str, Any] | None = None,  # unused
    ) -> None:
        super().__init__()
        self.name = config.name
        self.config = config
        self.obs_spec = obs_spec
        self.action_spec = action_space_spec = action_spec
        self.observation_space = flat_observation_space(obs_spec)
        self.action_space = action_space_from_spec(action_space_spec)
        self.keys = sorted(obs_spec)  # gymnasium's Dict (and so its flattening) orders keys sorted
        self.module: Any = module_spec(config, self.observation_space, self.action_space, True).build()

    def load_weights(self, weights: dict[str, Any]) -> None:
        """Weights of a full (learner) module: the inference part is taken, critics are left out."""
        own = self.module.state_dict()
        self.module.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items() if k in own})

    def reset(self, seed: int | None = None) -> None:
        pass

    def reset_envs(self, mask: np.ndarray, seeds: list[int | None] | None = None) -> None:
        pass

    @torch.no_grad()
    def act(self, obs: Any) -> np.ndarray:
        """Batched observations -> the deterministic action (the Gaussian's mean, the argmax)."""
        flat = torch.from_numpy(flatten_batch(obs, self.keys))
        out = self.module.forward_inference({"obs": flat})
        dist = self.module.get_inference_action_dist_cls().from_logits(out["action_dist_inputs"])
        actions = dist.to_deterministic().sample().numpy()
        if hasattr(self.action_space, "low"):  # RLlib's Gaussian is unbounded; the env's range is not
            actions = np.clip(actions, self.action_space.low, self.action_space.high)
        return actions

    def save(self, path: str | Path) -> None:
        save_policy(self, path)
