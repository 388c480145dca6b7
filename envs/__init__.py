"""Simulation: tasks, the Panda robot, simulator backends, controllers and scripted experts.

Importing this package registers the Gymnasium ids and is cheap: it imports neither MuJoCo nor
PyBullet (those load behind the string entry points, when an env is made).

``REGISTRY`` is a plain dict keyed by (Task, simulator): ``wb/<Task>-<sim>-v0`` is registered for every
row with ``max_episode_steps`` from the task definition, so every simulator gets the same limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym

from envs.tasks import TASKS

if TYPE_CHECKING:
    from envs.experts import ScriptedExpert

_MUJOCO = "envs.mujoco.panda_env:PandaMujocoEnv"
_PYBULLET = "envs.pybullet.panda_env:PandaPybulletEnv"
# (Task, sim) -> (entry point, constructor kwargs). Task names as in the ids; kwargs["task"] keys TASKS.
REGISTRY: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("Reach", "mujoco"): (_MUJOCO, {"task": "reach"}),
    ("Push", "mujoco"): (_MUJOCO, {"task": "push"}),
    ("PickPlace", "mujoco"): (_MUJOCO, {"task": "pick_place"}),
    ("Stack", "mujoco"): (_MUJOCO, {"task": "stack"}),
    ("PushT", "mujoco"): (_MUJOCO, {"task": "push_t"}),
    ("Tabletop", "mujoco"): (_MUJOCO, {"task": "tabletop"}),
    ("PushAround", "mujoco"): (_MUJOCO, {"task": "push_around"}),
    ("Reach", "pybullet"): (_PYBULLET, {"task": "reach"}),
    ("Push", "pybullet"): (_PYBULLET, {"task": "push"}),
    ("PickPlace", "pybullet"): (_PYBULLET, {"task": "pick_place"}),
    ("Stack", "pybullet"): (_PYBULLET, {"task": "stack"}),
    ("PushT", "pybullet"): (_PYBULLET, {"task": "push_t"}),
    ("Tabletop", "pybullet"): (_PYBULLET, {"task": "tabletop"}),
    ("PushAround", "pybullet"): (_PYBULLET, {"task": "push_around"}),
}
# Gymnasium's own envs, passed through unchanged under a wb/ id (DQN sanity checks).
PASSTHROUGH: dict[str, tuple[str, int]] = {
    "wb/CartPole-v1": ("gymnasium.envs.classic_control.cartpole:CartPoleEnv", 500),
}


def env_id(task: str, sim: str) -> str:
    return f"wb/{task}-{sim}-v0"


TASK_ENV_IDS: tuple[str, ...] = tuple(env_id(t, s) for t, s in REGISTRY)  # Panda task envs (Dict obs)
ENV_IDS: tuple[str, ...] = TASK_ENV_IDS + tuple(PASSTHROUGH)
_TASK_OF = {env_id(t, s): kwargs["task"] for (t, s), (_, kwargs) in REGISTRY.items()}

for (_task, _sim), (_entry, _kwargs) in REGISTRY.items():
    _id = env_id(_task, _sim)
    if _id not in gym.registry:  # re-import (e.g. importlib.reload) must not double-register
        _steps = TASKS[_kwargs["task"]].max_episode_steps
        gym.register(id=_id, entry_point=_entry, kwargs=dict(_kwargs), max_episode_steps=_steps)
for _id, (_entry, _steps) in PASSTHROUGH.items():
    if _id not in gym.registry:
        gym.register(id=_id, entry_point=_entry, max_episode_steps=_steps, reward_threshold=475.0)


def task_of(env_id: str) -> str:
    """Task name (a key of ``envs.tasks.TASKS``) of a registered workbench task env id."""
    if env_id not in _TASK_OF:
        raise ValueError(f"unknown task env id {env_id!r}; registered: {', '.join(TASK_ENV_IDS)}")
    return _TASK_OF[env_id]


def sim_of(env_id: str) -> str:
    """Simulator of a task env id (``wb/<Task>-<sim>-v0`` -> ``sim``)."""
    task_of(env_id)
    return env_id.rsplit("-", 2)[1]


def check_expert_controller(env_id: str, controller: str | None = None) -> str:
    """The controller the scripted expert of ``env_id`` drives when the env is built with ``controller``
    (None: the task's default, which every expert drives). Raises ``ValueError`` (one line) for a
    combination the expert cannot honour; cheap, no simulator import: call it when validating a config.
    """
    from envs.controllers import check_controller

    task = TASKS[task_of(env_id)]
    resolved = check_controller(controller or task.default_controller)
    if resolved not in task.expert_controllers:
        drives = " or ".join(task.expert_controllers)
        raise ValueError(
            f"the scripted expert of {env_id} drives {drives}; env.controller={resolved} cannot be used "
            f"for expert demos; use env.controller={task.default_controller} or dataset=DIR"
        )
    return resolved


def make_expert(
    env_id: str, noise: float = 0.0, seed: int | None = None, controller: str | None = None
) -> ScriptedExpert:
    """The scripted expert for ``env_id``; ``noise`` is the std of DART-style Gaussian action noise.

    ``controller`` must be the env's (None: the task's default); combinations the expert cannot drive
    raise ``ValueError`` (``check_expert_controller``).
    """
    from envs.experts import ScriptedExpert

    controller = check_expert_controller(env_id, controller)
    return ScriptedExpert(task_of(env_id), noise=noise, seed=seed, controller=controller)


__all__ = [
    "ENV_IDS", "PASSTHROUGH", "REGISTRY", "TASK_ENV_IDS", "check_expert_controller", "env_id", "make_expert",
    "sim_of", "task_of",
]
