"""Gymnasium vector envs for the ``sync`` and ``async`` backends (no hand-written process pool).

Both use the **disabled** autoreset mode: the sampler resets each sub-env itself with the seed of the
next queued episode, so episode ``seeds[k]`` always starts from ``reset(seed=seeds[k])`` whatever the
number of envs (with same-step or next-step autoreset the env would draw its own seed).

``async`` runs each env in a worker process started with ``spawn``: a forked child would inherit the
parent's OpenGL/EGL and OpenMP state, which MuJoCo's renderer and torch do not survive reliably.
"""

from __future__ import annotations

import os
from typing import Any

from workbench.sampler.factory import EnvFactory

LOCAL_BACKENDS = ("sync", "async")


def make_vector_env(factory: EnvFactory, num_envs: int, backend: str = "sync") -> Any:
    import gymnasium as gym

    mode = gym.vector.AutoresetMode.DISABLED
    if backend == "sync":
        return gym.vector.SyncVectorEnv([factory] * num_envs, autoreset_mode=mode)
    if backend == "async":
        # Worker processes inherit the environment: one OpenMP thread each (they share the cores
        # with the learner), headless rendering.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("MUJOCO_GL", "egl")
        return gym.vector.AsyncVectorEnv(
            [factory] * num_envs, autoreset_mode=mode, context="spawn", shared_memory=True
        )
    raise ValueError(f"backend={backend!r} is not a local backend; one of {list(LOCAL_BACKENDS)}")


def sim_states(venv: Any) -> tuple[Any, ...] | None:
    """Every sub-env's ``get_state()`` (works across processes: ``call``, not ``venv.envs``); None for
    envs without exact simulator state (e.g. the CartPole passthrough)."""
    try:
        return tuple(venv.call("get_state"))
    except AttributeError:
        return None
