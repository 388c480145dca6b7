"""The controllers of ``envs/controllers.py`` for the PyBullet Panda: actions -> joint position targets.

Same meanings, scales and limits as the MuJoCo implementation (``envs/mujoco/controllers.py``); the
table is in ``envs/controllers.py``. All five controllers end in 7 arm joint targets plus a finger
target, which the env hands to PyBullet's POSITION_CONTROL motors once per env step.

End-effector controllers (``ee_delta``, ``ee_delta_yaw``, ``discrete``) keep a commanded ee position
and yaw (internal state, in ``get_state()``): deltas accumulate into it, it is clipped to the
workspace box and yaw limit, and it may lead the measured end effector by at most ``MAX_LEAD`` /
``MAX_YAW_LEAD`` (anti-windup when pushing against something). Once per env step one damped-least-
squares Newton step moves the *commanded* posture (the joint targets, not the measured joints, so the
servo lag never feeds back into the IK) towards the target: position error plus an orientation error
that keeps the hand pointing down at the commanded yaw, and a nullspace pull towards the home posture
for the 7th degree of freedom. Kinematics come from ``PandaKinematics`` (numpy, same URDF).
"""

from __future__ import annotations

import numpy as np

from envs import controllers as spec
from envs import robot
from envs.pybullet.kinematics import PandaKinematics

DAMPING = 0.05  # DLS damping lambda (m / rad); keeps dq bounded near singularities
NULLSPACE_GAIN = 0.2  # fraction of the home-posture error corrected per step, in the nullspace
IK_ITERS = 1  # Newton steps per env step; errors are <= MAX_LEAD, one step lands within ~1 mm
DOWN = np.diag([1.0, -1.0, -1.0])  # ee frame at yaw 0: hand pointing down, fingers along world y

# Internal state layout (get_state / set_state): ee target xyz, ee target yaw, 7 joint targets, finger.
STATE_SIZE = 3 + 1 + 7 + 1


def ee_yaw(rot: np.ndarray) -> float:
    """Yaw (rad) of an ee rotation matrix about world z: 0 at home, counter-clockwise positive."""
    return float(np.arctan2(rot[1, 0], rot[0, 0]))


class PandaController:
    """Maps a validated, clipped action of ``controller`` to joint targets ``q_target`` and ``finger``."""

    def __init__(self, controller: str, dt: float) -> None:
        self.controller = spec.check_controller(controller)
        self.dt = dt  # s per env step: joint_vel integrates over it
        self.kin = PandaKinematics()
        self.q_low = np.maximum(spec.ARM_JOINT_LOW, -np.pi)
        self.q_high = spec.ARM_JOINT_HIGH
        self.q_home = robot.HOME_QPOS.copy()
        self.reg = (DAMPING**2) * np.eye(6)
        self.err = np.zeros(6)
        # Internal state (one flat float64 array, so get_state/set_state are a copy).
        self.state = np.zeros(STATE_SIZE)
        self.target = self.state[0:3]  # commanded ee position, m (views into self.state)
        self.q_target = self.state[4:11]  # arm joint position targets, rad

    @property
    def yaw_target(self) -> float:
        return float(self.state[3])

    @property
    def finger(self) -> float:
        """Per-finger position target, m."""
        return float(self.state[11])

    def reset(self, q: np.ndarray, finger: float) -> None:
        """Command the current posture (no motion): ee target at the current ee, joint targets at ``q``."""
        pos, rot = self.kin.fk(q)
        self.target[:] = pos
        self.state[3] = ee_yaw(rot)
        self.q_target[:] = q
        self.state[11] = finger

    def apply(self, action: np.ndarray, ee: np.ndarray, yaw: float) -> None:
        """Update the joint and finger targets for a clipped action; ``ee``/``yaw``: the measured ee."""
        c = self.controller
        if c == "joint_pos":
            span = spec.ARM_JOINT_HIGH - spec.ARM_JOINT_LOW
            self.q_target[:] = spec.ARM_JOINT_LOW + 0.5 * (action[:7] + 1.0) * span
        elif c == "joint_vel":
            self.q_target += spec.JOINT_VEL_MAX * self.dt * action[:7]
        else:
            if c == "discrete":
                action = spec.DISCRETE_ACTIONS[int(action[0])]
                if np.isnan(action[4]):  # a move keeps the gripper command
                    self._ee_step(action[:3], float(action[3]), ee, yaw)
                    return
            self._ee_step(action[:3], float(action[3]) if c != "ee_delta" else 0.0, ee, yaw)
        np.maximum(self.q_target, self.q_low, out=self.q_target)
        np.minimum(self.q_target, self.q_high, out=self.q_target)
        self.state[11] = spec.gripper_target(float(action[-1]), robot.FINGER_OPEN)

    def _ee_step(self, delta: np.ndarray, yaw_action: float, ee: np.ndarray, yaw: float) -> None:
        target = self.target
        target += robot.EE_STEP_MAX * delta
        np.maximum(target, robot.WORKSPACE_LOW, out=target)
        np.minimum(target, robot.WORKSPACE_HIGH, out=target)
        lead = target - ee
        lead_sq = float(lead @ lead)
        if lead_sq > spec.MAX_LEAD**2:  # anti-windup
            target[:] = ee + lead * (spec.MAX_LEAD / np.sqrt(lead_sq))
        yaw_t = min(max(self.state[3] + spec.YAW_STEP_MAX * yaw_action, -spec.YAW_LIMIT), spec.YAW_LIMIT)
        yaw_t = min(max(yaw_t, yaw - spec.MAX_YAW_LEAD), yaw + spec.MAX_YAW_LEAD)
        self.state[3] = yaw_t
        cos, sin = np.cos(yaw_t), np.sin(yaw_t)
        rot_des = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]]) @ DOWN

        q = self.q_target.copy()
        err = self.err
        for _ in range(IK_ITERS):
            pos, rot = self.kin.fk(q)
            jac = self.kin.jacobian()  # (6, 7)
            err[:3] = target - pos
            # Rotation error 0.5 * vee(M^T - M), M = R Rd^T (Siciliano et al., Robotics, 3.7.3).
            rel = rot @ rot_des.T
            err[3] = 0.5 * (rel[1, 2] - rel[2, 1])
            err[4] = 0.5 * (rel[2, 0] - rel[0, 2])
            err[5] = 0.5 * (rel[0, 1] - rel[1, 0])
            null = NULLSPACE_GAIN * (self.q_home - q)  # (7,) joint-space pull home
            # DLS with a nullspace term: dq = J^T (J J^T + lambda^2 I)^-1 (e - J null) + null.
            y = np.linalg.solve(jac @ jac.T + self.reg, err - jac @ null)  # (6,)
            q += jac.T @ y + null
            np.maximum(q, self.q_low, out=q)
            np.minimum(q, self.q_high, out=q)
        self.q_target[:] = q
