"""Reach: move the end effector to a target point floating above the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.robot import EE_STEP_MAX
from envs.tasks.base import Layout, MarkerSpec, Pose, Scene, Task, norm, saturate, vnorm

HOME_EE = np.array([0.49, 0.0, 0.36])  # m, end effector at the home posture
TARGET_LOW = np.array([0.35, -0.25, 0.05])  # m; target sampled uniformly in this box
TARGET_HIGH = np.array([0.65, 0.25, 0.35])
MIN_START_DIST = 0.08  # m; reject targets that start (almost) solved
GREEN = (0.1, 0.8, 0.2, 0.8)


@dataclass(frozen=True)
class ReachTask(Task):
    name: str = "reach"
    markers: tuple[MarkerSpec, ...] = (MarkerSpec("target", "sphere", (0.015,), GREEN),)
    success_radius: float = 0.02
    max_episode_steps: int = 50
    state_names: tuple[str, ...] = (
        "ee_x", "ee_y", "ee_z", "gripper",
        "target_x", "target_y", "target_z",
        "target_minus_ee_x", "target_minus_ee_y", "target_minus_ee_z",
    )

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        while True:  # rejection sampling; accepts > 95% of draws
            target = np_random.uniform(TARGET_LOW, TARGET_HIGH)
            if np.linalg.norm(target - HOME_EE) >= MIN_START_DIST:
                return Layout(markers={"target": Pose(target)})

    def state(self, scene: Scene) -> np.ndarray:
        target = scene.markers["target"][:3]
        out = np.empty(10, dtype=np.float32)
        out[0:3] = scene.ee
        out[3] = scene.gripper
        out[4:7] = target
        out[7:10] = target - scene.ee
        return out

    goal_space_dim: int = 3

    def achieved_goal(self, scene: Scene) -> np.ndarray:
        return np.asarray(scene.ee, dtype=np.float32)

    def desired_goal(self, scene: Scene) -> np.ndarray:
        return np.asarray(scene.markers["target"][:3], dtype=np.float32)

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        return {"reward_dist": -(norm(scene.markers["target"][:3] - scene.ee))}

    def is_success(self, scene: Scene) -> bool:
        return bool(norm(scene.markers["target"][:3] - scene.ee) < self.success_radius)

    def state_reward_terms(self, states: Any) -> dict[str, Any]:
        return {"reward_dist": -vnorm(states[..., 7:10])}  # target - ee

    def state_success(self, states: Any) -> Any:
        return vnorm(states[..., 7:10]) < self.success_radius

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        # (B, 10) -> (B, 5): saturating P-control on target - ee, gripper open.
        action = np.zeros((state.shape[0], 5), dtype=np.float32)
        action[:, :3] = saturate(state[:, 7:10], EE_STEP_MAX, gain=0.7)
        action[:, 4] = 1.0
        return action
