"""Cross-simulator check of the shared end-effector controller (``envs/arm_controller.py``, ``envs/ik.py``):
the same free-space ``ee_delta`` action sequence moves the end effector along the same path in MuJoCo
and PyBullet.

Measured (Reach, seed 0, this sequence): joint targets agree to ~2e-15 rad at every step (one IK, two
kinematics); the ee displacement from the start differs by at most 3.4 mm while moving (the two
simulators' servos lag the targets differently) and by 0.03 mm once the arm has settled; ee yaw by at
most 0.011 rad. Tolerances below: 5 mm, 1 mm, 0.03 rad.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the ids)

PATH_TOL = 0.005  # m, ee displacement from the start, any step
SETTLED_TOL = 0.001  # m, after the final hold
YAW_TOL = 0.03  # rad
SPEED = 0.2  # action magnitude: 6 mm (and 0.03 rad) per step, free space, no anti-windup clipping
# (direction dx, dy, dz, dyaw; steps): +x, +y, -z, back diagonally, turn the hand (ee_delta_yaw), hold.
SEGMENTS = (((1, 0, 0, 0), 8), ((0, 1, 0, 0), 8), ((0, 0, -1, 0), 8), ((-1, -1, 1, 0), 8),
            ((0, 0, 0, 1), 6), ((0, 0, 0, 0), 6))


def _actions(controller: str) -> np.ndarray:
    """(T, 4) ee_delta or (T, 5) ee_delta_yaw actions, gripper open; ee_delta skips the yaw segment."""
    rows = []
    for direction, steps in SEGMENTS:
        move = SPEED * np.asarray(direction, dtype=np.float64)
        if controller == "ee_delta":
            if move[3] != 0:
                continue
            move = move[:3]
        rows += [[*move, 1.0]] * steps
    return np.array(rows, dtype=np.float32)


def _run(sim: str, controller: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ee positions (T+1, 3) and yaws (T+1,) from ``proprio``, and joint targets (T+1, 7)."""
    env = gym.make(f"wb/Reach-{sim}-v0", obs_mode="proprio", controller=controller,
                   terminate_on_success=False)
    obs, _ = env.reset(seed=0)
    base = env.unwrapped
    proprio, targets = [obs["proprio"]], [base.controller.q_target.copy()]  # type: ignore[attr-defined]
    for action in _actions(controller):
        obs, _, _, truncated, info = env.step(action)
        assert not truncated and not info["sim_unstable"]
        proprio.append(obs["proprio"])
        targets.append(base.controller.q_target.copy())  # type: ignore[attr-defined]
    env.close()
    p = np.array(proprio, dtype=np.float64)  # (T+1, 19): ee xyz at 14:17, ee yaw at 17
    return p[:, 14:17], p[:, 17], np.array(targets)


@pytest.mark.parametrize("controller", ["ee_delta", "ee_delta_yaw"])
def test_same_ee_delta_actions_same_path_in_both_simulators(controller: str) -> None:
    mj_ee, mj_yaw, mj_q = _run("mujoco", controller)
    pb_ee, pb_yaw, pb_q = _run("pybullet", controller)
    np.testing.assert_allclose(pb_ee[0], mj_ee[0], atol=1e-6)  # same home posture
    # One IK: identical joint targets, up to the two kinematics' rounding.
    np.testing.assert_allclose(pb_q, mj_q, rtol=0, atol=1e-9)
    deviation = np.linalg.norm((mj_ee - mj_ee[0]) - (pb_ee - pb_ee[0]), axis=1)  # (T+1,) m
    travelled = np.linalg.norm(mj_ee - mj_ee[0], axis=1).max()
    assert travelled > 0.05  # the sequence really moves the hand
    assert deviation.max() <= PATH_TOL, f"max ee deviation {1000 * deviation.max():.2f} mm"
    assert deviation[-1] <= SETTLED_TOL, f"settled ee deviation {1000 * deviation[-1]:.2f} mm"
    assert np.abs(mj_yaw - pb_yaw).max() <= YAW_TOL
    if controller == "ee_delta_yaw":
        assert mj_yaw[-1] - mj_yaw[0] > 0.1  # the hand turned
