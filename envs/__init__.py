"""Simulation: tasks, the Panda robot, simulator backends, controllers and scripted experts.

Importing this package registers the Gymnasium ids and is cheap: it imports neither MuJoCo nor
PyBullet (those load behind the string entry points, when an env is made).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gymnasium as gym

if TYPE_CHECKING:
    from envs.experts import ScriptedExpert

# id -> (entry point, kwargs, max_episode_steps). Step limits: the expert needs ~25 (reach) and
# ~50-70 (push) steps; the limits leave about 2x margin.
_REGISTRY: dict[str, tuple[str, dict[str, str], int]] = {
    "wb/Reach-mujoco-v0": ("envs.mujoco.panda_env:PandaMujocoEnv", {"task": "reach"}, 50),
    "wb/Push-mujoco-v0": ("envs.mujoco.panda_env:PandaMujocoEnv", {"task": "push"}, 100),
}
ENV_IDS: tuple[str, ...] = tuple(_REGISTRY)

for _env_id, (_entry, _kwargs, _steps) in _REGISTRY.items():
    if _env_id not in gym.registry:  # re-import (e.g. importlib.reload) must not double-register
        gym.register(id=_env_id, entry_point=_entry, kwargs=dict(_kwargs), max_episode_steps=_steps)


def task_of(env_id: str) -> str:
    """Task name of a registered workbench env id."""
    if env_id not in _REGISTRY:
        raise ValueError(f"unknown env id {env_id!r}; registered: {', '.join(ENV_IDS)}")
    return _REGISTRY[env_id][1]["task"]


def make_expert(env_id: str, noise: float = 0.0, seed: int | None = None) -> ScriptedExpert:
    """The scripted expert for ``env_id``; ``noise`` is the std of DART-style Gaussian action noise."""
    from envs.experts import ScriptedExpert

    return ScriptedExpert(task_of(env_id), noise=noise, seed=seed)


__all__ = ["ENV_IDS", "make_expert", "task_of"]
