"""How ``envs/bench.py`` times bare MuJoCo: ``mj_step(nstep=substeps)`` from a visited state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np

from envs.mujoco.panda_env import STATE_SPEC


class RawStep:
    """``prepare`` (untimed) loads the integration state the env stepped from into a separate
    ``MjData``; ``step`` (timed) is the physics of one env step, nothing else."""

    def __init__(self, base: Any) -> None:
        self.model, self.data = base.model, mujoco.MjData(base.model)
        self.size, self.substeps = base._sim_size, base.substeps

    def prepare(self, before: np.ndarray, after: np.ndarray) -> None:
        mujoco.mj_setState(self.model, self.data, before[: self.size], STATE_SPEC)

    def step(self) -> None:
        mujoco.mj_step(self.model, self.data, nstep=self.substeps)


def bare_frame(base: Any, mode: str, camera: str, width: int, height: int) -> Callable[[], Any] | None:
    """No bare-renderer comparison: the env's frame is one ``mujoco.Renderer`` pass already."""
    return None
