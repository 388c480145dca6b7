"""Which SB3 algorithm each agent is, and building it from a config and a VecEnv.

The algorithms are Stable-Baselines3's and sb3-contrib's own classes; this module only maps the
workbench's config onto their constructors, checks what each supports (action spaces, HER), and
offers a spaces-only VecEnv so a policy can be rebuilt for acting without any env.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

# agent name -> (module, class, action spaces it supports)
ALGORITHMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dqn": ("stable_baselines3", "DQN", ("discrete",)),
    "ppo": ("stable_baselines3", "PPO", ("discrete", "box")),
    "sac": ("stable_baselines3", "SAC", ("box",)),
    "td3": ("stable_baselines3", "TD3", ("box",)),
    "tqc": ("sb3_contrib", "TQC", ("box",)),
}
GOAL_KEYS = ("achieved_goal", "desired_goal", "observation")


def algorithm_class(name: str) -> Any:
    module, attr, _ = ALGORITHMS[name]
    return getattr(importlib.import_module(module), attr)


def check_compatible(config: Any, obs_spec: dict[str, Any], action_spec: dict[str, Any], env_id: str) -> None:
    """Refuse, in one line, an algorithm the env's action space or observations cannot serve."""
    kind = "discrete" if "n" in action_spec else "box"
    supported = ALGORITHMS[config.name][2]
    if kind not in supported:
        hint = (
            "DQN needs discrete actions: set env.controller=discrete, or use agent=sac, td3, tqc or ppo"
            if config.name == "dqn"
            else "use agent=dqn or agent=ppo for discrete actions"
        )
        raise ValueError(f"agent {config.name} does not act in a {kind} action space ({env_id}); {hint}")
    if getattr(config, "her", False) and sorted(obs_spec) != sorted(GOAL_KEYS):
        raise ValueError(
            f"agent.her=true relabels goals: it needs observation / achieved_goal / desired_goal, but "
            f"{env_id} observes {sorted(obs_spec)}; set env.obs_mode=goal"
        )


def activation(name: str) -> Any:
    from torch import nn

    return {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}[name]


def has_images(observation_space: Any) -> bool:
    from gymnasium import spaces

    return isinstance(observation_space, spaces.Dict) and any(
        len(s.shape or ()) == 3 for s in observation_space.spaces.values()
    )


def policy_name(observation_space: Any) -> str:
    from gymnasium import spaces

    return "MultiInputPolicy" if isinstance(observation_space, spaces.Dict) else "MlpPolicy"


def build_algorithm(config: Any, venv: Any, seed: int, device: Any, acting: bool = False) -> Any:
    """The SB3 algorithm for ``config`` on ``venv``. ``acting``: only its policy will be used (the
    replay buffer is kept at its minimum and HER is left out: it needs a real env)."""
    kwargs = config.to_sb3()
    kwargs["policy_kwargs"]["activation_fn"] = activation(config.activation)
    if has_images(venv.observation_space):
        from agents.rl.extractor import WorkbenchExtractor

        kwargs["policy_kwargs"]["features_extractor_class"] = WorkbenchExtractor
        kwargs["policy_kwargs"]["features_extractor_kwargs"] = config.encoder_kwargs()
    if config.off_policy:
        her_kwargs = kwargs.pop("replay_buffer_kwargs", None)
        if acting:
            kwargs["buffer_size"] = 2
        elif her_kwargs is not None:
            from stable_baselines3 import HerReplayBuffer

            kwargs["replay_buffer_class"] = HerReplayBuffer
            kwargs["replay_buffer_kwargs"] = her_kwargs
    if config.name == "td3" and config.action_noise > 0 and not acting:
        from stable_baselines3.common.noise import NormalActionNoise

        dim = int(np.prod(venv.action_space.shape))
        kwargs["action_noise"] = NormalActionNoise(np.zeros(dim), np.full(dim, config.action_noise))
    policy: Any = policy_name(venv.observation_space)
    if kwargs["policy_kwargs"].pop("share_features_extractor", False) and has_images(venv.observation_space):
        from agents.rl.drq import POLICIES

        policy = POLICIES[config.name]  # one encoder, trained by the critic (DrQ); see agents/rl/drq.py
    cls = algorithm_class(config.name)
    return cls(policy, venv, seed=seed, device=device, verbose=0, **kwargs)


def spaces_vec_env(observation_space: Any, action_space: Any) -> Any:
    """A VecEnv that only carries spaces: builds an algorithm whose policy acts elsewhere."""
    from stable_baselines3.common.vec_env import VecEnv

    class SpacesVecEnv(VecEnv):
        def __init__(self) -> None:
            super().__init__(1, observation_space, action_space)

        def _refuse(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("this VecEnv only carries spaces (a policy rebuilt for acting)")

        reset = step_async = step_wait = set_attr = env_method = _refuse

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            if attr_name == "render_mode":  # VecEnv.__init__ asks
                return [None]
            return self._refuse()

        def close(self) -> None:
            pass

        def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]:
            return [False]

    return SpacesVecEnv()
