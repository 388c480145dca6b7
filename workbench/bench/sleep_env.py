"""A simulated env with a fixed cost per step, for the sampler's scaling table.

``Sleep-v0`` sleeps ``step_ms`` per step instead of computing: the step's cost is wall time that
occupies no core, as if the physics ran on another machine's core. Workers scaling over it show what
the sampler itself (dispatch, transfer, the episode loop) costs as workers grow past the cores of
this machine. Made by name in any process: ``workbench.bench.sleep_env:Sleep-v0``.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np


class SleepEnv(gym.Env[np.ndarray, np.ndarray]):
    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012  (gymnasium's class attribute)

    def __init__(self, step_ms: float = 2.0, length: int = 50) -> None:
        self.step_ms, self.length, self.t = step_ms, length, 0
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (8,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 8).astype(np.float32), {}

    def step(self, action: np.ndarray) -> Any:
        time.sleep(self.step_ms / 1000)
        self.t += 1
        obs = self.np_random.uniform(-1, 1, 8).astype(np.float32)
        return obs, 0.0, False, self.t >= self.length, {}


gym.register("Sleep-v0", entry_point="workbench.bench.sleep_env:SleepEnv")
