"""Forward kinematics and Jacobian of the Panda arm in numpy, read from the same URDF PyBullet loads.

PyBullet only computes link poses for the joint positions the simulated robot *has*; the shared IK
(``envs/ik.py``) needs them for the *commanded* posture. A 7-joint serial chain is
a few 4x4 products, so we do it here (~20 us per call), no second physics client, no resetJointState
round trips, and the result is a pure function of the joint vector (which exact replay relies on).
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET

import numpy as np

from envs import robot


def _rpy_matrix(rpy: np.ndarray) -> np.ndarray:
    """URDF fixed-axis roll-pitch-yaw -> rotation matrix, R = Rz(yaw) Ry(pitch) Rx(roll)."""
    cr, cp, cy = np.cos(rpy)
    sr, sp, sy = np.sin(rpy)
    return np.array([
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ])


def _origin(joint: ET.Element) -> np.ndarray:
    """4x4 transform parent link -> joint frame from a URDF ``<origin>``."""
    tf = np.eye(4)
    origin = joint.find("origin")
    if origin is not None:
        tf[:3, :3] = _rpy_matrix(np.array([float(v) for v in origin.get("rpy", "0 0 0").split()]))
        tf[:3, 3] = [float(v) for v in origin.get("xyz", "0 0 0").split()]
    return tf


@functools.cache
def _chain() -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Fixed joint-origin transforms of the 7 arm joints, and the flange -> end-effector transform.

    All arm joints of this URDF rotate about their own z axis (asserted), which keeps ``fk`` simple.
    """
    root = ET.parse(robot.panda_urdf()).getroot()
    joints = {j.get("name"): j for j in root.findall("joint")}
    origins = []
    for name in robot.ARM_JOINTS:
        axis = joints[name].find("axis")
        assert axis is not None and axis.get("xyz", "").split() == ["0", "0", "1"], name
        origins.append(_origin(joints[name]))
    # link7 -> ... -> EE_BODY through the fixed joints (joint8, hand joint, grasptarget joint).
    by_child = {j.find("child").get("link"): j for j in joints.values()}  # type: ignore[union-attr]
    tail, link = np.eye(4), robot.EE_BODY
    while link != "panda_link7":
        joint = by_child[link]
        assert joint.get("type") == "fixed", f"{joint.get('name')} between link7 and the ee must be fixed"
        tail = _origin(joint) @ tail
        parent = joint.find("parent")
        assert parent is not None
        link = parent.get("link", "")
    return tuple(origins), tail


class PandaKinematics:
    """``fk(q)`` -> end-effector position and rotation; ``jacobian`` of the last ``fk`` call; calling it
    does both (``envs.ik.Kinematics``)."""

    def __init__(self, base_pos: np.ndarray | None = None) -> None:
        origins, self._tail = _chain()
        self._origins = np.stack(origins)  # (7, 4, 4)
        self._base = np.eye(4)
        if base_pos is not None:
            self._base[:3, 3] = base_pos
        self._axes = np.zeros((7, 3))  # world joint axes of the last fk
        self._points = np.zeros((7, 3))  # world joint origins of the last fk
        self.ee_pos = np.zeros(3)
        self.ee_rot = np.eye(3)

    def fk(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """End-effector (3,) position and (3, 3) rotation (columns = ee axes in world) at joints ``q``."""
        tf = self._base
        rot_z = np.eye(4)
        cos, sin = np.cos(q), np.sin(q)
        for i in range(7):
            tf = tf @ self._origins[i]  # (4, 4) joint i frame, before its rotation
            self._axes[i] = tf[:3, 2]
            self._points[i] = tf[:3, 3]
            rot_z[0, 0], rot_z[0, 1], rot_z[1, 0], rot_z[1, 1] = cos[i], -sin[i], sin[i], cos[i]
            tf = tf @ rot_z
        tf = tf @ self._tail
        self.ee_pos = tf[:3, 3].copy()
        self.ee_rot = tf[:3, :3].copy()
        return self.ee_pos, self.ee_rot

    def jacobian(self) -> np.ndarray:
        """(6, 7) geometric Jacobian at the last ``fk``: rows 0-2 linear (m/rad), 3-5 angular."""
        jac = np.empty((6, 7))
        z = self._axes.T  # (3, 7) joint axes
        r = (self.ee_pos - self._points).T  # (3, 7) joint origin -> ee
        # revolute joint: linear column z_i x r_i, spelled out (np.cross costs ~4x more at this size)
        jac[0] = z[1] * r[2] - z[2] * r[1]
        jac[1] = z[2] * r[0] - z[0] * r[2]
        jac[2] = z[0] * r[1] - z[1] * r[0]
        jac[3:] = z
        return jac

    def __call__(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ee position (3,), rotation (3, 3) and Jacobian (6, 7) at joints ``q`` (7,)."""
        pos, rot = self.fk(q)
        return pos, rot, self.jacobian()
