"""MuJoCo implementation of the controllers declared in ``envs/controllers.py`` (meanings and scales).

End-effector controllers (``ee_delta``, ``ee_delta_yaw``, ``discrete``): the action moves a commanded
end-effector target (position + yaw), which is internal controller state (it is in ``get_state()``):
it accumulates the deltas, is clipped to the workspace box and the yaw limit, and may lead the measured
end effector by at most ``MAX_LEAD`` / ``MAX_YAW_LEAD`` so pushing against something does not wind it
up. Once per env step (not per physics substep) damped-least-squares IK updates the joint targets (the
position actuators' ctrl) so that the *commanded* posture reaches the target: IK runs on the joint
targets in a scratch ``MjData``, not on the measured joints, so the servo lag of the arm never feeds
back into the IK. The 6-D error is position plus an orientation term that keeps the hand pointing down
with the commanded yaw; a nullspace pull towards the home posture resolves the 7th degree of freedom.

Joint controllers write the actuators' targets directly: ``joint_pos`` maps [-1, 1] onto the joint
limits, ``joint_vel`` integrates ``JOINT_VEL_MAX * a`` over the env step into the targets.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from envs import controllers as spec
from envs import robot

DAMPING = 0.05  # DLS damping lambda (m / rad); keeps dq bounded near singularities
NULLSPACE_GAIN = 0.2  # fraction of the home-posture error corrected per step, in the nullspace
# Hand pointing down, fingers along world y: the home posture's end-effector frame (yaw 0).
EE_ROT_DESIRED = np.diag([1.0, -1.0, -1.0])


def ee_yaw(xmat: np.ndarray) -> float:
    """Yaw (rad) of the end-effector frame about world z: angle of its x axis in the table plane."""
    return math.atan2(xmat[3], xmat[0])  # xmat is the row-major (9,) rotation matrix


class PandaController:
    """Maps validated actions to ``data.ctrl``. Ids and buffers are built once, so a step allocates little."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, kind: str, control_dt: float) -> None:
        self.model, self.data, self.kind = model, data, spec.check_controller(kind)
        self.control_dt = control_dt
        self.site_id = model.site("ee").id
        arm_joints = [model.joint(name) for name in robot.ARM_JOINTS]
        self.qpos_adr = np.array([j.qposadr[0] for j in arm_joints])  # (7,)
        self.dof_adr = np.array([j.dofadr[0] for j in arm_joints])  # (7,)
        assert np.array_equal(self.dof_adr, np.arange(7)), "arm dofs must come first in the tree"
        self.arm_act = np.array([model.actuator(name).id for name in robot.ARM_JOINTS])
        assert np.array_equal(self.arm_act, np.arange(7)), "arm actuators must be 0..6"
        self.grip_act = model.actuator("gripper").id
        self.q_low, self.q_high = model.jnt_range[[j.id for j in arm_joints]].T.copy()  # (7,), (7,)
        self.q_home = robot.HOME_QPOS.copy()
        self.jac = np.zeros((6, model.nv))  # rows: 3 translational, 3 rotational
        self.jac_arm = self.jac[:, :7]  # (6, 7) view: arm dofs come first
        self.reg = (DAMPING**2) * np.eye(6)
        self.err = np.zeros(6)  # (position error m, rotation error rad)
        self.gram = np.zeros((6, 6))  # J J^T + lambda^2 I, factored in place
        self.y = np.zeros(6)
        self.target = np.zeros(4)  # commanded ee position (m) and yaw (rad): internal state
        self.kin = mujoco.MjData(model)  # scratch data: kinematics of the commanded posture

    def reset(self) -> None:
        """Command the current end-effector pose and current joint positions (no motion)."""
        self.target[:3] = self.data.site_xpos[self.site_id]
        self.target[3] = ee_yaw(self.data.site_xmat[self.site_id])
        self.data.ctrl[self.arm_act] = self.data.qpos[self.qpos_adr]

    def apply(self, action: np.ndarray) -> None:
        """Write actuator targets for a validated, clipped action. Needs current kinematics."""
        d, kind = self.data, self.kind
        if kind == "joint_pos":
            span = spec.ARM_JOINT_HIGH - spec.ARM_JOINT_LOW
            d.ctrl[:7] = spec.ARM_JOINT_LOW + 0.5 * (action[:7] + 1.0) * span
            np.clip(d.ctrl[:7], self.q_low, self.q_high, out=d.ctrl[:7])
            self._sync_target()
        elif kind == "joint_vel":
            q = d.ctrl[:7] + spec.JOINT_VEL_MAX * self.control_dt * action[:7]
            d.ctrl[:7] = np.minimum(np.maximum(q, self.q_low), self.q_high)
            self._sync_target()
        else:
            if kind == "discrete":
                row = spec.DISCRETE_ACTIONS[int(action[0])]
                move, yaw, grip = row[:3], 0.0, row[4]
            else:
                move, grip = action[:3], action[-1]
                yaw = action[3] if kind == "ee_delta_yaw" else 0.0
            self._ee_step(move, yaw)
            if not np.isnan(grip):
                d.ctrl[self.grip_act] = spec.gripper_target(grip, robot.FINGER_OPEN)
            return
        d.ctrl[self.grip_act] = spec.gripper_target(action[7], robot.FINGER_OPEN)

    def _sync_target(self) -> None:
        self.target[:3] = self.data.site_xpos[self.site_id]
        self.target[3] = ee_yaw(self.data.site_xmat[self.site_id])

    def _ee_step(self, move: np.ndarray, dyaw: float) -> None:
        """Move the ee target and run one DLS IK step on the commanded posture (~10 us)."""
        d, kin, m, site = self.data, self.kin, self.model, self.site_id
        ee = d.site_xpos[site]
        target = self.target[:3]
        target += robot.EE_STEP_MAX * move
        np.maximum(target, robot.WORKSPACE_LOW, out=target)  # (np.clip costs 3x more per call)
        np.minimum(target, robot.WORKSPACE_HIGH, out=target)
        lead = target - ee
        lead_sq = float(lead @ lead)
        if lead_sq > spec.MAX_LEAD**2:  # anti-windup
            target[:] = ee + lead * (spec.MAX_LEAD / math.sqrt(lead_sq))
        yaw = float(self.target[3])
        if dyaw != 0.0 or self.kind == "ee_delta_yaw":
            yaw = min(max(yaw + spec.YAW_STEP_MAX * float(dyaw), -spec.YAW_LIMIT), spec.YAW_LIMIT)
            measured = ee_yaw(d.site_xmat[site])
            yaw = min(max(yaw, measured - spec.MAX_YAW_LEAD), measured + spec.MAX_YAW_LEAD)
            self.target[3] = yaw
        c, s = math.cos(yaw), math.sin(yaw)

        q = d.ctrl[:7].copy()  # (7,) commanded posture (arm actuators are 0..6)
        err = self.err
        kin.qpos[:7] = q
        mujoco.mj_kinematics(m, kin)
        mujoco.mj_comPos(m, kin)  # cdof, subtree_com: what mj_jacSite reads
        mujoco.mj_jacSite(m, kin, self.jac[:3], self.jac[3:], site)
        err[:3] = target - kin.site_xpos[site]
        # Rotation error 0.5 * vee(M^T - M), M = R Rd^T (Siciliano 3.7.3), with the desired frame
        # Rd = Rz(yaw) diag(1, -1, -1) = [[c, s, 0], [s, -c, 0], [0, 0, -1]] written out on floats.
        r00, r01, r02, r10, r11, r12, r20, r21, _ = kin.site_xmat[site].tolist()
        err[3] = 0.5 * (c * r21 - s * r20 - r12)
        err[4] = 0.5 * (c * r20 + s * r21 + r02)
        err[5] = 0.5 * (s * r00 - c * r01 - c * r10 - s * r11)
        jac = self.jac_arm  # (6, 7) arm columns; position (m) and rotation (rad) rows weigh equally
        null = self.q_home - q
        null *= NULLSPACE_GAIN  # (7,) joint-space pull home
        null[6] = 0.0  # joint 7 turns the hand: leave it to the yaw command
        # DLS with nullspace term: dq = J+ (e - J null) + null, J+ = J^T (J J^T + lambda^2 I)^-1;
        # one 6x6 solve with a vector right-hand side (mju_chol* ~4x cheaper than np.linalg.solve).
        gram = self.gram
        np.matmul(jac, jac.T, out=gram)
        gram += self.reg
        mujoco.mju_cholFactor(gram, 0.0)
        mujoco.mju_cholSolve(self.y, gram, err - jac @ null)  # (6,)
        q += jac.T @ self.y
        q += null
        np.maximum(q, self.q_low, out=q)
        np.minimum(q, self.q_high, out=q)
        d.ctrl[:7] = q
