"""Stack: put the red cube on the blue cube and let go; success when it rests on top."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.tasks import skills
from envs.tasks.base import Layout, ObjectSpec, Pose, Scene, Task, ee_pair_state, norm
from envs.tasks.push import CUBE_HALF, RED

BLUE = (0.15, 0.35, 0.9, 1.0)
CUBE_LOW, CUBE_HIGH = np.array([0.40, -0.18]), np.array([0.60, 0.18])  # m, both cubes' xy box
MIN_CUBE_DIST = 0.10  # m (xy) between the cubes
MAX_CUBE_YAW = 0.3  # rad
STACK_XY_TOL = 0.02  # m, top cube centre within this (xy) of the bottom cube centre
STACK_Z_TOL = 0.008  # m, top cube centre within this of one cube edge above the bottom cube centre
RELEASED = 0.06  # m, finger opening above which the top cube counts as let go


@dataclass(frozen=True)
class StackTask(Task):
    name: str = "stack"
    objects: tuple[ObjectSpec, ...] = (
        ObjectSpec("cube_a", "box", (CUBE_HALF,) * 3, RED),  # picked
        ObjectSpec("cube_b", "box", (CUBE_HALF,) * 3, BLUE),  # base
    )
    max_episode_steps: int = 100
    state_names: tuple[str, ...] = (
        "ee_x", "ee_y", "ee_z", "gripper",
        "a_x", "a_y", "a_z",
        "b_x", "b_y", "b_z",
        "a_minus_ee_x", "a_minus_ee_y", "a_minus_ee_z",
        "b_minus_a_x", "b_minus_a_y", "b_minus_a_z",
    )

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        a_xy = np_random.uniform(CUBE_LOW, CUBE_HIGH)
        while True:
            b_xy = np_random.uniform(CUBE_LOW, CUBE_HIGH)
            if np.linalg.norm(b_xy - a_xy) >= MIN_CUBE_DIST:
                break
        yaw_a, yaw_b = np_random.uniform(-MAX_CUBE_YAW, MAX_CUBE_YAW, 2)
        return Layout(objects={
            "cube_a": Pose(np.array([a_xy[0], a_xy[1], CUBE_HALF]), float(yaw_a)),
            "cube_b": Pose(np.array([b_xy[0], b_xy[1], CUBE_HALF]), float(yaw_b)),
        })

    def state(self, scene: Scene) -> np.ndarray:
        return ee_pair_state(scene, scene.objects["cube_a"][:3], scene.objects["cube_b"][:3])

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        a, b = scene.objects["cube_a"][:3], scene.objects["cube_b"][:3]
        goal = b + np.array([0.0, 0.0, 2 * CUBE_HALF])
        return {"reward_dist": -(norm(goal - a)), "reward_near": -0.5 * (norm(a - scene.ee))}

    def is_success(self, scene: Scene) -> bool:
        a, b = scene.objects["cube_a"][:3], scene.objects["cube_b"][:3]
        return bool(
            norm(a[:2] - b[:2]) < STACK_XY_TOL
            and abs(a[2] - b[2] - 2 * CUBE_HALF) < STACK_Z_TOL
            and scene.gripper > RELEASED
        )

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        goal = state[:, 7:10] + np.array([0.0, 0.0, 2 * CUBE_HALF + 0.003])  # drop from 3 mm
        return skills.pick_and_place(state[:, 0:3], state[:, 3], state[:, 4:7], goal,
                                     width=2 * CUBE_HALF, release=True)
