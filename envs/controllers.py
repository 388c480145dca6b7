"""Controllers, backend-neutral part: names, action spaces, scales and action validation.

Every backend runs the same implementation of these meanings and scales (``envs/arm_controller.py``,
its ee controllers through the IK core ``envs/ik.py``); a backend only supplies its arm's kinematics
and drives its servos to the resulting joint targets. Actions are clipped to the action space before
use (out-of-range values saturate; documented in every env docstring); NaN/inf raise ``ValueError``.

| controller       | action           | meaning per env step (20 Hz)                                  |
|------------------|------------------|---------------------------------------------------------------|
| ``ee_delta``     | Box(-1, 1, (4,)) | x, y, z: move the ee target by ``EE_STEP_MAX`` * a; gripper   |
| ``ee_delta_yaw`` | Box(-1, 1, (5,)) | ``ee_delta`` + yaw: turn the target by ``YAW_STEP_MAX`` * a   |
| ``joint_pos``    | Box(-1, 1, (8,)) | 7 absolute joint targets, -1..1 -> ``ARM_JOINT_LOW..HIGH``    |
| ``joint_vel``    | Box(-1, 1, (8,)) | 7 joint velocities ``JOINT_VEL_MAX`` * a (rad/s), integrated  |
| ``discrete``     | Discrete(14)     | ``DISCRETE_ACTIONS``: +-x, +-y, +-z by ``EE_STEP_MAX``, open, close, |
|                  |                  | then +-x, +-y, +-z by ``EE_STEP_MAX / 3`` (fine moves)        |

Gripper entry (last, for every Box controller): -1 closed (0 m) .. +1 open (0.08 m), linear in the
finger opening. With ``discrete`` a move keeps the previous gripper command. The fine moves (1 cm)
make every point of the workspace reachable to within 0.9 cm (half a 1 cm lattice diagonal), inside
Reach's 2 cm success radius; with the 3 cm moves alone the nearest lattice point can be 2.6 cm away.
The ee target is clipped to the workspace box (``envs.robot.WORKSPACE_LOW/HIGH``), its yaw to
+-``YAW_LIMIT``, and it may lead the measured end effector by at most ``MAX_LEAD`` (anti-windup when
pushing against something).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.robot import EE_STEP_MAX

CONTROLLERS: tuple[str, ...] = ("ee_delta", "ee_delta_yaw", "joint_pos", "joint_vel", "discrete")

YAW_STEP_MAX = 0.15  # rad per env step (3 rad/s at 20 Hz)
YAW_LIMIT = 2.0  # rad; the ee yaw target is clipped to [-YAW_LIMIT, YAW_LIMIT] (joint 7 range)
MAX_LEAD = 0.05  # m, most the commanded ee target may lead the measured end effector
MAX_YAW_LEAD = 0.3  # rad, same for yaw
JOINT_VEL_MAX = 1.0  # rad/s per arm joint at |a| = 1
# Panda arm joint limits (rad), from pybullet_data's panda.urdf; joint_pos maps [-1, 1] onto them.
ARM_JOINT_LOW = np.array([-2.9671, -1.8326, -2.9671, -3.1416, -2.9671, -0.0873, -2.9671])
ARM_JOINT_HIGH = np.array([2.9671, 1.8326, 2.9671, 0.0, 2.9671, 3.8223, 2.9671])
# Discrete action index -> (ee_delta_yaw action). Moves keep the gripper command (nan = unchanged).
DISCRETE_ACTIONS = np.array(
    [
        [1, 0, 0, 0, np.nan],  # 0: +x
        [-1, 0, 0, 0, np.nan],  # 1: -x
        [0, 1, 0, 0, np.nan],  # 2: +y
        [0, -1, 0, 0, np.nan],  # 3: -y
        [0, 0, 1, 0, np.nan],  # 4: +z
        [0, 0, -1, 0, np.nan],  # 5: -z
        [0, 0, 0, 0, 1.0],  # 6: open
        [0, 0, 0, 0, -1.0],  # 7: close
        [1 / 3, 0, 0, 0, np.nan],  # 8: +x fine
        [-1 / 3, 0, 0, 0, np.nan],  # 9: -x fine
        [0, 1 / 3, 0, 0, np.nan],  # 10: +y fine
        [0, -1 / 3, 0, 0, np.nan],  # 11: -y fine
        [0, 0, 1 / 3, 0, np.nan],  # 12: +z fine
        [0, 0, -1 / 3, 0, np.nan],  # 13: -z fine
    ]
)
DISCRETE_NAMES: tuple[str, ...] = (
    *("+x", "-x", "+y", "-y", "+z", "-z", "open", "close"),
    *("+x fine", "-x fine", "+y fine", "-y fine", "+z fine", "-z fine"),
)


def action_dim(controller: str) -> int:
    return {"ee_delta": 4, "ee_delta_yaw": 5, "joint_pos": 8, "joint_vel": 8, "discrete": 1}[controller]


def check_controller(controller: str) -> str:
    if controller not in CONTROLLERS:
        raise ValueError(f"invalid controller {controller!r}; choose one of {', '.join(CONTROLLERS)}")
    return controller


def action_space(controller: str) -> spaces.Space[Any]:
    check_controller(controller)
    if controller == "discrete":
        return spaces.Discrete(len(DISCRETE_ACTIONS))
    return spaces.Box(-1.0, 1.0, (action_dim(controller),), np.float32)


def validate_action(controller: str, action: Any, env_name: str, step: int) -> np.ndarray:
    """Checked, clipped float64 action (discrete: the int index as a (1,) array).

    Raises ``ValueError`` naming the env and step for a wrong shape, NaN/inf, or a bad discrete index.
    """
    if controller == "discrete":
        a = np.asarray(action).reshape(-1)
        n = len(DISCRETE_ACTIONS)
        if a.shape != (1,) or not np.isfinite(a).all() or a[0] != int(a[0]) or not 0 <= a[0] < n:
            raise ValueError(f"{env_name}: discrete action must be an int in [0, {n}), got {action!r} "
                             f"at step {step}")
        return a.astype(np.float64)
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    dim = action_dim(controller)
    if a.shape != (dim,):
        raise ValueError(f"{env_name}: {controller} action must have shape ({dim},), got "
                         f"{np.shape(action)} at step {step}")
    if not np.isfinite(a).all():
        raise ValueError(f"{env_name}: non-finite action {a.tolist()} at step {step}")
    return np.minimum(np.maximum(a, -1.0), 1.0)  # out-of-range actions are clipped (np.clip is slower)


def hold_action(controller: str, q_target: np.ndarray, gripper_open: bool) -> np.ndarray:
    """The action that keeps the arm's present targets: no ee move, the joint targets as they are
    (``q_target`` (7,) rad), the gripper fully open or closed."""
    grip = 1.0 if gripper_open else -1.0
    if controller == "discrete":
        return np.array(6 if gripper_open else 7)  # open / close: no move
    if controller == "joint_pos":
        arm = 2.0 * (q_target - ARM_JOINT_LOW) / (ARM_JOINT_HIGH - ARM_JOINT_LOW) - 1.0
        return np.append(arm, grip).astype(np.float32)
    out = np.zeros(action_dim(controller), dtype=np.float32)
    out[-1] = grip
    return out


def gripper_target(a: float, finger_open: float) -> float:
    """Per-finger target opening (m) for a gripper action in [-1, 1]."""
    return 0.5 * finger_open * (a + 1.0)


__all__ = [
    "ARM_JOINT_HIGH", "ARM_JOINT_LOW", "CONTROLLERS", "DISCRETE_ACTIONS", "DISCRETE_NAMES", "EE_STEP_MAX",
    "JOINT_VEL_MAX", "MAX_LEAD", "MAX_YAW_LEAD", "YAW_LIMIT", "YAW_STEP_MAX", "action_dim", "action_space",
    "check_controller", "gripper_target", "hold_action", "validate_action",
]
