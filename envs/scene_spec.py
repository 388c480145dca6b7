"""What every simulator backend builds and observes the same way: table, cameras, parking, sensor spaces.

Plain data and numpy only (no simulator import), so ``envs/mujoco`` and ``envs/pybullet`` both import
it and ``import envs`` stays cheap. World frame as in ``envs/robot.py``: robot base at the origin on
the table top (z = 0), x away from the robot, z up, metres.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from envs.tasks.base import PARK_Z, Task

TABLE_HALF = (0.45, 0.6, 0.02)  # m, half extents; table top surface at z = 0
TABLE_CENTER_X = 0.35  # m


@dataclass(frozen=True)
class CameraSpec:
    """A camera at ``pos`` looking at ``target`` with ``up`` up; vertical field of view ``fovy`` (deg).

    ``frame`` None: world frame; otherwise the robot link the three vectors are expressed in (the
    wrist camera moves with the hand). Cameras look along their -z (OpenGL, MuJoCo).
    """

    pos: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float]
    fovy: float
    frame: str | None = None


CAMERAS: dict[str, CameraSpec] = {
    # From the far side of the table looking back at the robot.
    "front": CameraSpec((1.5, 0.0, 0.85), (0.35, 0.0, 0.2), (0.0, 0.0, 1.0), 45.0),
    # Robomimic's "agentview": the front view framed on the workspace (cubes, targets, the hand above
    # them), so an 84x84 observation shows a 4 cm cube ~6 px wide instead of ~3 px from "front".
    "agentview": CameraSpec((0.85, 0.0, 0.75), (0.5, 0.0, 0.0), (0.0, 0.0, 1.0), 40.0),
    # Straight down, robot at the bottom of the image (image up = world +x).
    "top": CameraSpec((0.55, 0.0, 1.5), (0.55, 0.0, 0.0), (1.0, 0.0, 0.0), 40.0),
    # In the hand frame (hand z runs down the fingers): beside the hand, looking past the fingertips
    # (z = 0.105) at the table below, hand +x up in the image.
    "wrist": CameraSpec((0.09, 0.0, 0.03), (0.0, 0.0, 0.2), (1.0, 0.0, 0.0), 70.0, frame="panda_hand"),
}
CAMERA_NAMES: tuple[str, ...] = tuple(CAMERAS)

# The largest image a camera renders: MuJoCo allocates its offscreen framebuffer at this size
# (visual.global.offwidth/offheight), and PyBullet's CPU renderer is held to the same limit so that
# one config works in both simulators.
MAX_RENDER_SIZE = 1024


def check_render_size(width: int, height: int, what: str = "image") -> None:
    if not (1 <= width <= MAX_RENDER_SIZE and 1 <= height <= MAX_RENDER_SIZE):
        raise ValueError(
            f"{what} size {width}x{height} is beyond the renderer's limit of {MAX_RENDER_SIZE}x"
            f"{MAX_RENDER_SIZE} pixels; choose a size within it"
        )


def look_at(pos: np.ndarray, target: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(3, 3) rotation whose columns are the camera's x (right), y (up) and z (backwards) axes."""
    back = (pos - target) / np.linalg.norm(pos - target)
    right = np.cross(up, back)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(back, right), back], axis=1)


