"""The controllers of ``envs/controllers.py`` for every backend: a validated action -> 7 arm joint targets
and a finger target.

Meanings and scales are in ``envs/controllers.py``; the end-effector controllers (``ee_delta``,
``ee_delta_yaw``, ``discrete``) go through the shared IK core ``envs/ik.py``. Joint controllers write
the targets directly: ``joint_pos`` maps [-1, 1] onto the joint limits, ``joint_vel`` integrates
``JOINT_VEL_MAX * a`` over the env step into the targets; under them the ee target follows the
measured end effector, so it always says where the hand is commanded to be.

The controller works on arrays the backend hands it, so its state lives where the backend keeps its
state: MuJoCo passes views of ``MjData.ctrl`` (the position actuators' targets, part of MuJoCo's
integration state), PyBullet views of one flat array it stores in ``get_state()``. The backend then
drives its servos towards ``q_target`` and ``finger``.
"""

from __future__ import annotations

import math

import numpy as np

from envs import controllers as spec
from envs import robot
from envs.ik import JOINT_HIGH, JOINT_LOW, DlsIk, Kinematics, Solver, move_target

_JOINT_SPAN = spec.ARM_JOINT_HIGH - spec.ARM_JOINT_LOW  # (7,) rad, joint_pos maps [-1, 1] onto it


class ArmController:
    """Maps validated, clipped actions of ``kind`` to ``q_target`` (7,) rad and ``finger`` (1,) m (one
    finger's opening), keeping the ee ``target`` (4,): xyz m + yaw rad. All three are updated in place."""

    def __init__(
        self, kind: str, dt: float, kinematics: Kinematics, target: np.ndarray, q_target: np.ndarray,
        finger: np.ndarray, solve: Solver = np.linalg.solve,
    ) -> None:
        assert target.shape == (4,) and q_target.shape == (7,) and finger.shape == (1,)
        self.kind = spec.check_controller(kind)
        self.dt = dt  # s per env step: joint_vel integrates over it
        self.target, self.q_target, self.finger = target, q_target, finger
        self.ik = DlsIk(kinematics, solve)

    def reset(self, q: np.ndarray, finger: float, ee: np.ndarray, yaw: float) -> None:
        """Command the current posture (no motion): joints ``q`` (7,), ee target ``ee`` (3,) and ``yaw``."""
        self.q_target[:] = q
        self.finger[0] = finger
        self.target[:3] = ee
        self.target[3] = yaw

    def apply(self, action: np.ndarray, ee: np.ndarray, yaw: float) -> None:
        """Update the targets for a validated, clipped action; ``ee`` (3,) / ``yaw``: the measured ee."""
        kind, q = self.kind, self.q_target
        if kind == "joint_pos" or kind == "joint_vel":
            if kind == "joint_pos":
                q[:] = spec.ARM_JOINT_LOW + 0.5 * (action[:7] + 1.0) * _JOINT_SPAN
            else:
                q += spec.JOINT_VEL_MAX * self.dt * action[:7]
            np.maximum(q, JOINT_LOW, out=q)
            np.minimum(q, JOINT_HIGH, out=q)
            self.target[:3] = ee  # the ee target follows the hand
            self.target[3] = yaw
            grip = float(action[7])
        else:
            if kind == "discrete":
                row = spec.DISCRETE_ACTIONS[int(action[0])]
                move, dyaw, grip = row[:3], 0.0, float(row[4])
            else:
                move, grip = action[:3], float(action[-1])
                dyaw = float(action[3]) if kind == "ee_delta_yaw" else 0.0
            move_target(self.target, move, dyaw, ee, yaw)
            self.ik.step(q, self.target)
        if not math.isnan(grip):  # discrete moves keep the gripper command
            self.finger[0] = spec.gripper_target(grip, robot.FINGER_OPEN)
