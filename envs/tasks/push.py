"""Push: slide a cube across the table until its centre is within 3 cm (xy) of a target on the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.tasks import skills
from envs.tasks.base import Layout, MarkerSpec, ObjectSpec, Pose, Scene, Task, ee_pair_state, norm, vnorm

CUBE_HALF = 0.025  # m, half edge of the 5 cm cube
CUBE_LOW, CUBE_HIGH = np.array([0.42, -0.15]), np.array([0.58, 0.15])  # m, cube centre xy box
TARGET_LOW, TARGET_HIGH = np.array([0.38, -0.22]), np.array([0.65, 0.22])  # m, target xy box
MIN_CUBE_TARGET_DIST = 0.10  # m; closer layouts would start almost solved
MAX_CUBE_YAW = 0.5  # rad; cube yaw ~ U(-0.5, 0.5)
RED, GREEN = (0.85, 0.2, 0.15, 1.0), (0.1, 0.8, 0.2, 0.8)
# The end effector sits between the closed fingertips; their footprint is ~1 cm around it, so the
# fingers touch a cube face when the ee is CONTACT from the cube centre.
CONTACT = CUBE_HALF + 0.012


def sample_cube_and_target(
    np_random: np.random.Generator,
    target_low: np.ndarray = TARGET_LOW,
    target_high: np.ndarray = TARGET_HIGH,
    max_yaw: float = MAX_CUBE_YAW,
) -> tuple[np.ndarray, float, np.ndarray]:
    """Cube xy, cube yaw and target xy at least MIN_CUBE_TARGET_DIST apart (Push's distribution by
    default; PickPlace passes its own target box and yaw range)."""
    cube_xy = np_random.uniform(CUBE_LOW, CUBE_HIGH)
    yaw = float(np_random.uniform(-max_yaw, max_yaw))
    while True:  # rejection sampling; accepts ~85% of draws
        target_xy = np_random.uniform(target_low, target_high)
        if np.linalg.norm(target_xy - cube_xy) >= MIN_CUBE_TARGET_DIST:
            return cube_xy, yaw, target_xy


CUBE_TARGET_STATE_NAMES: tuple[str, ...] = (
    "ee_x", "ee_y", "ee_z", "gripper",
    "cube_x", "cube_y", "cube_z",
    "target_x", "target_y", "target_z",
    "cube_minus_ee_x", "cube_minus_ee_y", "cube_minus_ee_z",
    "target_minus_cube_x", "target_minus_cube_y", "target_minus_cube_z",
)  # fmt: skip


def cube_target_state(scene: Scene) -> np.ndarray:
    """(16,) float32 state of a one-cube, one-target task (Push, PickPlace): CUBE_TARGET_STATE_NAMES."""
    return ee_pair_state(scene, scene.objects["cube"][:3], scene.markers["target"][:3])


@dataclass(frozen=True)
class PushTask(Task):
    name: str = "push"
    objects: tuple[ObjectSpec, ...] = (ObjectSpec("cube", "box", (CUBE_HALF,) * 3, RED),)
    markers: tuple[MarkerSpec, ...] = (MarkerSpec("target", "disc", (0.03, 0.001), GREEN),)
    success_radius: float = 0.03
    max_episode_steps: int = 100
    state_names: tuple[str, ...] = CUBE_TARGET_STATE_NAMES

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        cube_xy, yaw, target_xy = sample_cube_and_target(np_random)
        return Layout(
            objects={"cube": Pose(np.array([cube_xy[0], cube_xy[1], CUBE_HALF]), yaw)},
            markers={"target": Pose(np.array([target_xy[0], target_xy[1], 0.0]))},
        )

    def state(self, scene: Scene) -> np.ndarray:
        return cube_target_state(scene)

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return {
            "reward_dist": -(norm(target[:2] - cube[:2])),  # cube to target, xy
            "reward_near": -0.5 * (norm(cube - scene.ee)),  # keeps the hand at the cube
        }

    def is_success(self, scene: Scene) -> bool:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return bool(norm(target[:2] - cube[:2]) < self.success_radius)

    def state_reward_terms(self, states: Any) -> dict[str, Any]:
        return {
            "reward_dist": -vnorm(states[..., 13:15]),  # target - cube, xy
            "reward_near": -0.5 * vnorm(states[..., 10:13]),  # cube - ee
        }

    def state_success(self, states: Any) -> Any:
        return vnorm(states[..., 13:15]) < self.success_radius

    goal_space_dim: int = 2  # the cube's xy on the table

    def achieved_goal(self, scene: Scene) -> np.ndarray:
        return np.asarray(scene.objects["cube"][:2], dtype=np.float32)

    def desired_goal(self, scene: Scene) -> np.ndarray:
        return np.asarray(scene.markers["target"][:2], dtype=np.float32)

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        """Markovian pushing expert over (B, 16) states (``skills.push``), gripper closed."""
        return skills.push(state[:, 0:3], state[:, 4:7], state[:, 7:10], CONTACT)
