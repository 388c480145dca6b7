"""PushAround: push the cube past a wall to the target behind it, around either end (multimodal demos).

A wall (a fixture: solid, never moved) stands on the straight line from the cube to the target, so a
push straight ahead jams the cube against it. The scripted expert goes around the left or the right
end, drawing the side at random per episode (``expert_modes = 2``) and hiding it from the state: at
the start the demonstrations of one state disagree, and a policy that averages them (mean-squared
error behaviour cloning) pushes into the wall. Once the cube is beside the wall the state tells the
side, so only the first decision is ambiguous: the test of whether a policy represents modes.

Layout (metres, world frame): the wall's centre at ``WALL_XY`` = (0.51, 0), spanning y +-
``WALL_HALF[1]``; the cube 0.09-0.11 in front of it (smaller x, yaw 0) and the target 0.11-0.13
behind it, both on the wall's centre line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from envs.tasks import skills
from envs.tasks.base import Layout, MarkerSpec, ObjectSpec, Pose, Scene, Task, ee_pair_state, norm, vnorm
from envs.tasks.push import CONTACT, CUBE_HALF, CUBE_TARGET_STATE_NAMES, GREEN, RED

WALL_XY = (0.51, 0.0)  # m, the wall's centre
WALL_HALF = (0.015, 0.05, 0.02)  # m: thin along the push, 10 cm across, 4 cm tall: under the hand
GREY = (0.45, 0.45, 0.5, 1.0)
CUBE_REACH = CUBE_HALF * 2**0.5  # m, the cube's half diagonal: its reach from the centre at any yaw
CLEAR = WALL_HALF[1] + CUBE_REACH + 0.025  # m, lane offset from the wall's centre line
IN_LANE = WALL_HALF[1] + CUBE_REACH + 0.01  # m, lateral offset past which the cube clears the wall


@dataclass(frozen=True)
class PushAroundTask(Task):
    name: str = "push_around"
    objects: tuple[ObjectSpec, ...] = (ObjectSpec("cube", "box", (CUBE_HALF,) * 3, RED),)
    markers: tuple[MarkerSpec, ...] = (
        MarkerSpec("target", "disc", (0.03, 0.001), GREEN),
        MarkerSpec("wall", "box", WALL_HALF, GREY, collide=True),
    )
    success_radius: float = 0.03
    max_episode_steps: int = 200
    state_names: tuple[str, ...] = (*CUBE_TARGET_STATE_NAMES, "wall_x", "wall_y")
    expert_modes: int = 2  # 0: around the right end (-y), 1: around the left end (+y)

    def sample_layout(self, np_random: np.random.Generator) -> Layout:
        # Cube, wall and target on one line along x, the cube square to it, the wall always at WALL_XY:
        # nothing in the start state favours a side, and starts differ only in the distances along
        # the line, so the side cannot be read (or memorised) from the layout. A policy that averages
        # the demonstrations stays on the line, into the wall. (With the wall's place drawn per episode
        # too, an MLP trained by MSE memorised a side per layout and passed 96% of validation episodes.)
        wall = np.array(WALL_XY)
        cube = wall - np.array([np_random.uniform(0.09, 0.11), 0.0])
        target = wall + np.array([np_random.uniform(0.11, 0.13), 0.0])
        return Layout(
            objects={"cube": Pose(np.array([*cube, CUBE_HALF]), 0.0)},
            markers={
                "target": Pose(np.array([*target, 0.0])),
                "wall": Pose(np.array([*wall, WALL_HALF[2]])),
            },
        )

    def state(self, scene: Scene) -> np.ndarray:
        out = np.empty(18, dtype=np.float32)
        out[:16] = ee_pair_state(scene, scene.objects["cube"][:3], scene.markers["target"][:3])
        out[16:18] = scene.markers["wall"][:2]
        return out

    def reward_terms(self, scene: Scene) -> dict[str, float]:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return {"reward_dist": -(norm(target[:2] - cube[:2])), "reward_near": -0.5 * (norm(cube - scene.ee))}

    def is_success(self, scene: Scene) -> bool:
        cube, target = scene.objects["cube"][:3], scene.markers["target"][:3]
        return bool(norm(target[:2] - cube[:2]) < self.success_radius)

    def state_reward_terms(self, states: Any) -> dict[str, Any]:
        return {"reward_dist": -vnorm(states[..., 13:15]), "reward_near": -0.5 * vnorm(states[..., 10:13])}

    def state_success(self, states: Any) -> Any:
        return vnorm(states[..., 13:15]) < self.success_radius

    def expert_action(self, state: np.ndarray) -> np.ndarray:
        """Around the left end (mode 1) for every row; see ``expert_action_in_mode``."""
        return self.expert_action_in_mode(state, np.ones(state.shape[0], dtype=np.int64))

    def expert_action_in_mode(self, state: np.ndarray, mode: np.ndarray) -> np.ndarray:
        """Push through three waypoints, read off the state with the episode's side ``mode``:

        1. while the cube is still in front of the wall and not yet clear of it sideways, push it to
           the lane beside the wall's front corner on the mode's side (y = wy +- CLEAR);
        2. once clear (|cube_y - wy| > IN_LANE), push it along the lane past the wall's back face, on
           whichever side it is (the state decides from here on);
        3. once past, push it to the target.
        """
        ee, cube, target, wall = state[:, 0:3], state[:, 4:7], state[:, 7:10], state[:, 16:18]
        offset = cube[:, 1] - wall[:, 1]  # (B,) lateral offset of the cube from the wall's centre line
        side = np.where(np.abs(offset) > IN_LANE, np.sign(offset), np.where(mode == 1, 1.0, -1.0))
        lane_y = wall[:, 1] + side * CLEAR
        front_x = wall[:, 0] - WALL_HALF[0] - CUBE_REACH - 0.01  # the cube clear of the front face
        back_x = wall[:, 0] + WALL_HALF[0] + CUBE_REACH + 0.01  # ... and of the back face
        past = cube[:, 0] > back_x - 0.01
        clear = np.abs(offset) > IN_LANE
        goal = target.copy()
        goal[~past & clear, 0] = back_x[~past & clear] + 0.02  # 2 cm beyond: the push does not stall
        # Sideways, never back: a cube already nearer the wall than front_x is pushed straight across.
        goal[~past & ~clear, 0] = np.minimum(front_x, cube[:, 0])[~past & ~clear]
        goal[~past, 1] = lane_y[~past]
        return skills.push(ee, cube, goal, CONTACT)
