"""Markovian expert skills shared by the tasks: push an object, pick it up and carry or place it.

Each skill maps batched positions (B, 3) to (B, 5) ``ee_delta_yaw`` actions with yaw 0, as a pure
function of the current positions (no phase memory: behaviour cloning and DAgger imitate it). The
phase is read off the state instead: "holding" = fingers closed to about the object's width with the
object between them.
"""

from __future__ import annotations

import numpy as np

from envs.robot import EE_STEP_MAX
from envs.tasks.base import saturate

GAIN = 0.7  # proportional gain (see base.saturate): leaves room for the arm's tracking lag
SAFE_Z = 0.10  # m, ee height for moving over objects
ALIGN_XY = 0.008  # m, xy alignment needed before descending on an object
GRIP_SLACK = 0.004  # m, opening above the object width that still counts as closed on it


def _action(disp: np.ndarray, grip: np.ndarray, gain: np.ndarray | float = GAIN,
            limit: np.ndarray | float = 1.0) -> np.ndarray:
    """(B, 5) action covering ``gain`` * disp, each entry capped at ``limit`` (a speed limit)."""
    gain = np.asarray(gain, dtype=float).reshape(-1, 1) if np.ndim(gain) else gain
    limit = np.asarray(limit, dtype=float).reshape(-1, 1) if np.ndim(limit) else limit
    action = np.zeros((disp.shape[0], 5), dtype=np.float32)
    action[:, :3] = np.clip(saturate(disp, EE_STEP_MAX, gain=1.0) * gain, -limit, limit)
    action[:, 4] = grip
    return action


