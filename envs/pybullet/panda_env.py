"""The PyBullet Panda environment behind every ``wb/<Task>-pybullet-v0`` id."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pybullet as p

from envs import controllers as ctrl
from envs import robot, scene_spec
from envs.pybullet import scene as sc
from envs.pybullet import sensors
from envs.pybullet.controllers import STATE_SIZE as CONTROLLER_STATE_SIZE
from envs.pybullet.controllers import PandaController, ee_yaw
from envs.scene_spec import (
    CAMERA_NAMES,
    CAMERAS,
    IMAGE_MODES,
    back_project,
    fuse,
    park_position,
    parse_obs_mode,
)
from envs.tasks import get_task
from envs.tasks.base import PARK_Z, Scene

MAX_SPEED = 50.0  # m/s or rad/s; faster than this is a numerical blow-up, not a robot moving
MAX_DISTANCE = 20.0  # m from the origin; farther (and not parked) means the body was flung away


class PandaPybulletEnv(gym.Env[dict[str, Any], Any]):
    """Franka Panda on a table, PyBullet physics; the task (``envs/tasks``) sets objects, reward, success.

    The PyBullet twin of ``envs/mujoco/panda_env.py``: same tasks, layouts (same seed -> same layout),
    observation keys, controllers and ``info`` keys. One ``p.DIRECT`` client per env, so several envs
    live in one process. Physics step 1/240 s, ``substeps`` = 12 per env step: 0.05 s (20 Hz), as
    MuJoCo's 25 x 2 ms. Rendering: PyBullet's CPU TinyRenderer (no display, no GL).

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
    | ``ee_delta_yaw``| Box(-1, 1, (5,))  | dx, dy, dz, dyaw (1.0 = 0.15 rad per step), gripper; PushT    |
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
    | ``points``          | float32 (N, 6)     | world xyz (m) + rgb [0, 1], table cropped,                |
    |                     |                    | N = ``num_points``, fused over ``cameras``                |
    | ``instruction``     | Text (<= 64 chars) | Tabletop's language instruction                           |

    ## Episode end

    ``terminated`` on success (``terminate_on_success``); truncation from ``TimeLimit``. A numerically
    unstable simulation (non-finite values, speeds over 50 m/s, bodies flung 20 m away) ends the
    episode with ``truncated=True`` and ``info["sim_unstable"] = True`` (the sim is reset to the episode
    start so the observation stays finite). ``get_state()`` / ``set_state()`` restore the simulation
    exactly: replaying the same actions from a restored state repeats the run bit for bit.
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
        substeps: int = sc.SUBSTEPS,
    ) -> None:
        self.task = get_task(task)
        self.obs_modes = parse_obs_mode(obs_mode, self.task.has_instruction)
        cameras = scene_spec.check_cameras(cameras)
        if min(width, height, render_width, render_height, substeps, num_points) <= 0:
            raise ValueError(
                "width, height, render_width, render_height, substeps, num_points must be positive"
            )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode {render_mode!r} unsupported; use None or 'rgb_array'")
        self.cameras, self.width, self.height = cameras, width, height
        self.render_mode, self.render_width, self.render_height = render_mode, render_width, render_height
        self.terminate_on_success, self.substeps, self.num_points = terminate_on_success, substeps, num_points
        self.dt = substeps * sc.PHYSICS_DT  # s per env step
        self.camera_names = CAMERA_NAMES
        self.controller_name = ctrl.check_controller(controller or self.task.default_controller)

        self.ids = sc.build_scene(self.task)
        self._client = self.ids.client
        self._kw = {"physicsClientId": self._client}
        self.controller = PandaController(self.controller_name, self.dt)
        self._joints = (*self.ids.arm_joints, *self.ids.finger_joints)  # (9,) movable joints
        self._objects = tuple(self.ids.objects.values())
        self._markers = tuple(self.ids.markers.values())
        # Contacts involve an object or the hand (arm links touch objects only): re-filtering these
        # colliders drops every contact manifold, see _forget_contacts.
        self._hand_links = tuple(self.ids.link_of[n] for n in robot.HAND_BODIES)
        # Flat physical state: 9 joint pos, 9 joint vel, per object pos + quat xyzw + lin vel + ang vel
        # (13), per marker pos + quat xyzw (7).
        n_obj, n_mark = len(self._objects), len(self._markers)
        self._sim = np.zeros(18 + 13 * n_obj + 7 * n_mark)
        self._obj_view = self._sim[18 : 18 + 13 * n_obj].reshape(n_obj, 13)
        self._mark_view = self._sim[18 + 13 * n_obj :].reshape(n_mark, 7)
        self._goal = np.zeros(self.task.goal_dim)
        self._parked = np.zeros(n_obj, dtype=bool)
        self._present: tuple[int, ...] = ()  # indices of the objects in play this episode
        self._ee = np.zeros(3)
        self._ee_rot = np.eye(3)
        self._step_index = 0
        self._initial_state = np.zeros(0)
        self._seg_lut, self.segmentation_names = sensors.segmentation_table(self.ids)
        self._camera_cache: dict[tuple[str, int, int], tuple[list[float], list[float]]] = {}
        self._static_poses: dict[str, tuple[np.ndarray, np.ndarray]] = {}

        self.action_space = ctrl.action_space(self.controller_name)
        self.observation_space = scene_spec.observation_space(
            self.task, self.obs_modes, cameras, width, height, num_points, max(self.segmentation_names) + 1
        )

    # ------------------------------------------------------------------ gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        kw, ids = self._kw, self.ids
        q0 = np.concatenate([robot.HOME_QPOS, [robot.FINGER_OPEN, robot.FINGER_OPEN]])
        p.resetJointStatesMultiDof(ids.robot, self._joints, [[v] for v in q0], [[0.0]] * 9, **kw)
        layout = self.task.sample_layout(self.np_random)
        for i, (name, body) in enumerate(ids.objects.items()):
            pose = layout.objects.get(name)
            pos, yaw = (pose.pos, pose.yaw) if pose is not None else (park_position(i), 0.0)
            quat = (0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2)))  # xyzw
            p.resetBasePositionAndOrientation(body, [float(v) for v in pos], quat, **kw)
            p.resetBaseVelocity(body, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), **kw)
        for i, (name, body) in enumerate(ids.markers.items(), start=len(self._objects)):
            pose = layout.markers.get(name)
            pos, yaw = (pose.pos, pose.yaw) if pose is not None else (park_position(i), 0.0)
            quat = (0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2)))
            p.resetBasePositionAndOrientation(body, [float(v) for v in pos], quat, **kw)
        self._goal = np.asarray(layout.goal, dtype=np.float64).reshape(self.task.goal_dim).copy()
        self._read_sim(everything=True)
        self._write_sim(everything=True)
        self.controller.reset(q0[:7], robot.FINGER_OPEN)
        self._step_index = 0
        self._initial_state = self.get_state()
        scene = self._scene()
        return self._get_obs(scene), {"is_success": self.task.is_success(scene), **self.task.metrics(scene)}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        a = ctrl.validate_action(self.controller_name, action, self._name(), self._step_index)
        kw = self._kw
        self.controller.apply(a, self._ee, ee_yaw(self._ee_rot))
        self._set_motors()
        self._forget_contacts()
        for _ in range(self.substeps):
            p.stepSimulation(**kw)
        self._step_index += 1
        self._read_sim()  # parked objects keep their pinned rows
        if any(self._obj_view[i, 2] < PARK_Z / 2 for i in self._present):
            self._park_fallen()
        sim = self._sim
        unstable = not np.isfinite(sim).all() or bool(
            np.abs(sim[9:18]).max() > MAX_SPEED
            or (np.abs(self._obj_view[~self._parked, 7:13]).max(initial=0.0) > MAX_SPEED)
            or (np.abs(self._obj_view[~self._parked, 0:3]).max(initial=0.0) > MAX_DISTANCE)
        )
        if unstable:
            self.set_state(self._initial_state)  # back to the episode start: a finite, valid observation
        else:
            self._write_sim()  # the canonical internal state, see _write_sim
        scene = self._scene()
        terms = self.task.reward_terms(scene)
        success = self.task.is_success(scene) and not unstable
        info: dict[str, Any] = {"is_success": success, "sim_unstable": unstable, **terms}
        info.update(self.task.metrics(scene))
        terminated = success and self.terminate_on_success
        return self._get_obs(scene), float(sum(terms.values())), terminated, unstable, info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return self.render_camera("front", self.render_width, self.render_height)

    def close(self) -> None:
        if self._client >= 0 and p.isConnected(self._client):
            p.disconnect(self._client)
        self._client = -1

    # ------------------------------------------------------------------ workbench extras
    def render_camera(self, camera: str, width: int, height: int) -> np.ndarray:
        """(height, width, 3) uint8 frame with the pretty settings (shadows), any camera."""
        if camera not in CAMERA_NAMES:
            raise ValueError(f"unknown camera {camera!r}; cameras: {', '.join(CAMERA_NAMES)}")
        return self._render(camera, width, height, pretty=True)[0]

    def render_obs(self, mode: str, camera: str, width: int, height: int) -> np.ndarray:
        """One observation image (``rgb``, ``depth`` or ``seg``) of any camera at any size."""
        if camera not in CAMERA_NAMES:
            raise ValueError(f"unknown camera {camera!r}; cameras: {', '.join(CAMERA_NAMES)}")
        if mode not in IMAGE_MODES:
            raise ValueError(f"render_obs mode must be rgb, depth or seg, got {mode!r}")
        rgb, depth, seg = self._render(
            camera, width, height, pretty=False, depth=mode == "depth", seg=mode == "seg"
        )
        out = {"rgb": rgb, "depth": depth, "seg": seg}[mode]
        assert out is not None
        return out

    def get_state(self) -> np.ndarray:
        """(n,) float64: joint positions and velocities, object poses (xyzw) and velocities, marker
        poses, the layout goal, and the controller's state (ee target, yaw target, joint and finger
        targets). Contact caches are dropped at the start of every env step (``_forget_contacts``), so
        this vector is the whole state: stepping after ``set_state`` repeats the run bit for bit."""
        return np.concatenate([self._sim, self._goal, self.controller.state])

    def set_state(self, state: np.ndarray) -> None:
        state = np.asarray(state, dtype=np.float64)
        n_sim, n_goal = self._sim.size, self._goal.size
        expected = n_sim + n_goal + CONTROLLER_STATE_SIZE
        if state.shape != (expected,):
            raise ValueError(f"{self._name()}: state must have shape ({expected},), got {state.shape}")
        self._sim[:] = state[:n_sim]
        self._goal[:] = state[n_sim : n_sim + n_goal]
        self.controller.state[:] = state[n_sim + n_goal :]
        self._write_sim(everything=True)

    # ------------------------------------------------------------------ internals
    def _name(self) -> str:
        return self.spec.id if self.spec is not None else f"PandaPybulletEnv(task={self.task.name!r})"

    def _set_motors(self) -> None:
        c = self.controller
        targets = [*c.q_target.tolist(), c.finger, c.finger]
        p.setJointMotorControlArray(
            self.ids.robot, self._joints, p.POSITION_CONTROL, targetPositions=targets,
            forces=sc.MOTOR_FORCES, positionGains=sc.MOTOR_POSITION_GAINS,
            velocityGains=sc.MOTOR_VELOCITY_GAINS, **self._kw,
        )

    def _forget_contacts(self, everything: bool = False) -> None:
        """Drop every contact manifold, so each env step starts from the state vector alone.

        Bullet keeps contact points (and their impulses, for warm starting) across steps; they are
        not in any state PyBullet can read back, so a run restored with ``set_state`` would see
        different contacts than the original. Setting a collider's filter re-inserts its broadphase
        proxy, which removes its overlapping pairs and their manifolds (0.5 us per call). Done here at
        every env step, in the original run as in the replay, the contacts are a function of the state.
        """
        kw, robot_id = self._kw, self.ids.robot
        for link in self._hand_links:
            p.setCollisionFilterGroupMask(robot_id, link, sc.HAND, sc.MASKS[sc.HAND], **kw)
        # Parked objects are static and far apart, never in contact; but an object parked just now may
        # still have pairs from where it was (everything=True drops them too).
        for i in range(len(self._objects)) if everything else self._present:
            p.setCollisionFilterGroupMask(self._objects[i], -1, sc.OBJECT, sc.MASKS[sc.OBJECT], **kw)

    def _read_sim(self, everything: bool = False) -> None:
        """Copy PyBullet's state into ``self._sim``: joints and present objects (``everything``: all
        objects and the markers too; markers only move in ``reset``/``set_state``, parked objects are
        pinned)."""
        kw, sim = self._kw, self._sim
        for i, (q, qd, *_) in enumerate(p.getJointStates(self.ids.robot, self._joints, **kw)):
            sim[i], sim[9 + i] = q, qd
        for i in range(len(self._objects)) if everything else self._present:
            body, row = self._objects[i], self._obj_view[i]
            pos, quat = p.getBasePositionAndOrientation(body, **kw)
            lin, ang = p.getBaseVelocity(body, **kw)
            row[0:3], row[3:7], row[7:10], row[10:13] = pos, quat, lin, ang
        if everything:
            for body, row in zip(self._markers, self._mark_view, strict=True):
                pos, quat = p.getBasePositionAndOrientation(body, **kw)
                row[0:3], row[3:7] = pos, quat

    def _write_sim(self, everything: bool = False) -> None:
        """Push ``self._sim`` into PyBullet (joints and objects; ``everything``: markers too) and refresh
        the measured ee pose and the list of present objects.

        Done after every step too, not only in ``set_state``: Bullet keeps poses as matrices and hands
        them out as quaternions, so ``get`` then ``set`` moves a pose by an ulp. Writing the read-back
        state every step makes the internal state a function of the state vector, identical in the
        original run and in a replay restored from that vector. It also re-pins parked objects.
        """
        kw, ids, sim = self._kw, self.ids, self._sim
        q, qd = sim[0:9, None].tolist(), sim[9:18, None].tolist()
        p.resetJointStatesMultiDof(ids.robot, self._joints, q, qd, **kw)
        for i in range(len(self._objects)) if everything else self._present:
            body, row = self._objects[i], self._obj_view[i]
            p.resetBasePositionAndOrientation(body, row[0:3].tolist(), row[3:7].tolist(), **kw)
            p.resetBaseVelocity(body, row[7:10].tolist(), row[10:13].tolist(), **kw)
        if everything:
            for body, row in zip(self._markers, self._mark_view, strict=True):
                p.resetBasePositionAndOrientation(body, row[0:3].tolist(), row[3:7].tolist(), **kw)
            self._parked[:] = self._obj_view[:, 2] < PARK_Z / 2
            self._present = tuple(int(i) for i in np.flatnonzero(~self._parked))
            for i in range(len(self._objects)):
                self._set_parked(i, bool(self._parked[i]))
            self._forget_contacts(everything=True)
        link = p.getLinkState(ids.robot, ids.ee_link, computeForwardKinematics=True, **kw)
        self._ee[:] = link[4]
        self._ee_rot = np.array(p.getMatrixFromQuaternion(link[5])).reshape(3, 3)

    def _set_parked(self, i: int, parked: bool) -> None:
        """Parked objects get mass 0, which makes them static: Bullet does not integrate them, so they
        stay put without being re-pinned every step. (Putting them to sleep instead is not exact: a body
        woken for the next episode skips collision detection for one substep.) Restoring the mass
        restores the inertia too, and the body then moves bit for bit like a never-parked one."""
        mass = 0.0 if parked else self.task.objects[i].mass
        p.changeDynamics(self._objects[i], -1, mass=mass, **self._kw)

    def _park_fallen(self) -> None:
        """Objects that fell off the table below ``PARK_Z / 2`` count as absent from now on: park them,
        at rest (as MuJoCo's ``_pin_parked``)."""
        kw = self._kw
        for i in self._present:
            row = self._obj_view[i]
            if row[2] < PARK_Z / 2:
                row[:] = 0.0
                row[0:3], row[6] = park_position(i), 1.0  # identity quaternion (xyzw)
                self._parked[i] = True
                body = self._objects[i]
                p.resetBasePositionAndOrientation(body, row[0:3].tolist(), row[3:7].tolist(), **kw)
                p.resetBaseVelocity(body, row[7:10].tolist(), row[10:13].tolist(), **kw)
                self._set_parked(i, True)
                # drop its pairs (a static body's broadphase box would stay where it fell from)
                p.setCollisionFilterGroupMask(body, -1, sc.OBJECT, sc.MASKS[sc.OBJECT], **kw)
        self._present = tuple(int(i) for i in np.flatnonzero(~self._parked))

    def _scene(self) -> Scene:
        sim = self._sim
        ids = self.ids
        objects = {n: sensors.pose_wxyz(row) for n, row in zip(ids.objects, self._obj_view, strict=True)}
        markers = {n: sensors.pose_wxyz(row) for n, row in zip(ids.markers, self._mark_view, strict=True)}
        return Scene(
            ee=self._ee, ee_yaw=ee_yaw(self._ee_rot), gripper=float(sim[7] + sim[8]),
            objects=objects, markers=markers, goal=self._goal,
        )

    def _get_obs(self, scene: Scene | None = None) -> dict[str, Any]:
        scene = scene or self._scene()
        modes = self.obs_modes
        obs: dict[str, Any] = {}
        if "state" in modes:
            obs["state"] = self.task.state(scene)
        if "proprio" in modes:
            proprio = np.empty(19, dtype=np.float32)
            proprio[0:7] = self._sim[0:7]
            proprio[7:14] = self._sim[9:16]
            proprio[14:17] = scene.ee
            proprio[17] = scene.ee_yaw
            proprio[18] = scene.gripper
            obs["proprio"] = proprio
        if any(m in modes for m in IMAGE_MODES) or "points" in modes:
            want_depth = "depth" in modes or "points" in modes
            clouds = []
            for cam in self.cameras:
                rgb, depth, seg = self._render(cam, self.width, self.height, pretty=False,
                                               depth=want_depth, seg="seg" in modes)
                if "rgb" in modes:
                    obs[f"rgb/{cam}"] = rgb
                if "depth" in modes:
                    obs[f"depth/{cam}"] = depth
                if "seg" in modes:
                    obs[f"seg/{cam}"] = seg
                if "points" in modes:
                    assert depth is not None
                    pos, rot = self._camera_pose(cam)
                    clouds.append(back_project(depth, rgb, pos, rot, CAMERAS[cam].fovy))
            if "points" in modes:
                obs["points"] = fuse(clouds, self.num_points)
        if "instruction" in modes:
            obs["instruction"] = self.task.instruction(scene.goal)
        return obs

    def _camera_pose(self, camera: str) -> tuple[np.ndarray, np.ndarray]:
        """World position (3,) and rotation (3, 3) (columns: right, up, backwards) of a camera."""
        spec = CAMERAS[camera]
        if spec.frame is not None:
            return sc.camera_pose(spec, self._frame_pose(spec))
        if camera not in self._static_poses:
            self._static_poses[camera] = sc.camera_pose(spec)
        return self._static_poses[camera]

    def _frame_pose(self, spec: scene_spec.CameraSpec) -> tuple[np.ndarray, np.ndarray] | None:
        if spec.frame is None:
            return None
        link_index = self.ids.link_of[spec.frame]
        link = p.getLinkState(self.ids.robot, link_index, computeForwardKinematics=True, **self._kw)
        return np.array(link[4]), np.array(p.getMatrixFromQuaternion(link[5])).reshape(3, 3)

    def _render(
        self, camera: str, width: int, height: int, pretty: bool, depth: bool = False, seg: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(rgb (H, W, 3) uint8, depth (H, W) float32 m or None, seg (H, W) int32 or None)."""
        spec = CAMERAS[camera]
        key = (camera, width, height)
        if spec.frame is None and key in self._camera_cache:
            view, proj = self._camera_cache[key]
        else:
            view, proj = sc.camera_matrices(spec, width, height, self._frame_pose(spec))
            if spec.frame is None:
                self._camera_cache[key] = (view, proj)
        flags = 0 if seg else p.ER_NO_SEGMENTATION_MASK
        _, _, rgba, zbuf, mask = p.getCameraImage(
            width, height, view, proj, shadow=int(pretty), renderer=p.ER_TINY_RENDERER, flags=flags,
            lightDirection=sc.LIGHT_DIRECTION, **self._kw,
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[:, :, :3].copy()
        zbuf = np.asarray(zbuf).reshape(height, width)
        # TinyRenderer clears to white; paint the background as MuJoCo does (black observation frames,
        # a sky gradient in pretty ones), so images from both simulators look alike.
        background = zbuf >= 1.0
        rgb[background] = sensors.sky(height, width)[background] if pretty else 0
        out_depth = sensors.linear_depth(zbuf) if depth else None
        out_seg = self._seg_lut[np.asarray(mask).reshape(height, width) + 1] if seg else None
        return rgb, out_depth, out_seg
