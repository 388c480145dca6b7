"""The end-effector controllers' core, one for every simulator: ee target update + damped-least-squares IK.

An ``ee_delta`` action means the same thing in MuJoCo and PyBullet because both run this code; a
backend only supplies the kinematics of its arm (``Kinematics``: joint positions -> ee pose and
Jacobian; MuJoCo from ``mj_jacSite``, PyBullet from the URDF chain in ``envs/pybullet/kinematics.py``)
and, optionally, a faster 6x6 solver.

Per env step (not per physics substep):

1. ``move_target``: the commanded ee target (position + yaw, internal controller state) accumulates
   the deltas, is clipped to the workspace box and the yaw limit, and may lead the *measured* end
   effector by at most ``MAX_LEAD`` / ``MAX_YAW_LEAD`` (anti-windup: pushing against something does
   not wind it up). The yaw lead limit applies to every ee controller, also when the action has no
   yaw entry, so an object twisting the hand cannot build up a yaw error either.
2. ``DlsIk.step``: one damped-least-squares Newton step moves the *commanded* posture (the joint
   targets, not the measured joints, so the servo lag never feeds back into the IK) towards the
   target. The 6-D error is the position error plus an orientation error that keeps the hand pointing
   down at the target yaw; a nullspace pull towards ``REST_QPOS`` resolves the 7th degree of freedom
   and leaves joint 7 (which turns the hand) to the yaw command. Errors are <= ``MAX_LEAD``, so one
   step lands within ~1 mm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from envs import controllers as spec
from envs import robot

DAMPING = 0.05  # DLS damping lambda (m / rad); keeps dq bounded near singularities
NULLSPACE_GAIN = 0.2  # fraction of the rest-posture error corrected per step, in the nullspace
REST_QPOS = robot.HOME_QPOS  # (7,) rad, the posture the nullspace pull leans towards
JOINT_LOW, JOINT_HIGH = spec.ARM_JOINT_LOW, spec.ARM_JOINT_HIGH  # (7,) rad, commanded-posture limits

# (gram (6, 6), rhs (6,)) -> x (6,) with gram x = rhs; gram is symmetric positive definite and may be
# overwritten. np.linalg.solve by default; MuJoCo passes its 3x cheaper Cholesky.
Solver = Callable[[np.ndarray, np.ndarray], np.ndarray]


class Kinematics(Protocol):
    """What a backend supplies: the arm's forward kinematics and Jacobian at any joint vector."""

    def __call__(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(7,) joint positions -> ee position (3,) m, ee rotation (3, 3) (columns: ee axes in world),
        geometric Jacobian (6, 7) (rows 0-2 linear m/rad, 3-5 angular). May be views, valid until the
        next call."""
        ...


def ee_yaw(rot: np.ndarray) -> float:
    """Yaw (rad) of an ee rotation (3, 3) about world z: angle of its x axis in the table plane, 0 at
    the home posture, counter-clockwise positive."""
    return math.atan2(rot[1, 0], rot[0, 0])  # math on two floats: ~5x cheaper than np.arctan2


def move_target(target: np.ndarray, move: np.ndarray, dyaw: float, ee: np.ndarray, yaw: float) -> None:
    """Update the (4,) ee target (xyz m, yaw rad) in place by one action's ``move`` (3,) and ``dyaw``
    (both in [-1, 1]); ``ee`` (3,) and ``yaw``: the measured end effector."""
    pos = target[:3]
    pos += robot.EE_STEP_MAX * move
    np.maximum(pos, robot.WORKSPACE_LOW, out=pos)  # (np.clip costs 3x more per call)
    np.minimum(pos, robot.WORKSPACE_HIGH, out=pos)
    lead = pos - ee
    lead_sq = float(lead @ lead)
    if lead_sq > spec.MAX_LEAD**2:  # anti-windup
        pos[:] = ee + lead * (spec.MAX_LEAD / math.sqrt(lead_sq))
    yaw_t = min(max(float(target[3]) + spec.YAW_STEP_MAX * dyaw, -spec.YAW_LIMIT), spec.YAW_LIMIT)
    target[3] = min(max(yaw_t, yaw - spec.MAX_YAW_LEAD), yaw + spec.MAX_YAW_LEAD)


def rotation_error(rot: np.ndarray, yaw: float, out: np.ndarray) -> None:
    """Orientation error (3,) rad into ``out``: 0.5 * vee(M^T - M), M = R Rd^T (Siciliano et al.,
    Robotics, 3.7.3), for the desired frame Rd = Rz(yaw) diag(1, -1, -1) (hand pointing down, fingers
    along world y at yaw 0) = [[c, s, 0], [s, -c, 0], [0, 0, -1]], written out on floats."""
    c, s = math.cos(yaw), math.sin(yaw)
    r00, r01, r02, r10, r11, r12, r20, r21, _ = rot.ravel().tolist()
    out[0] = 0.5 * (c * r21 - s * r20 - r12)
    out[1] = 0.5 * (c * r20 + s * r21 + r02)
    out[2] = 0.5 * (s * r00 - c * r01 - c * r10 - s * r11)


class DlsIk:
    """One damped-least-squares IK step per call, on the backend's ``kinematics``; buffers made once."""

    def __init__(self, kinematics: Kinematics, solve: Solver = np.linalg.solve) -> None:
        self.kinematics, self.solve = kinematics, solve
        self.reg = (DAMPING**2) * np.eye(6)
        self.err = np.zeros(6)  # position error m, rotation error rad
        self.gram = np.zeros((6, 6))  # J J^T + lambda^2 I

    def step(self, q: np.ndarray, target: np.ndarray) -> None:
        """Move the commanded posture ``q`` (7,) in place towards the (4,) ee ``target`` (xyz, yaw)."""
        pos, rot, jac = self.kinematics(q)  # (3,), (3, 3), (6, 7); position and rotation rows weigh equally
        err = self.err
        err[:3] = target[:3] - pos
        rotation_error(rot, float(target[3]), err[3:])
        null = REST_QPOS - q
        null *= NULLSPACE_GAIN  # (7,) joint-space pull towards the rest posture
        null[6] = 0.0  # joint 7 turns the hand: leave it to the yaw command
        # DLS with a nullspace term: dq = J+ (e - J null) + null, J+ = J^T (J J^T + lambda^2 I)^-1,
        # one 6x6 solve with a vector right-hand side.
        gram = self.gram
        np.matmul(jac, jac.T, out=gram)
        gram += self.reg
        y = self.solve(gram, err - jac @ null)  # (6,)
        q += jac.T @ y
        q += null
        np.maximum(q, JOINT_LOW, out=q)
        np.minimum(q, JOINT_HIGH, out=q)
