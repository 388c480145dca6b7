"""PickPlace: lift a cube and bring its centre within 3 cm of a target in the air or on the table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.tasks import skills
from envs.tasks.base import Layout, MarkerSpec, ObjectSpec, Pose, Scene, Task, norm
from envs.tasks.push import CUBE_HALF, GREEN, RED

CUBE_LOW, CUBE_HIGH = np.array([0.42, -0.15]), np.array([0.58, 0.15])  # m, cube centre xy box
TARGET_LOW, TARGET_HIGH = np.array([0.38, -0.2]), np.array([0.62, 0.2])  # m, target xy box
TARGET_MAX_HEIGHT = 0.2  # m above the cube's resting height, for targets in the air
MIN_CUBE_TARGET_DIST = 0.10  # m (xy)
MAX_CUBE_YAW = 0.3  # rad; the fingers (along world y) square the cube up when they close


@dataclass(frozen=True)
class PickPlaceTask(Task):
    """Half the targets rest on the table, half float up to 20 cm above it (FetchPickAndPlace-style)."""

    name: str = "pick_place"
    objects: tuple[ObjectSpec, ...] = (ObjectSpec("cube", "box", (CUBE_HALF,) * 3, RED),)
    markers: tuple[MarkerSpec, ...] = (MarkerSpec("target", "sphere", (0.015,), GREEN),)
    success_radius: float = 0.03
    max_episode_steps: int = 100
    state_names: tuple[str, ...] = (
        "ee_x", "ee_y", "ee_z", "gripper",
        "cube_x", "cube_y", "cube_z",
        "target_x", "target_y", "target_z",
        "cube_minus_ee_x", "cube_minus_ee_y", "cube_minus_ee_z",
        "target_minus_cube_x", "target_minus_cube_y", "target_minus_cube_z",
    )

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        cube_xy = np_random.uniform(CUBE_LOW, CUBE_HIGH)
        yaw = float(np_random.uniform(-MAX_CUBE_YAW, MAX_CUBE_YAW))
        while True:
            target_xy = np_random.uniform(TARGET_LOW, TARGET_HIGH)
            if np.linalg.norm(target_xy - cube_xy) >= MIN_CUBE_TARGET_DIST:
                break
        in_air = np_random.uniform() < 0.5
        height = CUBE_HALF + (np_random.uniform(0.03, TARGET_MAX_HEIGHT) if in_air else 0.0)
        return Layout(
            objects={"cube": Pose(np.array([cube_xy[0], cube_xy[1], CUBE_HALF]), yaw)},
            markers={"target": Pose(np.array([target_xy[0], target_xy[1], height]))},
        )

    def state(self, scene: Scene) -> np.ndarray:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        out = np.empty(16, dtype=np.float32)
        out[0:3] = scene.ee
        out[3] = scene.gripper
        out[4:7] = cube
        out[7:10] = target
        out[10:13] = cube - scene.ee
        out[13:16] = target - cube
        return out

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return {
            "reward_dist": -(norm(target - cube)),
            "reward_near": -0.5 * (norm(cube - scene.ee)),
        }

    def is_success(self, scene: Scene) -> bool:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return bool(norm(target - cube) < self.success_radius)

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        return skills.pick_and_place(state[:, 0:3], state[:, 3], state[:, 4:7], state[:, 7:10],
                                     width=2 * CUBE_HALF)
