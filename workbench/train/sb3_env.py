"""The sampler's step API as an SB3 ``VecEnv``: the one env layer SB3's algorithms step.

What it adds to the sampler:

- SB3's conventions: ``dones = terminated | truncated``, the last observation of a finished episode
  in ``infos[i]["terminal_observation"]``, ``"TimeLimit.truncated"`` so a time-limit cut is
  bootstrapped, ``"episode"`` (return, length) and ``"is_success"`` for SB3's episode statistics,
  and images channel-first.
- Episode seeds, episode statistics and exact resume from the :class:`EpisodeStream` it steps.
- ``env_method("compute_reward", ...)`` for HER, answered by one local env of the same task (the
  reward is a pure function of the goals, not of any env's simulator state).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv

from agents.rl.spaces import to_sb3_obs
from workbench.sampler import Sampler
from workbench.sampler.stream import EpisodeStream


class SamplerVecEnv(VecEnv):
    def __init__(
        self,
        sampler: Sampler,
        observation_space: Any,
        action_space: Any,
        images: list[str],
        seed_start: int,
        seed_stop: int,
    ) -> None:
        super().__init__(sampler.num_envs, observation_space, action_space)
        self.sampler = sampler
        self.stream = EpisodeStream(sampler, seed_start, seed_stop)
        self.images = images
        self.flat = not isinstance(observation_space, spaces.Dict)  # a Box observation (CartPole)
        self._actions: np.ndarray | None = None
        self._started = time.monotonic()
        self._reward_env: Any = None
        # Adversarial imitation: a learned reward of the transition replaces the env's for the learner
        # (the stream's episode statistics keep the env's). A discriminator's trainer sets
        # ``transitions`` to a list and the steps are kept there for it: dicts of s (B, S), a (B, A),
        # s_next (B, S; a finished episode's last state), done (B,) and the reward given, r (B,).
        self.reward_fn: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None
        self.reward_key = "state"
        self.transitions: list[dict[str, np.ndarray]] | None = None
        self._last_state: np.ndarray | None = None

    # ---------------------------------------------------------------------------------- VecEnv API
    def _obs(self, obs: Any) -> Any:
        return to_sb3_obs(obs, self.images, self.flat)

    def reset(self) -> Any:
        return self._obs(self._remember(self.stream.reset()))

    def _remember(self, obs: Any) -> Any:
        """Keep the state the next actions are taken in (for a learned reward); returns ``obs``."""
        if self.reward_fn is not None:
            self._last_state = np.asarray(obs[self.reward_key], dtype=np.float32)
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> Any:
        assert self._actions is not None, "step_wait before step_async"
        actions, self._actions = self._actions, None
        res = self.stream.step(actions)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for row, (ret, length, success) in self.stream.ended.items():
            infos[row] = {
                "terminal_observation": self._single(res.final_obs[row]),
                "TimeLimit.truncated": bool(res.truncated[row] and not res.terminated[row]),
                "episode": {"r": ret, "l": length, "t": time.monotonic() - self._started},
                "is_success": success,
            }
        dones = np.logical_or(res.terminated, res.truncated)
        rewards = res.rewards.astype(np.float32)
        if self.reward_fn is not None:
            assert self._last_state is not None, "a learned reward needs reset() or restore() first"
            reached = np.array(res.obs[self.reward_key], dtype=np.float32)  # (B, S), a copy
            for row in self.stream.ended:
                reached[row] = res.final_obs[row][self.reward_key]
            transition = {
                "s": self._last_state, "a": np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1),
                "s_next": reached, "done": np.asarray(res.terminated, dtype=np.float32),
            }  # fmt: skip
            rewards = self.reward_fn(transition)
            if self.transitions is not None:
                # the env's own reward beside the learned one: their correlation is logged
                self.transitions.append({**transition, "r": rewards, "env_r": res.rewards.astype(np.float32)})
        return self._obs(self._remember(res.obs)), rewards, dones, infos

    def _single(self, obs: Any) -> Any:
        """One row's final observation in SB3's layout (unbatched)."""
        if self.flat or not isinstance(obs, dict):
            return self._obs(obs)
        batched = self._obs({k: v[None] for k, v in obs.items()})
        return {k: v[0] for k, v in batched.items()}

    def close(self) -> None:
        self.stream.close()
        if self._reward_env is not None:
            self._reward_env.close()
            self._reward_env = None

    def reward_env(self) -> Any:
        if self._reward_env is None:
            self._reward_env = self.sampler.factory()
        return self._reward_env.unwrapped

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        if attr_name == "render_mode":  # VecEnv.__init__ asks; the envs render offscreen only
            return [None] * len(self._indices(indices))
        return [getattr(self.reward_env(), attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        raise NotImplementedError("the workbench's envs are configured by env.*, not set_attr")

    def env_method(self, method_name: str, *args: Any, indices: Any = None, **kwargs: Any) -> list[Any]:
        if method_name != "compute_reward":
            raise NotImplementedError(f"env_method({method_name!r}): only compute_reward is served")
        result = self.reward_env().compute_reward(*args, **kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: Any, indices: Any = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)

    def seed(self, seed: int | None = None) -> list[int | None]:
        return [None] * self.num_envs  # episode seeds come from the seed plan, not from SB3

    # ------------------------------------------------------------------------------ exact resume
    def state(self) -> dict[str, Any]:
        return self.stream.state()

    def restore(self, state: dict[str, Any]) -> Any:
        """Replay every row to where the checkpoint left it; returns the observations there."""
        shape = tuple(self.action_space.shape or ())
        return self._obs(self._remember(self.stream.restore(state, shape, self.action_space.dtype)))
