"""Observation helpers for the PyBullet backend: depth from the z-buffer, instance ids, pose order.

(Point clouds: ``envs.scene_spec.back_project`` / ``fuse``, shared with MuJoCo.)

Pure numpy on the arrays ``p.getCameraImage`` returns, so they are cheap to test on their own.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from envs.pybullet.scene import Z_FAR, Z_NEAR
from envs.scene_spec import BACKGROUND, ROBOT, TABLE

if TYPE_CHECKING:
    from envs.pybullet.scene import SceneIds



def linear_depth(zbuf: np.ndarray) -> np.ndarray:
    """OpenGL depth-buffer values in [0, 1] -> distance along the optical axis in metres, float32.

    Inverse of the perspective projection's depth mapping with the clip planes ``Z_NEAR``/``Z_FAR``;
    background pixels (zbuf = 1) read ``Z_FAR``.
    """
    return (Z_FAR * Z_NEAR / (Z_FAR - (Z_FAR - Z_NEAR) * zbuf)).astype(np.float32)


@functools.cache
def sky(height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8 vertical gradient for the background of pretty frames (MuJoCo's skybox colours)."""
    top, bottom = np.array([0.75, 0.82, 0.9]), np.array([0.25, 0.3, 0.38])
    t = np.linspace(0.0, 1.0, height)[:, None]  # (H, 1)
    rows = (255 * ((1 - t) * top + t * bottom)).astype(np.uint8)  # (H, 3)
    return np.broadcast_to(rows[:, None, :], (height, width, 3))


def segmentation_table(ids: SceneIds) -> tuple[np.ndarray, dict[int, str]]:
    """Lookup ``lut[body_uid + 1]`` -> instance id, and the instance id -> name table.

    Instance ids as in ``envs/mujoco/sensors.py``: 0 background (the floor too), 1 table, 2 robot, then
    the task's objects and markers in pool order. PyBullet's segmentation mask holds the body unique id
    per pixel, -1 where nothing was drawn (hence the +1).
    """
    names = {BACKGROUND: "background", TABLE: "table", ROBOT: "robot"}
    pool = {**ids.objects, **ids.markers}
    lut = np.zeros(max([ids.table, ids.robot, *pool.values()]) + 2, dtype=np.int32)
    lut[ids.table + 1], lut[ids.robot + 1] = TABLE, ROBOT
    for instance, (name, body) in enumerate(pool.items(), start=3):
        lut[body + 1] = instance
        names[instance] = name
    return lut, names


def pose_wxyz(row: np.ndarray) -> np.ndarray:
    """(7,) xyz + quaternion wxyz from a state row holding xyz + PyBullet's quaternion xyzw."""
    out = np.empty(7)
    out[0:3] = row[0:3]
    out[3] = row[6]
    out[4:7] = row[3:6]
    return out
