"""The MuJoCo Panda environment behind every ``wb/<Task>-mujoco-v0`` id."""

from __future__ import annotations

import copy
import math
from typing import Any

import mujoco
import numpy as np

from envs import robot, sim_params
from envs.arm_controller import ArmController
from envs.ik import ee_yaw
from envs.mujoco.kinematics import SiteKinematics, cholesky_solve
from envs.mujoco.scene import build_model
from envs.mujoco.sensors import CameraRig, segmentation_table
from envs.panda_base import PandaEnvBase
from envs.scene_spec import park_position
from envs.sim_params import SimParams
from envs.tasks import Layout
from envs.tasks.base import PARK_Z, yaw_quat

STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION  # qpos, qvel, act, ctrl, mocap, warmstart, time, ...
# Warnings that mean the integration blew up (MuJoCo resets the data itself on a bad qacc).
_UNSTABLE = np.array([int(mujoco.mjtWarning.mjWARN_BADQPOS), int(mujoco.mjtWarning.mjWARN_BADQVEL),
                      int(mujoco.mjtWarning.mjWARN_BADQACC)])


class PandaMujocoEnv(PandaEnvBase):
    """Franka Panda on a table, MuJoCo physics (spaces, rewards, episode end: ``PandaEnvBase``).

    Physics dt 0.002 s, ``substeps`` = 25 per env step (20 Hz control, 0.05 s per step). The arm's
    joint targets are position actuators' ``ctrl``. Unstable: MuJoCo's bad qpos/qvel/qacc warnings or a
    non-finite qpos. ``get_state()`` = MuJoCo integration state (incl. warmstart, ctrl, mocap) +
    controller ee target + the layout's goal vector + the episode's simulator parameters.

    Each env owns a copy of the task's compiled model (2 ms), so its simulator parameters
    (``envs/sim_params.py``) never leak into another env of the process.
    """

    SUBSTEPS = 25

    def _build(self) -> None:
        self.model = m = copy.deepcopy(build_model(self.task.name))
        self.data = d = mujoco.MjData(m)
        self._ee = m.site("ee").id
        arm = [m.joint(n) for n in robot.ARM_JOINTS]
        fingers = [m.joint(n) for n in robot.FINGER_JOINTS]
        # Arm joints then fingers lead qpos, qvel and the actuators: robot state and targets are views.
        assert [j.qposadr[0] for j in arm + fingers] == list(range(9)), "robot joints must lead qpos"
        assert [j.dofadr[0] for j in arm + fingers] == list(range(9)), "robot dofs must lead qvel"
        assert [m.actuator(n).id for n in robot.ARM_JOINTS] == list(range(7)), "arm actuators must be 0..6"
        grip = m.actuator("gripper").id
        self._joint_pos, self._joint_vel = d.qpos[:9], d.qvel[:9]  # (9,) views (qpos never moves)
        self._ee_pos = d.site_xpos[self._ee]  # (3,) view
        self._ee_rot = d.site_xmat[self._ee].reshape(3, 3)  # (3, 3) view
        self._target = np.zeros(4)  # controller ee target (xyz, yaw): in get_state
        self.controller = ArmController(
            self.controller_name, self.substeps * m.opt.timestep, SiteKinematics(m, self._ee),
            self._target, d.ctrl[:7], d.ctrl[grip : grip + 1], solve=cholesky_solve,
        )
        self._obj_q = {o.name: int(m.joint(o.name).qposadr[0]) for o in self.task.objects}
        # Pool index arrays, built once: free-joint qpos (n, 7) and qvel (n, 6) addresses, park poses.
        n_obj = len(self.task.objects)
        q0 = np.array(list(self._obj_q.values()), dtype=np.int64).reshape(n_obj)
        v0 = np.array([m.joint(o.name).dofadr[0] for o in self.task.objects], dtype=np.int64).reshape(n_obj)
        self._pool_qpos = q0[:, None] + np.arange(7)  # (n, 7)
        self._pool_qvel = v0[:, None] + np.arange(6)  # (n, 6)
        self._pool_z = q0 + 2  # (n,)
        self._park_qpos = np.array([[*park_position(i), 1.0, 0.0, 0.0, 0.0] for i in range(n_obj)])
        self._park_qpos = self._park_qpos.reshape(n_obj, 7)
        mocap = np.array([m.body_mocapid[m.body(k.name).id] for k in self.task.markers], dtype=np.int64)
        self._mocap = {k.name: int(i) for k, i in zip(self.task.markers, mocap, strict=True)}
        self._mocap_ids = mocap
        # Scene inputs as views made once (qpos never moves in memory): objects are rows of qpos, markers
        # rows of a (n_markers, 7) buffer refreshed from mocap_pos/mocap_quat each step.
        self._marker_buf = np.zeros((len(mocap), 7))
        self._scene_objects = {name: d.qpos[adr : adr + 7] for name, adr in self._obj_q.items()}
        self._scene_markers = {k.name: self._marker_buf[j] for j, k in enumerate(self.task.markers)}
        self._warnings = d.warning.number  # (mjNWARNING,) view, made once
        self._sim_size = mujoco.mj_stateSize(m, STATE_SPEC)
        # + controller target + goal vector + simulator parameters
        self._state_dim = self._sim_size + 4 + self.task.goal_dim + sim_params.SIZE
        lut, self.segmentation_names = segmentation_table(m, self.task)
        self._rig = CameraRig(m, d, lut, self.task)
        self._nominal_params()

    def _nominal_params(self) -> None:
        """Remember the model's nominal values that ``_apply_params`` scales or shifts."""
        m = self.model
        self._object_bodies = np.array([m.body(o.name).id for o in self.task.objects], dtype=np.int64)
        pool = set(self._object_bodies.tolist()) | {m.body(k.name).id for k in self.task.markers}
        geoms = [g for g in range(m.ngeom) if int(m.geom_bodyid[g]) in pool]
        self._pool_geoms = np.array(geoms, dtype=np.int64)
        self._table_geom = m.geom("table").id
        self._fixed_cams = np.flatnonzero(m.cam_bodyid == 0)  # cameras in the world (not the wrist's)
        light = m.light("key").id
        self._light = light
        # The key light aims where its nominal direction meets the table top; a shifted light keeps
        # aiming there, so a shift changes the lighting direction.
        pos, direction = m.light_pos[light].copy(), m.light_dir[light].copy()
        self._light_aim = pos - direction * pos[2] / direction[2]
        self._nominal = {
            "friction": m.geom_friction[:, 0].copy(), "mass": m.body_mass[self._object_bodies].copy(),
            "inertia": m.body_inertia[self._object_bodies].copy(), "damping": m.dof_damping[:7].copy(),
            "kp": m.actuator_gainprm[:7, 0].copy(), "rgba": m.geom_rgba.copy(), "light_pos": pos,
            "light_diffuse": m.light_diffuse[light].copy(), "headlight": m.vis.headlight.diffuse.copy(),
            "cam_pos": m.cam_pos.copy(), "cam_fovy": m.cam_fovy.copy(),
        }  # fmt: skip

    def _apply_params(self, params: SimParams) -> None:
        m, nom = self.model, self._nominal
        # MuJoCo takes the larger friction of two touching geoms: scaling every geom scales each contact
        m.geom_friction[:, 0] = nom["friction"] * params.friction
        mass = nom["mass"] * params.mass
        if not np.array_equal(m.body_mass[self._object_bodies], mass):
            m.body_mass[self._object_bodies] = mass
            m.body_inertia[self._object_bodies] = nom["inertia"] * params.mass
            # constants derived from the masses (the constraint solver's inverse weights, which scale
            # the contacts' softness): stale ones made a doubled mass sink into the table and never
            # slide. Only on a mass change: it costs 0.2 ms and overwrites the data (reset follows).
            mujoco.mj_setConst(m, self.data)
        m.dof_damping[:7] = nom["damping"] * params.damping
        kp = nom["kp"] * params.gain  # position actuator: force = kp ctrl - kp q - kv qdot
        m.actuator_gainprm[:7, 0] = kp
        m.actuator_biasprm[:7, 1] = -kp
        rgba = nom["rgba"].copy()
        rgba[self._table_geom, :3] = np.clip(rgba[self._table_geom, :3] + params.table_rgb, 0.0, 1.0)
        rgba[self._pool_geoms, :3] = np.clip(rgba[self._pool_geoms, :3] * params.object_brightness, 0.0, 1.0)
        m.geom_rgba[:] = rgba
        pos = nom["light_pos"] + params.light_shift
        aim = self._light_aim - pos
        m.light_pos[self._light] = pos
        m.light_dir[self._light] = aim / np.linalg.norm(aim)
        m.light_diffuse[self._light] = nom["light_diffuse"] * params.light
        m.vis.headlight.diffuse[:] = nom["headlight"] * params.light
        m.cam_pos[self._fixed_cams] = nom["cam_pos"][self._fixed_cams] + params.camera_shift
        m.cam_fovy[:] = nom["cam_fovy"] + params.fov_delta

    def close(self) -> None:
        self._rig.close()

    # ------------------------------------------------------------------ physics
    def _reset_sim(self, layout: Layout) -> None:
        m, d = self.model, self.data
        mujoco.mj_resetDataKeyframe(m, d, 0)  # keyframe 0: home posture, gripper open, pool parked
        for name, pose in layout.objects.items():
            adr = self._obj_q[name]
            d.qpos[adr : adr + 3] = pose.pos
            d.qpos[adr + 3 : adr + 7] = yaw_quat(pose.yaw)
        for name, pose in layout.markers.items():
            d.mocap_pos[self._mocap[name]] = pose.pos
            d.mocap_quat[self._mocap[name]] = yaw_quat(pose.yaw)
        mujoco.mj_forward(m, d)
        self.controller.reset(d.qpos[:7], robot.FINGER_OPEN, self._ee_pos, ee_yaw(self._ee_rot))

    def _physics_step(self) -> bool:
        m, d = self.model, self.data
        warnings = self._warnings  # (mjNWARNING,) view of the warning counters
        warn_before = int(warnings[_UNSTABLE].sum())
        mujoco.mj_step(m, d, nstep=self._physics_substeps)
        self._pin_parked()
        # mj_step leaves kinematics one substep stale; refresh what observations and the IK read, so
        # they are a function of the state alone (needed for exact get_state/set_state replay).
        self._refresh()
        # MuJoCo resets the data itself on a bad qacc (and warns); NaN/inf may still slip into qpos.
        return int(warnings[_UNSTABLE].sum()) > warn_before or not math.isfinite(d.qpos.sum())

    def _refresh(self) -> None:
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)  # camera poses (the wrist camera moves with the hand)

    def _pin_parked(self) -> None:
        """Absent objects fell a little during the step; put them back, at rest (kept inert)."""
        d = self.data
        parked = d.qpos[self._pool_z] < PARK_Z / 2  # (n,)
        if parked.any():
            d.qpos[self._pool_qpos[parked]] = self._park_qpos[parked]
            d.qvel[self._pool_qvel[parked]] = 0.0

    def _read_pool(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        d, buf = self.data, self._marker_buf
        buf[:, :3] = d.mocap_pos[self._mocap_ids]
        buf[:, 3:] = d.mocap_quat[self._mocap_ids]
        return self._scene_objects, self._scene_markers

    def get_state(self) -> np.ndarray:
        """(n,) float64: MuJoCo integration state (incl. warmstart, ctrl, mocap) + ee target + goal +
        simulator parameters."""
        out, n, g = np.empty(self._state_dim), self._sim_size, self.task.goal_dim
        mujoco.mj_getState(self.model, self.data, out[:n], STATE_SPEC)
        out[n : n + 4] = self._target
        out[n + 4 : n + 4 + g] = self._goal
        out[n + 4 + g :] = self._params_vector
        return out

    def _load_state(self, state: np.ndarray) -> None:
        n = self._sim_size
        mujoco.mj_setState(self.model, self.data, state[:n], STATE_SPEC)
        self._target[:] = state[n : n + 4]
        self._goal = state[n + 4 : n + 4 + self.task.goal_dim].copy()
        self._refresh()  # the same refresh as a step, bit for bit; cameras for render_camera too

    # ------------------------------------------------------------------ rendering
    def _render_images(self, camera: str, width: int, height: int, modes: tuple[str, ...]) -> dict[str, Any]:
        rig = self._rig
        render = {"rgb": rig.rgb, "depth": rig.depth, "seg": rig.seg}
        return {mode: render[mode](camera, width, height) for mode in modes}

    def _render_pretty(self, camera: str, width: int, height: int) -> np.ndarray:
        return self._rig.rgb(camera, width, height, fast=False)

    def _camera_pose(self, camera: str) -> tuple[np.ndarray, np.ndarray]:
        cam = self.model.camera(camera).id
        return self.data.cam_xpos[cam], self.data.cam_xmat[cam].reshape(3, 3)