def holding(ee: np.ndarray, gripper: np.ndarray, obj: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    """(B,) bool: the fingers are closed on ``obj`` (opening within [width - 1.5 cm, width + slack])."""
    near = np.linalg.norm(obj - ee, axis=1) < 0.02
    return near & (gripper < width + GRIP_SLACK) & (gripper > width - 0.015)


def push(ee: np.ndarray, obj: np.ndarray, target: np.ndarray, contact: np.ndarray | float,
         push_z: np.ndarray | float = 0.02, approach: float = 0.03) -> np.ndarray:
    """Push ``obj`` (centre, B x 3) along the table until its xy reaches ``target`` xy; gripper closed.

    In the push corridor (low, just behind the object on the target->object line) drive the ee to
    ``target - contact * u`` (where the ee is when the object sits on the target) with extra gain on
    the lateral offset, which steers the object back onto the line. Elsewhere go to the approach point
    behind the object: high while far from it, descending as it gets close, moving sideways only once
    high enough to clear it. ``contact`` = object half width + finger half width.
    """
    contact = np.broadcast_to(np.asarray(contact, dtype=float), (ee.shape[0],))[:, None]
    push_z = np.broadcast_to(np.asarray(push_z, dtype=float), (ee.shape[0],))
    d = target[:, :2] - obj[:, :2]  # (B, 2)
    dist = np.linalg.norm(d, axis=1, keepdims=True)  # (B, 1)
    u = d / np.maximum(dist, 1e-6)  # (B, 2) push direction
    perp = np.stack([-u[:, 1], u[:, 0]], axis=1)  # (B, 2)
    rel = ee[:, :2] - obj[:, :2]
    along = np.sum(rel * u, axis=1)  # (B,) < 0: behind the object
    lat = np.sum(rel * perp, axis=1)  # (B,)
    c = contact[:, 0]
    in_corridor = (
        (along < -c + 0.015) & (along > -c - approach - 0.04)
        & (np.abs(lat) < 0.02) & (ee[:, 2] < push_z + 0.03)
    )
    push_goal = target[:, :2] - contact * u
    push_xy = (push_goal - ee[:, :2]) - lat[:, None] * perp  # 1x extra lateral correction
    behind = obj[:, :2] - (contact + approach) * u
    to_behind = behind - ee[:, :2]
    dxy = np.linalg.norm(to_behind, axis=1)
    z_goal = push_z + (SAFE_Z - push_z) * np.clip((dxy - 0.01) / 0.03, 0.0, 1.0)
    high_enough = np.clip((ee[:, 2] - push_z - 0.03) / 0.04, 0.0, 1.0)
    close = np.clip((0.05 - dxy) / 0.02, 0.0, 1.0)
    approach_xy = to_behind * np.maximum(high_enough, close)[:, None]
    disp = np.empty((ee.shape[0], 3))
    disp[:, :2] = np.where(in_corridor[:, None], push_xy, approach_xy)
    disp[:, 2] = np.where(in_corridor, push_z, z_goal) - ee[:, 2]
    disp[(dist[:, 0] < 0.01), :2] = 0.0  # on target: hold still
    return _action(disp, np.full(ee.shape[0], -1.0))


def pick_and_place(ee: np.ndarray, gripper: np.ndarray, obj: np.ndarray, goal: np.ndarray,
                   width: np.ndarray | float, release: np.ndarray | bool = False,
                   release_tol: float = 0.006) -> np.ndarray:
    """Grasp ``obj`` from above, carry its centre to ``goal`` and (where ``release``) let go there.

    Not holding: go above the object (moving sideways only when high), descend, close. Holding: lift
    to ``SAFE_Z`` first when far from the goal, then move the object centre to ``goal``; with
    ``release`` open once the object is within ``release_tol`` of the goal.
    """
    n = ee.shape[0]
    width = np.broadcast_to(np.asarray(width, dtype=float), (n,))
    release = np.broadcast_to(np.asarray(release, dtype=bool), (n,))
    held = holding(ee, gripper, obj, width)
    rel = obj - ee  # (B, 3) object centre relative to the ee; ~0 when held
    # --- not holding: approach and grasp
    dxy = np.linalg.norm(rel[:, :2], axis=1)
    aligned = dxy < ALIGN_XY
    hover_z = obj[:, 2] + 0.05
    high_enough = np.clip((ee[:, 2] - obj[:, 2] - 0.035) / 0.02, 0.0, 1.0)
    move_xy = rel[:, :2] * np.where(dxy < 0.015, 1.0, high_enough)[:, None]
    z_goal = np.where(aligned, obj[:, 2], np.maximum(hover_z, np.minimum(ee[:, 2], SAFE_Z)))
    z_goal = np.where(dxy < 0.015, np.where(aligned, obj[:, 2], ee[:, 2]), z_goal)
    low = np.abs(ee[:, 2] - obj[:, 2]) < 0.008
    grasp_disp = np.concatenate([move_xy, (z_goal - ee[:, 2])[:, None]], axis=1)
    grasp_grip = np.where(aligned & low, -1.0, 1.0)
    # --- holding: carry (lift first when the goal is far in xy and the object is low)
    to_goal = goal - obj
    far = np.linalg.norm(to_goal[:, :2], axis=1) > 0.02
    carry_z = np.where(far, np.maximum(goal[:, 2], SAFE_Z), goal[:, 2])
    lifting = far & (obj[:, 2] < carry_z - 0.03)
    carry_disp = to_goal.copy()
    carry_disp[:, 2] = carry_z - obj[:, 2]
    carry_disp[lifting, :2] = 0.0
    at_goal = np.linalg.norm(to_goal, axis=1) < release_tol
    carry_grip = np.where(release & at_goal, 1.0, -1.0)
    disp = np.where(held[:, None], carry_disp, grasp_disp)
    grip = np.where(held, carry_grip, grasp_grip)
    # --- released at the goal: open and back off upwards (no re-grasp)
    placed = release & ~held & (np.linalg.norm(to_goal, axis=1) < 2 * release_tol)
    disp[placed] = 0.0
    disp[placed, 2] = obj[placed, 2] + 0.08 - ee[placed, 2]
    grip[placed] = 1.0
    # Carrying: slower, and slower still near the goal, so the arm's lag does not set up an oscillation;
    # the last centimetres of the descent onto the object are slower too (the grasp closes on the spot).
    near_goal = np.linalg.norm(to_goal, axis=1) < 0.03
    final_descent = aligned & (ee[:, 2] - obj[:, 2] < 0.03)
    gain = np.where(held, np.where(near_goal, 0.4, 0.6), np.where(final_descent, 0.5, GAIN))
    limit = np.where(held, 0.6, 1.0)
    return _action(disp, grip, gain, limit)
