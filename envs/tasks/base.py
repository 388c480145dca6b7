"""What a task is, independent of the simulator: layout sampling, state vector, reward, success, expert.

A backend (MuJoCo now, PyBullet later) owns physics, rendering and control; it hands the task plain
numpy positions and gets back the state vector, reward terms and the success flag, so both backends
compute them with the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Layout:
    """Initial scene: target position, and the cube pose on the table where the task has a cube."""

    target: np.ndarray  # (3,) m, world frame
    cube: np.ndarray | None = None  # (3,) m, cube centre
    cube_yaw: float = 0.0  # rad about world z


@dataclass(slots=True)
class Scene:
    """Positions a backend reads from its simulator each step; what tasks compute from.

    Built once per env step, so it is a slotted (not frozen) dataclass: frozen ones cost ~3x more to
    construct. Arrays may be views into simulator buffers: read them, do not keep them.
    """

    ee: np.ndarray  # (3,) end-effector (between the fingertips) position, m
    gripper: float  # finger opening, m (0 closed .. 0.08 open)
    target: np.ndarray  # (3,) m
    cube: np.ndarray | None = None  # (3,) m


@dataclass(frozen=True)
class Task:
    """Base task definition. Subclasses fill the class-level constants and override the methods."""

    name: str = ""
    has_cube: bool = False
    cube_half: float = 0.025  # m, half edge of the cube
    success_radius: float = 0.02  # m
    max_episode_steps: int = 50
    state_names: tuple[str, ...] = field(default_factory=tuple)  # one name per state entry

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        raise NotImplementedError

    def state(self, scene: Scene) -> np.ndarray:
        """(state_dim,) float32 task state; layout in ``state_names``."""
        raise NotImplementedError

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        """Named reward terms; the reward is their sum (weights already applied)."""
        raise NotImplementedError

    def is_success(self, scene: Scene) -> bool:
        raise NotImplementedError

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        """Scripted expert: (B, state_dim) states -> (B, 4) actions in [-1, 1]. Pure function of state."""
        raise NotImplementedError


def norm(v: np.ndarray) -> float:
    """Euclidean norm of a small vector; ~5x cheaper than np.linalg.norm, which matters per env step."""
    return float(np.sqrt(v @ v))


def saturate(displacement: np.ndarray, step_max: float, gain: float = 1.0) -> np.ndarray:
    """Proportional control saturated per axis: the action that covers ``gain * displacement`` (m).

    (B, 3) displacement -> (B, 3) action in [-1, 1]. A gain < 1 leaves room for the arm's tracking lag
    so the end effector settles instead of overshooting and chattering around the goal.
    """
    return np.clip(gain * displacement / step_max, -1.0, 1.0)
