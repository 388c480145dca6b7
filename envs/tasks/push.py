"""Push: slide a cube across the table until its centre is within 3 cm (xy) of a target on the table."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.robot import EE_STEP_MAX
from envs.tasks.base import Layout, Scene, Task, norm, saturate

CUBE_LOW, CUBE_HIGH = np.array([0.42, -0.15]), np.array([0.58, 0.15])  # m, cube centre xy box
TARGET_LOW, TARGET_HIGH = np.array([0.38, -0.22]), np.array([0.65, 0.22])  # m, target xy box
MIN_CUBE_TARGET_DIST = 0.10  # m; closer layouts would start almost solved
MAX_CUBE_YAW = 0.5  # rad; cube yaw ~ U(-0.5, 0.5)

# Expert geometry (m). The end effector sits between the closed fingertips; their footprint is ~1 cm
# around it, so the fingers touch a cube face when the ee is CONTACT from the cube centre.
PUSH_Z = 0.02  # fingertips just above the table, pushing the cube at mid-height
SAFE_Z = 0.10  # clears the 5 cm cube with margin when moving around it
CONTACT = 0.037  # cube half edge + finger half width
APPROACH = 0.03  # start the push this far behind the contact point


@dataclass(frozen=True)
class PushTask(Task):
    name: str = "push"
    has_cube: bool = True
    success_radius: float = 0.03
    max_episode_steps: int = 100
    state_names: tuple[str, ...] = field(
        default_factory=lambda: (
            "ee_x", "ee_y", "ee_z", "gripper",
            "cube_x", "cube_y", "cube_z",
            "target_x", "target_y", "target_z",
            "cube_minus_ee_x", "cube_minus_ee_y", "cube_minus_ee_z",
            "target_minus_cube_x", "target_minus_cube_y", "target_minus_cube_z",
        )
    )

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        cube_xy = np_random.uniform(CUBE_LOW, CUBE_HIGH)
        yaw = float(np_random.uniform(-MAX_CUBE_YAW, MAX_CUBE_YAW))
        while True:  # rejection sampling; accepts ~85% of draws
            target_xy = np_random.uniform(TARGET_LOW, TARGET_HIGH)
            if np.linalg.norm(target_xy - cube_xy) >= MIN_CUBE_TARGET_DIST:
                break
        return Layout(
            target=np.array([target_xy[0], target_xy[1], 0.0]),
            cube=np.array([cube_xy[0], cube_xy[1], self.cube_half]),
            cube_yaw=yaw,
        )

    def state(self, scene: Scene) -> np.ndarray:
        assert scene.cube is not None
        out = np.empty(16, dtype=np.float32)
        out[0:3] = scene.ee
        out[3] = scene.gripper
        out[4:7] = scene.cube
        out[7:10] = scene.target
        out[10:13] = scene.cube - scene.ee
        out[13:16] = scene.target - scene.cube
        return out

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        assert scene.cube is not None
        return {
            "reward_dist": -(norm(scene.target[:2] - scene.cube[:2])),  # cube to target, xy
            "reward_near": -0.5 * (norm(scene.cube - scene.ee)),  # keeps the hand at the cube
        }

    def is_success(self, scene: Scene) -> bool:
        assert scene.cube is not None
        return bool(norm(scene.target[:2] - scene.cube[:2]) < self.success_radius)

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        """Markovian pushing expert over (B, 16) states.

        In the push corridor (low, just behind the cube on the target->cube line) drive the ee towards
        ``target - CONTACT * u`` (where the ee is when the cube sits on the target) with extra gain on
        the lateral offset, which steers the cube back onto the line. Elsewhere go to the approach
        point behind the cube: high while far from it, descending as it gets close, moving sideways
        only once high enough to clear the cube.
        """
        ee, cube, target = state[:, 0:3], state[:, 4:7], state[:, 7:10]
        d = target[:, :2] - cube[:, :2]  # (B, 2)
        dist = np.linalg.norm(d, axis=1, keepdims=True)  # (B, 1)
        u = d / np.maximum(dist, 1e-6)  # (B, 2) push direction
        perp = np.stack([-u[:, 1], u[:, 0]], axis=1)  # (B, 2)
        rel = ee[:, :2] - cube[:, :2]
        along = np.sum(rel * u, axis=1)  # (B,) <0: behind the cube
        lat = np.sum(rel * perp, axis=1)  # (B,)

        in_corridor = (
            (along < -CONTACT + 0.015) & (along > -CONTACT - APPROACH - 0.04)
            & (np.abs(lat) < 0.02) & (ee[:, 2] < PUSH_Z + 0.03)
        )
        # Push: (B, 2) displacement to the final ee position, plus 1x more lateral correction.
        push_goal = target[:, :2] - CONTACT * u
        push_xy = (push_goal - ee[:, :2]) - lat[:, None] * perp

        # Approach: the point behind the cube, height from the xy distance to it.
        behind = cube[:, :2] - (CONTACT + APPROACH) * u
        to_behind = behind - ee[:, :2]
        dxy = np.linalg.norm(to_behind, axis=1)
        z_goal = PUSH_Z + (SAFE_Z - PUSH_Z) * np.clip((dxy - 0.01) / 0.03, 0.0, 1.0)
        high_enough = np.clip((ee[:, 2] - PUSH_Z - 0.03) / 0.04, 0.0, 1.0)
        close = np.clip((0.05 - dxy) / 0.02, 0.0, 1.0)
        approach_xy = to_behind * np.maximum(high_enough, close)[:, None]

        disp = np.empty((state.shape[0], 3))
        disp[:, :2] = np.where(in_corridor[:, None], push_xy, approach_xy)
        disp[:, 2] = np.where(in_corridor, PUSH_Z, z_goal) - ee[:, 2]
        disp[(dist[:, 0] < 0.01), :2] = 0.0  # cube on target: hold still
        action = np.empty((state.shape[0], 4), dtype=np.float32)
        action[:, :3] = saturate(disp, EE_STEP_MAX, gain=0.7)
        action[:, 3] = -1.0  # gripper closed: a compact pusher
        return action
