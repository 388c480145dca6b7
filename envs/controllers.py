"""End-effector delta control for the MuJoCo Panda: differential IK -> joint position targets.

Action (4,) in [-1, 1]: (dx, dy, dz) move the commanded end-effector target by up to
``EE_STEP_MAX`` = 0.03 m per env step along world axes; the gripper entry maps linearly from
-1 (closed, 0 m) to +1 (open, 0.04 m per finger). The caller clips out-of-range actions first.

The commanded target is internal controller state (it is in ``get_state()``): it accumulates the
deltas, is clipped to the workspace box, and may lead the measured end effector by at most
``MAX_LEAD`` so that pushing against something does not wind it up. Once per env step (not per
physics substep) damped-least-squares IK updates the joint targets (the position actuators' ctrl)
so that the *commanded* posture reaches the target: IK runs on the joint targets in a scratch
``MjData``, not on the measured joints, so the servo lag of the real arm never feeds back into the
IK (IK from measured joints made the lagging arm drift off the commanded direction). The 6-D error
is position plus an orientation term that keeps the hand pointing down with fixed yaw; a nullspace
pull towards the home posture resolves the 7th degree of freedom.
"""

from __future__ import annotations

import mujoco
import numpy as np

from envs import robot

MAX_LEAD = 0.05  # m, most the commanded target may lead the measured end effector
DAMPING = 0.05  # DLS damping lambda (m / rad); keeps dq bounded near singularities
NULLSPACE_GAIN = 0.2  # fraction of the home-posture error corrected per step, in the nullspace
IK_ITERS = 1  # Newton steps per env step; errors are <= MAX_LEAD, one step lands within ~1 mm
# Hand pointing down, fingers along world y: the home posture's end-effector frame.
EE_ROT_DESIRED = np.diag([1.0, -1.0, -1.0])


class EEDeltaController:
    """Maps ee-delta actions to ``data.ctrl``. Ids and buffers are built once, so a step allocates little."""

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData) -> None:
        self.model, self.data = model, data
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
        self.reg = (DAMPING**2) * np.eye(6)
        self.err = np.zeros(6)  # (position error m, rotation error rad)
        self.gram = np.zeros((6, 6))  # J J^T + lambda^2 I, factored in place
        self.y = np.zeros(6)
        self.target = np.zeros(3)  # commanded ee position (m): internal state
        self.kin = mujoco.MjData(model)  # scratch data: kinematics of the commanded posture

    def reset(self) -> None:
        """Command the current end-effector position and current joint positions (no motion)."""
        self.target[:] = self.data.site_xpos[self.site_id]
        self.data.ctrl[self.arm_act] = self.data.qpos[self.qpos_adr]

    def apply(self, action: np.ndarray) -> None:
        """Write joint targets for a clipped (4,) action. Needs the data's kinematics to be current.

        Runs once per env step; kept allocation-light (~15 us) because the state-only env step must
        stay within ~25% of the raw physics cost.
        """
        d, kin, m, site = self.data, self.kin, self.model, self.site_id
        ee = d.site_xpos[site]
        target = self.target
        target += robot.EE_STEP_MAX * action[:3]
        np.maximum(target, robot.WORKSPACE_LOW, out=target)  # (np.clip costs 3x more per call)
        np.minimum(target, robot.WORKSPACE_HIGH, out=target)
        lead = target - ee
        lead_sq = float(lead @ lead)
        if lead_sq > MAX_LEAD**2:  # anti-windup
            target[:] = ee + lead * (MAX_LEAD / np.sqrt(lead_sq))

        q = d.ctrl[:7].copy()  # (7,) commanded posture (arm actuators are 0..6)
        err = self.err
        for _ in range(IK_ITERS):
            kin.qpos[:7] = q
            mujoco.mj_kinematics(m, kin)
            mujoco.mj_comPos(m, kin)  # cdof, subtree_com: what mj_jacSite reads
            mujoco.mj_jacSite(m, kin, self.jac[:3], self.jac[3:], site)
            err[:3] = target - kin.site_xpos[site]
            # Rotation error 0.5 * sum_i r_i x rd_i = 0.5 * vee(M^T - M), M = R Rd^T (Siciliano 3.7.3).
            rel = kin.site_xmat[site].reshape(3, 3) @ EE_ROT_DESIRED.T
            err[3] = 0.5 * (rel[1, 2] - rel[2, 1])
            err[4] = 0.5 * (rel[2, 0] - rel[0, 2])
            err[5] = 0.5 * (rel[0, 1] - rel[1, 0])
            jac = self.jac[:, :7]  # (6, 7) arm columns; position (m) and rotation (rad) rows weigh equally
            null = NULLSPACE_GAIN * (self.q_home - q)  # (7,) joint-space pull home
            # DLS with nullspace term: dq = J+ (e - J null) + null, J+ = J^T (J J^T + lambda^2 I)^-1;
            # one 6x6 solve with a vector right-hand side instead of forming the pseudo-inverse.
            # mju_chol* are ~4x cheaper than np.linalg.solve at this size.
            gram = self.gram
            np.matmul(jac, jac.T, out=gram)
            gram += self.reg
            mujoco.mju_cholFactor(gram, 0.0)
            mujoco.mju_cholSolve(self.y, gram, err - jac @ null)  # (6,)
            q += jac.T @ self.y + null
            np.maximum(q, self.q_low, out=q)
            np.minimum(q, self.q_high, out=q)
        d.ctrl[:7] = q
        d.ctrl[self.grip_act] = 0.5 * robot.FINGER_OPEN * (action[3] + 1.0)
