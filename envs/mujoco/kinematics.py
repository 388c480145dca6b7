"""What the shared controllers (``envs/arm_controller.py``, ``envs/ik.py``) need from MuJoCo: the arm's
kinematics at a *commanded* posture, and a cheap 6x6 solve.

The IK runs on the joint targets, not on the measured joints, so the kinematics are computed in a
scratch ``MjData`` (the simulated one keeps its state); ``mj_jacSite`` gives the ee site's Jacobian.
"""

from __future__ import annotations

import mujoco
import numpy as np


class SiteKinematics:
    """``kin(q)`` -> ee site position (3,), rotation (3, 3), Jacobian (6, 7) at arm joints ``q`` (7,)
    (``envs.ik.Kinematics``); ~6 us. Returns views into scratch buffers, valid until the next call."""

    def __init__(self, model: mujoco.MjModel, site: int) -> None:
        self.model, self.site = model, site
        self.data = mujoco.MjData(model)  # scratch: kinematics of the commanded posture
        self.jac = np.zeros((6, model.nv))  # rows: 3 translational, 3 rotational
        self.jac_arm = self.jac[:, :7]  # (6, 7) view: the arm dofs come first (asserted by the env)
        self.pos = self.data.site_xpos[site]  # (3,) view
        self.rot = self.data.site_xmat[site].reshape(3, 3)  # (3, 3) view, row-major rotation matrix

    def __call__(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m, d = self.model, self.data
        d.qpos[:7] = q  # the arm's qpos come first too
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)  # cdof, subtree_com: what mj_jacSite reads
        mujoco.mj_jacSite(m, d, self.jac[:3], self.jac[3:], self.site)
        return self.pos, self.rot, self.jac_arm


def cholesky_solve(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """x (6,) with gram x = rhs for a symmetric positive definite gram (overwritten with its factor);
    ``mju_chol*`` is ~3x cheaper than ``np.linalg.solve`` at this size (``envs.ik.Solver``)."""
    out = np.empty(rhs.shape[0])
    mujoco.mju_cholFactor(gram, 0.0)
    mujoco.mju_cholSolve(out, gram, rhs)
    return out