def park_position(index: int) -> np.ndarray:
    """Where pool entry ``index`` (objects, then markers) waits while absent: far below the table and
    0.3 m apart, so parked objects read the same in every backend's ``state``."""
    return np.array([-1.0 - 0.3 * (index % 10), 2.0 + 0.3 * (index // 10), PARK_Z - 1.0])


# ------------------------------------------------------------------------------------ observations
OBS_MODES: tuple[str, ...] = ("state", "proprio", "rgb", "depth", "seg", "points", "instruction", "goal")
REWARDS: tuple[str, ...] = ("dense", "sparse")
IMAGE_MODES: tuple[str, ...] = ("rgb", "depth", "seg")
PROPRIO_DIM = 19  # 7 joint pos, 7 joint vel, ee xyz, ee yaw, gripper opening
NUM_POINTS = 1024  # default points per cloud observation
# m; the workspace above the table: z > 4 mm drops the table top, the floor and the background.
WORKSPACE_CROP = (np.array([-0.15, -0.65, 0.004]), np.array([0.85, 0.65, 1.0]))
INSTRUCTION_CHARSET = string.ascii_lowercase + " "  # instruction text alphabet (gymnasium Text space)
BACKGROUND, TABLE, ROBOT = 0, 1, 2  # fixed instance ids; task objects then markers follow from 3


def parse_obs_mode(obs_mode: str, has_instruction: bool = True) -> tuple[str, ...]:
    parts = tuple(obs_mode.split("+"))
    bad = [p for p in parts if p not in OBS_MODES]
    if bad or len(set(parts)) != len(parts):
        raise ValueError(
            f"invalid obs_mode {obs_mode!r}: use one or more of {', '.join(OBS_MODES)} joined by '+', "
            "each at most once (e.g. 'state', 'rgb+proprio')"
        )
    if "instruction" in parts and not has_instruction:
        raise ValueError(f"obs_mode {obs_mode!r}: this task has no language instruction (only Tabletop)")
    if "goal" in parts and len(parts) > 1:
        raise ValueError(
            f"obs_mode {obs_mode!r}: goal is the goal-conditioned view (observation, achieved_goal, "
            "desired_goal) and stands alone"
        )
    return parts


def check_cameras(cameras: tuple[str, ...]) -> tuple[str, ...]:
    cameras = tuple(cameras)
    if not cameras or any(c not in CAMERA_NAMES for c in cameras):
        raise ValueError(f"invalid cameras {cameras!r}: choose from {', '.join(CAMERA_NAMES)}")
    return cameras


def observation_space(
    task: Task, obs_modes: tuple[str, ...], cameras: tuple[str, ...], width: int, height: int,
    num_points: int, num_instances: int,
) -> spaces.Dict:
    """The ``Dict`` observation space of ``obs_modes``; ``num_instances`` = largest segmentation id + 1."""
    out: dict[str, spaces.Space[Any]] = {}
    if "goal" in obs_modes:  # the layout of gymnasium-robotics' goal envs, which SB3's HER expects
        goal = spaces.Box(-np.inf, np.inf, (task.goal_space_dim,), np.float32)
        out["observation"] = spaces.Box(-np.inf, np.inf, (len(task.goal_observation_index),), np.float32)
        out["achieved_goal"], out["desired_goal"] = goal, goal
    if "state" in obs_modes:
        out["state"] = spaces.Box(-np.inf, np.inf, (task.state_dim,), np.float32)
    if "proprio" in obs_modes:
        out["proprio"] = spaces.Box(-np.inf, np.inf, (PROPRIO_DIM,), np.float32)
    for cam in cameras:
        if "rgb" in obs_modes:
            out[f"rgb/{cam}"] = spaces.Box(0, 255, (height, width, 3), np.uint8)
        if "depth" in obs_modes:
            out[f"depth/{cam}"] = spaces.Box(0.0, np.inf, (height, width), np.float32)
        if "seg" in obs_modes:
            out[f"seg/{cam}"] = spaces.Box(0, num_instances - 1, (height, width), np.int32)
    if "points" in obs_modes:
        out["points"] = spaces.Box(-np.inf, np.inf, (num_points, 6), np.float32)
    if "instruction" in obs_modes:
        out["instruction"] = spaces.Text(
            max_length=task.max_instruction_length, min_length=1, charset=INSTRUCTION_CHARSET
        )
    return spaces.Dict(out)


# ------------------------------------------------------------------------------------ point clouds
@functools.cache
def camera_rays(height: int, width: int, fovy: float) -> np.ndarray:
    """(H*W, 3) camera-frame points at unit depth: x right, y up, looking along -z (pinhole model,
    f = (H / 2) / tan(fovy / 2) pixels, principal point at the image centre, pixel v downwards)."""
    f = 0.5 * height / np.tan(np.deg2rad(fovy) / 2)  # px
    u = np.arange(width) - (width - 1) / 2
    v = np.arange(height) - (height - 1) / 2
    rays = np.empty((height, width, 3))
    rays[..., 0] = u[None, :] / f
    rays[..., 1] = -v[:, None] / f
    rays[..., 2] = -1.0
    return rays.reshape(-1, 3)


def back_project(
    depth: np.ndarray, values: np.ndarray, cam_pos: np.ndarray, cam_rot: np.ndarray, fovy: float
) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) depth (m, along the optical axis) + per-pixel ``values`` (H, W, C) (colours; labels too)
    -> world xyz (K, 3) and the values (K, C) of the pixels inside ``WORKSPACE_CROP``; ``cam_rot``
    columns map camera axes to world."""
    height, width = depth.shape
    world = (depth.reshape(-1, 1) * camera_rays(height, width, fovy)) @ cam_rot.T + cam_pos  # (H*W, 3)
    low, high = WORKSPACE_CROP
    keep = np.all((world >= low) & (world <= high), axis=1)
    return world[keep], values.reshape(height * width, -1)[keep]


def fuse_index(count: int, n: int) -> np.ndarray:
    """(n,) rows of a ``count``-point cloud that make an ``n``-point one: evenly spaced (deterministic,
    so observations replay exactly), or repeated cyclically when there are fewer than ``n``."""
    return np.linspace(0, count - 1, n).astype(np.int64) if count >= n else np.arange(n) % count


def fuse(clouds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Per-camera (xyz, uint8 rgb) clouds -> (n, 6) float32 xyz + rgb in [0, 1]: evenly spaced rows of
    the concatenation (``fuse_index``); none at all gives zeros."""
    xyz = np.concatenate([c[0] for c in clouds])
    out = np.zeros((n, 6), dtype=np.float32)
    if len(xyz) == 0:
        return out
    index = fuse_index(len(xyz), n)
    out[:, :3] = xyz[index]
    out[:, 3:] = np.concatenate([c[1] for c in clouds])[index] / 255.0
    return out
