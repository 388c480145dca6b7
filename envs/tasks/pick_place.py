"""PickPlace: lift a cube and bring its centre within 3 cm of a target in the air or on the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.tasks import skills
from envs.tasks.base import Layout, MarkerSpec, ObjectSpec, Pose, Scene, Task, norm, vnorm
from envs.tasks.push import (
    CUBE_HALF,
    CUBE_TARGET_STATE_NAMES,
    GREEN,
    RED,
    cube_target_state,
    sample_cube_and_target,
)

TARGET_LOW, TARGET_HIGH = np.array([0.38, -0.2]), np.array([0.62, 0.2])  # m, target xy box
TARGET_MAX_HEIGHT = 0.2  # m above the cube's resting height, for targets in the air
MAX_CUBE_YAW = 0.3  # rad; the fingers (along world y) square the cube up when they close
# The cube box and the minimum cube-target distance are Push's (push.sample_cube_and_target).


@dataclass(frozen=True)
class PickPlaceTask(Task):
    """Half the targets rest on the table, half float up to 20 cm above it (FetchPickAndPlace-style)."""

    name: str = "pick_place"
    objects: tuple[ObjectSpec, ...] = (ObjectSpec("cube", "box", (CUBE_HALF,) * 3, RED),)
    markers: tuple[MarkerSpec, ...] = (MarkerSpec("target", "sphere", (0.015,), GREEN),)
    success_radius: float = 0.03
    max_episode_steps: int = 100
    state_names: tuple[str, ...] = CUBE_TARGET_STATE_NAMES

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        cube_xy, yaw, target_xy = sample_cube_and_target(np_random, TARGET_LOW, TARGET_HIGH, MAX_CUBE_YAW)
        in_air = np_random.uniform() < 0.5
        height = CUBE_HALF + (np_random.uniform(0.03, TARGET_MAX_HEIGHT) if in_air else 0.0)
        return Layout(
            objects={"cube": Pose(np.array([cube_xy[0], cube_xy[1], CUBE_HALF]), yaw)},
            markers={"target": Pose(np.array([target_xy[0], target_xy[1], height]))},
        )

    def state(self, scene: Scene) -> np.ndarray:
        return cube_target_state(scene)

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return {
            "reward_dist": -(norm(target - cube)),
            "reward_near": -0.5 * (norm(cube - scene.ee)),
        }

    def is_success(self, scene: Scene) -> bool:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return bool(norm(target - cube) < self.success_radius)

    def state_reward_terms(self, states: Any) -> dict[str, Any]:
        return {
            "reward_dist": -vnorm(states[..., 13:16]),  # target - cube
            "reward_near": -0.5 * vnorm(states[..., 10:13]),  # cube - ee
        }

    def state_success(self, states: Any) -> Any:
        return vnorm(states[..., 13:16]) < self.success_radius

    goal_space_dim: int = 3

    def achieved_goal(self, scene: Scene) -> np.ndarray:
        return np.asarray(scene.objects["cube"][:3], dtype=np.float32)

    def desired_goal(self, scene: Scene) -> np.ndarray:
        return np.asarray(scene.markers["target"][:3], dtype=np.float32)

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        return skills.pick_and_place(state[:, 0:3], state[:, 3], state[:, 4:7], state[:, 7:10],
                                     width=2 * CUBE_HALF)
