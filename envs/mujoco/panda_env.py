"""The MuJoCo Panda environment behind every ``wb/<Task>-mujoco-v0`` id."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from envs import controllers, robot, scene_spec
from envs.mujoco.controllers import PandaController, ee_yaw
from envs.mujoco.scene import build_model
from envs.mujoco.sensors import CameraRig, segmentation_table
from envs.scene_spec import CAMERA_NAMES, park_position, parse_obs_mode
from envs.tasks import Scene, get_task
from envs.tasks.base import PARK_Z, yaw_quat

STATE_SPEC = mujoco.mjtState.mjSTATE_INTEGRATION  # qpos, qvel, act, ctrl, mocap, warmstart, time, ...
# Warnings that mean the integration blew up (MuJoCo resets the data itself on a bad qacc).
_UNSTABLE = np.array([int(mujoco.mjtWarning.mjWARN_BADQPOS), int(mujoco.mjtWarning.mjWARN_BADQVEL),
                      int(mujoco.mjtWarning.mjWARN_BADQACC)])


class PandaMujocoEnv(gym.Env[dict[str, Any], Any]):
    """Franka Panda on a table, MuJoCo physics; the task (``envs/tasks``) sets objects, reward, success.

    Physics dt 0.002 s, ``substeps`` = 25 per env step (20 Hz control, 0.05 s per step).

    ## Tasks

    | task       | success                                                      | reward terms (sum)  |
    |------------|--------------------------------------------------------------|---------------------|
    | reach      | ||target - ee|| < 0.02 m                                     | -d(target, ee)      |
    | push       | ||target - cube||_xy < 0.03 m                                | -d_xy(t,c), -d(c,ee)/2 |
    | pick_place | ||target - cube|| < 0.03 m (target on table or <= 0.2 m up) | -d(t,c), -d(c,ee)/2 |
    | stack      | red cube on blue (< 2 cm xy, +-8 mm z), fingers open         | -d(g,a), -d(a,ee)/2 |
    | push_t     | T covers >= 95% of the target T (``info["coverage"]``)       | min(coverage/0.95, 1) |
    | tabletop   | instruction holds (in zone / on object + released / lifted)  | -d(g,src), -d(src,ee)/2 |

    ## Action space (``controller``; scales in ``envs/controllers.py``)

    | controller      | space             | entries                                                       |
    |-----------------|-------------------|---------------------------------------------------------------|
    | ``ee_delta``    | Box(-1, 1, (4,))  | dx, dy, dz (1.0 = 0.03 m per step, world axes), gripper       |
    | ``ee_delta_yaw``| Box(-1, 1, (5,))  | dx, dy, dz, dyaw (1.0 = 0.15 rad per step), gripper; PushT |
    | ``joint_pos``   | Box(-1, 1, (8,))  | 7 absolute joint targets (-1..1 -> joint limits), gripper     |
    | ``joint_vel``   | Box(-1, 1, (8,))  | 7 joint velocities (1.0 = 1 rad/s), gripper                   |
    | ``discrete``    | Discrete(8)       | +x, -x, +y, -y, +z, -z (0.03 m), open, close                  |

    Gripper: +1 open (0.08 m), -1 closed (0 m). Out-of-range actions are clipped to [-1, 1]; NaN/inf
    raise ``ValueError`` naming the env id and step index. The ee target is clipped to the workspace
    box x [0.25, 0.85], y [-0.4, 0.4], z [0.015, 0.5] m and yaw [-2, 2] rad.

    ## Observation space: ``Dict``, keys chosen by ``obs_mode`` (``+``-joined)

    | key                 | dtype/shape        | content                                                   |
    |---------------------|--------------------|-----------------------------------------------------------|
    | ``state``           | float32 (D,)       | task state; names in ``get_task(task).state_names``       |
    | ``proprio``         | float32 (19,)      | 7 joint pos (rad), 7 joint vel (rad/s), ee xyz (m),       |
    |                     |                    | ee yaw (rad), gripper opening (m)                         |
    | ``rgb/<cam>``       | uint8 (H, W, 3)    | camera image; cams ``front``, ``agentview``, ``top``,     |
    |                     |                    | ``wrist``                                                 |
    | ``depth/<cam>``     | float32 (H, W)     | distance along the optical axis, m                        |
    | ``seg/<cam>``       | int32 (H, W)       | instance ids; names in ``segmentation_names``             |
    | ``points``          | float32 (N, 6)     | world xyz (m) + rgb [0, 1], table cropped, ``num_points`` |
    | ``instruction``     | Text (<= 64 chars) | Tabletop's language instruction                           |

    ## Episode end

    ``terminated`` on success (``terminate_on_success``); truncation from ``TimeLimit``. A numerically
    unstable simulation ends the episode with ``truncated=True`` and ``info["sim_unstable"] = True``
    (the sim is reset to the episode start so the observation stays finite). ``get_state()`` /
    ``set_state()`` restore the simulation exactly (MuJoCo integration state + controller target +
    the layout's goal vector).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}  # noqa: RUF012  (gymnasium convention)

    def __init__(
        self,
        task: str,
        obs_mode: str = "state",
        cameras: tuple[str, ...] = ("front",),
        width: int = 84,
        height: int = 84,
        controller: str | None = None,
        num_points: int = scene_spec.NUM_POINTS,
        render_mode: str | None = None,
        render_width: int = 256,
        render_height: int = 256,
        terminate_on_success: bool = True,
        substeps: int = 25,
    ) -> None:
        self.task = get_task(task)
        self.obs_modes = parse_obs_mode(obs_mode, self.task.has_instruction)
        self._renders = any(mode in self.obs_modes for mode in ("rgb", "depth", "seg", "points"))
        cameras = scene_spec.check_cameras(cameras)
        if min(width, height, render_width, render_height, substeps, num_points) <= 0:
            raise ValueError(
                "width, height, render_width, render_height, substeps and num_points must be positive"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} unsupported; use None or 'rgb_array'")
        self.controller_name = controllers.check_controller(controller or self.task.default_controller)
        self.cameras, self.width, self.height, self.num_points = cameras, width, height, num_points
        self.render_mode, self.render_width, self.render_height = render_mode, render_width, render_height
        self.terminate_on_success, self.substeps = terminate_on_success, substeps
        self.camera_names = CAMERA_NAMES

        self.model = build_model(self.task.name)
        self.data = mujoco.MjData(self.model)
        m = self.model
        self.controller = PandaController(m, self.data, self.controller_name, substeps * m.opt.timestep)
        # Integer ids once, so steps index arrays instead of looking names up.
        self._ee = m.site("ee").id
        self._fingers = np.array([m.joint(n).qposadr[0] for n in robot.FINGER_JOINTS])
        self._arm_q = self.controller.qpos_adr
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
        self._scene_objects = {name: self.data.qpos[adr : adr + 7] for name, adr in self._obj_q.items()}
        self._scene_markers = {k.name: self._marker_buf[j] for j, k in enumerate(self.task.markers)}
        self._ee_pos = self.data.site_xpos[self._ee]  # (3,) view
        self._ee_mat = self.data.site_xmat[self._ee]  # (9,) view
        self._finger_a, self._finger_b = (int(i) for i in self._fingers)
        self._warnings = self.data.warning.number  # (mjNWARNING,) view, made once
        self._state_size = mujoco.mj_stateSize(m, STATE_SPEC)
        self._extra = 4 + self.task.goal_dim  # controller target (xyz, yaw) + goal vector
        self._goal = np.zeros(self.task.goal_dim)
        self._step_index = 0
        self._initial_state = np.zeros(0)
        lut, self.segmentation_names = segmentation_table(m, self.task)
        self._rig = CameraRig(m, self.data, lut, self.task)

        self.action_space = controllers.action_space(self.controller_name)
        self.observation_space = scene_spec.observation_space(
            self.task, self.obs_modes, cameras, width, height, num_points, max(self.segmentation_names) + 1
        )

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        m, d = self.model, self.data
        mujoco.mj_resetDataKeyframe(m, d, 0)  # keyframe 0: home posture, gripper open, pool parked
        layout = self.task.sample_layout(self.np_random)
        for name, pose in layout.objects.items():
            adr = self._obj_q[name]
            d.qpos[adr : adr + 3] = pose.pos
            d.qpos[adr + 3 : adr + 7] = yaw_quat(pose.yaw)
        for name, pose in layout.markers.items():
            d.mocap_pos[self._mocap[name]] = pose.pos
            d.mocap_quat[self._mocap[name]] = yaw_quat(pose.yaw)
        self._goal = np.asarray(layout.goal, dtype=np.float64).copy()
        mujoco.mj_forward(m, d)
        self.controller.reset()
        self._step_index = 0
        self._initial_state = self.get_state()
        scene = self._scene()
        return self._get_obs(scene), {"is_success": self.task.is_success(scene), **self.task.metrics(scene)}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        a = controllers.validate_action(self.controller_name, action, self._name(), self._step_index)
        m, d = self.model, self.data
        self.controller.apply(a)
        warnings = self._warnings  # (mjNWARNING,) view of the warning counters
        warn_before = int(warnings[_UNSTABLE].sum())
        mujoco.mj_step(m, d, nstep=self.substeps)
        self._pin_parked()
        # mj_step leaves kinematics one substep stale; refresh what observations and the IK read, so
        # they are a function of the state alone (needed for exact get_state/set_state replay).
        mujoco.mj_kinematics(m, d)
        mujoco.mj_comPos(m, d)
        mujoco.mj_camlight(m, d)  # camera poses (the wrist camera moves with the hand)
        self._step_index += 1

        # MuJoCo resets the data itself on a bad qacc (and warns); NaN/inf may still slip into qpos.
        unstable = int(warnings[_UNSTABLE].sum()) > warn_before or not math.isfinite(d.qpos.sum())
        if unstable:
            self.set_state(self._initial_state)  # back to the episode start: a finite, valid observation
        task, scene = self.task, self._scene()
        terms = task.reward_terms(scene)
        success = not unstable and task.is_success(scene)
        info: dict[str, Any] = {"is_success": success, "sim_unstable": unstable, **terms}
        info.update(task.metrics(scene))
        terminated = success and self.terminate_on_success
        return self._get_obs(scene), float(sum(terms.values())), terminated, unstable, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_width, self.render_height)

    def close(self) -> None:
        self._rig.close()

    # ------------------------------------------------------------------ workbench extras
    def render_camera(self, camera: str, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 frame with pretty settings (shadows, multisampling), any camera."""
        if camera not in CAMERA_NAMES:
            raise ValueError(f"unknown camera {camera!r}; cameras: {', '.join(CAMERA_NAMES)}")
        return self._rig.rgb(camera, width, height, fast=False)

    def get_state(self) -> np.ndarray:
        """(n,) float64: MuJoCo integration state (incl. warmstart, ctrl, mocap) + ee command + goal."""
        out = np.empty(self._state_size + self._extra)
        mujoco.mj_getState(self.model, self.data, out[: self._state_size], STATE_SPEC)
        out[self._state_size : self._state_size + 4] = self.controller.target
        out[self._state_size + 4 :] = self._goal
        return out

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        expected = self._state_size + self._extra
        if state.shape != (expected,):
            raise ValueError(f"{self._name()}: state must have shape ({expected},), got {state.shape}")
        mujoco.mj_setState(self.model, self.data, state[: self._state_size], STATE_SPEC)
        self.controller.target[:] = state[self._state_size : self._state_size + 4]
        self._goal = state[self._state_size + 4 :].copy()
        mujoco.mj_kinematics(self.model, self.data)  # the same refresh as step(), bit for bit
        mujoco.mj_comPos(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)  # cameras: render_camera right after set_state

    def render_obs(self, mode: str, camera: str, width: int, height: int) -> np.ndarray:
        """One observation image (``rgb``, ``depth`` or ``seg``) of any camera at any size."""
        if mode == "rgb":
            return self._rig.rgb(camera, width, height)
        if mode == "depth":
            return self._rig.depth(camera, width, height)
        if mode == "seg":
            return self._rig.seg(camera, width, height)
        raise ValueError(f"render_obs mode must be rgb, depth or seg, got {mode!r}")

    # ------------------------------------------------------------------ internals
    def _name(self) -> str:
        return self.spec.id if self.spec is not None else f"PandaMujocoEnv(task={self.task.name!r})"

    def _pin_parked(self) -> None:
        """Absent objects fell a little during the step; put them back, at rest (kept inert)."""
        d = self.data
        parked = d.qpos[self._pool_z] < PARK_Z / 2  # (n,)
        if parked.any():
            d.qpos[self._pool_qpos[parked]] = self._park_qpos[parked]
            d.qvel[self._pool_qvel[parked]] = 0.0

    def _scene(self) -> Scene:
        d, buf = self.data, self._marker_buf
        buf[:, :3] = d.mocap_pos[self._mocap_ids]
        buf[:, 3:] = d.mocap_quat[self._mocap_ids]
        qpos = d.qpos
        return Scene(
            ee=self._ee_pos,
            ee_yaw=ee_yaw(self._ee_mat),
            gripper=float(qpos[self._finger_a] + qpos[self._finger_b]),
            objects=self._scene_objects,
            markers=self._scene_markers,
            goal=self._goal,
        )

    def _get_obs(self, scene: Scene | None = None) -> dict[str, Any]:
        scene = scene or self._scene()
        obs: dict[str, Any] = {}
        modes = self.obs_modes
        if "state" in modes:
            obs["state"] = self.task.state(scene)
        if "proprio" in modes:
            d, proprio = self.data, np.empty(19, dtype=np.float32)
            proprio[0:7] = d.qpos[self._arm_q]
            proprio[7:14] = d.qvel[self.controller.dof_adr]
            proprio[14:17] = scene.ee
            proprio[17] = scene.ee_yaw
            proprio[18] = scene.gripper
            obs["proprio"] = proprio
        if not self._renders:
            if "instruction" in modes:
                obs["instruction"] = self.task.instruction(scene.goal)
            return obs
        w, h = self.width, self.height
        for cam in self.cameras:
            if "rgb" in modes:
                obs[f"rgb/{cam}"] = self._rig.rgb(cam, w, h)
            if "depth" in modes:
                obs[f"depth/{cam}"] = self._rig.depth(cam, w, h)
            if "seg" in modes:
                obs[f"seg/{cam}"] = self._rig.seg(cam, w, h)
        if "points" in modes:
            obs["points"] = self._rig.points(self.cameras, w, h, self.num_points)
        if "instruction" in modes:
            obs["instruction"] = self.task.instruction(scene.goal)
        return obs
