"""How ``envs/bench.py`` times bare PyBullet: ``substeps`` x ``stepSimulation`` from a visited state, and a
bare ``p.getCameraImage`` of the same size and settings as an observation frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pybullet as p

from envs.pybullet import scene as sc
from envs.pybullet.panda_env import COMMAND_SIZE
from envs.scene_spec import CAMERAS


class RawStep:
    """``prepare`` (untimed) restores the state the env stepped from with the motor targets the env
    stepped with (the controller state after the action); ``step`` (timed) is the bare physics."""

    def __init__(self, base: Any) -> None:
        self.base = base

    def prepare(self, before: np.ndarray, after: np.ndarray) -> None:
        state = before.copy()
        state[-COMMAND_SIZE:] = after[-COMMAND_SIZE:]  # the joint targets the env stepped with
        self.base.set_state(state)
        self.base._set_motors()
        self.base._forget_contacts()

    def step(self) -> None:
        kw = self.base._kw
        for _ in range(self.base.substeps):
            p.stepSimulation(**kw)


def bare_frame(base: Any, mode: str, camera: str, width: int, height: int) -> Callable[[], Any] | None:
    """A bare TinyRenderer call as the env's observation frame makes it (no shadows)."""
    spec = CAMERAS[camera]
    view, proj = sc.camera_matrices(spec, width, height, base._frame_pose(spec))
    flags = 0 if mode == "seg" else p.ER_NO_SEGMENTATION_MASK
    kw = {"shadow": 0, "renderer": p.ER_TINY_RENDERER, "flags": flags, "physicsClientId": base._client,
          **sc.light_kwargs()}
    return lambda: p.getCameraImage(width, height, view, proj, **kw)
