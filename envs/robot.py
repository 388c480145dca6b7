"""The Franka Panda from ``pybullet_data``: asset paths, joint names, home posture, workspace.

Everything here is simulator-agnostic plain data, so the MuJoCo backend and the (later) PyBullet
backend agree on what "the robot" and "the workspace" are. World frame: the robot base sits at the
origin on the table top (z = 0 is the table surface), x points away from the robot, z up. Metres.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def panda_dir() -> Path:
    """Directory holding ``panda.urdf`` and ``meshes/`` (imports pybullet_data lazily: it is cheap)."""
    import pybullet_data

    return Path(pybullet_data.getDataPath()) / "franka_panda"


def panda_urdf() -> Path:
    return panda_dir() / "panda.urdf"


ARM_JOINTS: tuple[str, ...] = tuple(f"panda_joint{i}" for i in range(1, 8))
FINGER_JOINTS: tuple[str, ...] = ("panda_finger_joint1", "panda_finger_joint2")
HAND_BODIES: tuple[str, ...] = ("panda_hand", "panda_leftfinger", "panda_rightfinger")
EE_BODY = "panda_grasptarget"  # between the fingertips, 0.105 m below the hand flange

# Home posture: hand pointing straight down, end effector at about (0.49, 0, 0.36).
HOME_QPOS: np.ndarray = np.array([0.0, -0.2, 0.0, -2.2, 0.0, 2.0, np.pi / 4])
FINGER_OPEN = 0.04  # per finger (m); opening = sum of both fingers, 0.08 m max
FINGER_CLOSED = 0.0

# Workspace box for the commanded end-effector target (m). z_min keeps the fingertips ~1 cm above
# the table, so the controller can never drive the hand into it.
WORKSPACE_LOW: np.ndarray = np.array([0.25, -0.4, 0.015])
WORKSPACE_HIGH: np.ndarray = np.array([0.85, 0.4, 0.50])

# End-effector delta action (shared by every backend's `ee_delta` controller): an action component of
# +-1 moves the commanded end-effector target by EE_STEP_MAX metres along that world axis per env step.
EE_STEP_MAX = 0.03  # m per env step (0.6 m/s at 20 Hz)
