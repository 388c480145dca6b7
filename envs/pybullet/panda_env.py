"""The PyBullet Panda environment behind every ``wb/<Task>-pybullet-v0`` id."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pybullet as p

from envs import robot, scene_spec, sim_params
from envs.arm_controller import ArmController
from envs.ik import ee_yaw
from envs.panda_base import PandaEnvBase
from envs.pybullet import scene as sc
from envs.pybullet import sensors
from envs.pybullet.kinematics import PandaKinematics
from envs.scene_spec import CAMERAS, park_position
from envs.sim_params import SimParams
from envs.tasks import Layout
from envs.tasks.base import PARK_Z

MAX_SPEED = 50.0  # m/s or rad/s; faster than this is a numerical blow-up, not a robot moving
MAX_DISTANCE = 20.0  # m from the origin; farther (and not parked) means the body was flung away
# Controller state in get_state(): ee target xyz, ee target yaw, 7 arm joint targets, finger target.
COMMAND_SIZE = 3 + 1 + 7 + 1


class PandaPybulletEnv(PandaEnvBase):
    """Franka Panda on a table, PyBullet physics (spaces, rewards, episode end: ``PandaEnvBase``).

    Same tasks, layouts (same seed -> same layout), observation keys, controllers and ``info`` keys as
    ``envs/mujoco/panda_env.py``. One ``p.DIRECT`` client per env, so several envs live in one
    process. Physics step 1/240 s, ``substeps`` = 12 per env step: 0.05 s (20 Hz), as MuJoCo's
    25 x 2 ms. The controller's joint targets drive POSITION_CONTROL motors; its IK reads the URDF
    chain in numpy (``PandaKinematics``). Rendering: PyBullet's CPU TinyRenderer (no display, no GL).
    Unstable: non-finite values, speeds over 50 m/s, or bodies flung 20 m away. ``get_state()`` =
    joints, objects, markers, goal vector, the controller's targets and the simulator parameters;
    contact caches are dropped every step (``_forget_contacts``), so that vector is the whole state.
    """

    SUBSTEPS = sc.SUBSTEPS

    def _build(self) -> None:
        self.dt = self.substeps * sc.PHYSICS_DT  # s per env step
        self.ids = sc.build_scene(self.task)
        self._client = self.ids.client
        self._kw = {"physicsClientId": self._client}
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
        self._joint_pos, self._joint_vel = self._sim[0:9], self._sim[9:18]  # (9,) views
        self._obj_view = self._sim[18 : 18 + 13 * n_obj].reshape(n_obj, 13)
        self._mark_view = self._sim[18 + 13 * n_obj :].reshape(n_mark, 7)
        self._parked = np.zeros(n_obj, dtype=bool)
        self._present: tuple[int, ...] = ()  # indices of the objects in play this episode
        self._ee_pos = np.zeros(3)
        self._ee_rot = np.eye(3)
        self._command = np.zeros(COMMAND_SIZE)  # the controller's state, see COMMAND_SIZE
        self._kinematics = PandaKinematics()
        self.controller = ArmController(
            self.controller_name, self.dt, self._kinematics, self._command[0:4], self._command[4:11],
            self._command[11:12],
        )
        self._state_dim = self._sim.size + self.task.goal_dim + COMMAND_SIZE + sim_params.SIZE
        self._position_gains = list(sc.MOTOR_POSITION_GAINS)
        self._light: dict[str, Any] = sc.light_kwargs()
        self._camera_specs: dict[str, scene_spec.CameraSpec] = dict(CAMERAS)
        self._seg_lut, self.segmentation_names = sensors.segmentation_table(self.ids)
        self._camera_cache: dict[tuple[str, int, int], tuple[list[float], list[float]]] = {}
        self._static_poses: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def close(self) -> None:
        if self._client >= 0 and p.isConnected(self._client):
            p.disconnect(self._client)
        self._client = -1

    # ------------------------------------------------------------------ physics
    def _reset_sim(self, layout: Layout) -> None:
        kw, ids = self._kw, self.ids
        q0 = np.concatenate([robot.HOME_QPOS, [robot.FINGER_OPEN, robot.FINGER_OPEN]])
        p.resetJointStatesMultiDof(ids.robot, self._joints, [[v] for v in q0], [[0.0]] * 9, **kw)
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
        self._read_sim(everything=True)
        self._write_sim(everything=True)
        ee, rot = self._kinematics.fk(q0[:7])  # the commanded posture's ee (the IK's own kinematics)
        self.controller.reset(q0[:7], robot.FINGER_OPEN, ee, ee_yaw(rot))

    def _physics_step(self) -> bool:
        kw = self._kw
        self._set_motors()
        self._forget_contacts()
        for _ in range(self._physics_substeps):
            p.stepSimulation(**kw)
        self._read_sim()  # parked objects keep their pinned rows
        if any(self._obj_view[i, 2] < PARK_Z / 2 for i in self._present):
            self._park_fallen()
        sim = self._sim
        unstable = not np.isfinite(sim).all() or bool(
            np.abs(sim[9:18]).max() > MAX_SPEED
            or (np.abs(self._obj_view[~self._parked, 7:13]).max(initial=0.0) > MAX_SPEED)
            or (np.abs(self._obj_view[~self._parked, 0:3]).max(initial=0.0) > MAX_DISTANCE)
        )
        if not unstable:
            self._write_sim()  # the canonical internal state, see _write_sim
        return unstable

    def get_state(self) -> np.ndarray:
        """(n,) float64: joint positions and velocities, object poses (xyzw) and velocities, marker
        poses, the layout goal, and the controller's state (ee target, yaw target, joint and finger
        targets). Contact caches are dropped at the start of every env step (``_forget_contacts``), so
        this vector is the whole state: stepping after ``set_state`` repeats the run bit for bit."""
        return np.concatenate([self._sim, self._goal, self._command, self._params_vector])

    def _load_state(self, state: np.ndarray) -> None:
        n_sim, n_goal = self._sim.size, self._goal.size
        self._sim[:] = state[:n_sim]
        self._goal[:] = state[n_sim : n_sim + n_goal]
        self._command[:] = state[n_sim + n_goal : n_sim + n_goal + COMMAND_SIZE]
        self._write_sim(everything=True)

    def _apply_params(self, params: SimParams) -> None:
        kw, ids = self._kw, self.ids
        # PyBullet multiplies two bodies' friction coefficients: scaling the objects' scales every
        # contact they make (the table and fingers keep theirs).
        for spec, body in zip(self.task.objects, self._objects, strict=True):
            p.changeDynamics(body, -1, lateralFriction=spec.friction * params.friction, **kw)
        for i in range(len(self._objects)):
            self._set_parked(i, bool(self._parked[i]))  # the mass (and the inertia with it)
        for joint in ids.arm_joints:
            p.changeDynamics(ids.robot, joint, jointDamping=sc.JOINT_DAMPING * params.damping, **kw)
        self._position_gains = [sc.ARM_POSITION_GAIN * params.gain] * 7 + [sc.FINGER_POSITION_GAIN] * 2
        table = np.clip(np.array(sc.TABLE_RGBA[:3]) + params.table_rgb, 0.0, 1.0)
        p.changeVisualShape(ids.table, -1, rgbaColor=[*table.tolist(), 1.0], **kw)
        pool_rgba = [s.rgba for s in self.task.objects] + [s.rgba for s in self.task.markers]
        for rgba, body in zip(pool_rgba, (*self._objects, *self._markers), strict=True):
            rgb = np.clip(np.array(rgba[:3]) * params.object_brightness, 0.0, 1.0)
            p.changeVisualShape(body, -1, rgbaColor=[*rgb.tolist(), rgba[3]], **kw)
        self._light = sc.light_kwargs(params.light_shift.tolist(), params.light)
        self._camera_specs = {name: _jittered(spec, params) for name, spec in CAMERAS.items()}
        self._camera_cache.clear()
        self._static_poses.clear()

    def _set_motors(self) -> None:
        c = self.controller
        finger = float(c.finger[0])
        targets = [*c.q_target.tolist(), finger, finger]
        p.setJointMotorControlArray(
            self.ids.robot, self._joints, p.POSITION_CONTROL, targetPositions=targets,
            forces=sc.MOTOR_FORCES, positionGains=self._position_gains,
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
        self._ee_pos[:] = link[4]
        self._ee_rot = np.array(p.getMatrixFromQuaternion(link[5])).reshape(3, 3)

    def _set_parked(self, i: int, parked: bool) -> None:
        """Parked objects get mass 0, which makes them static: Bullet does not integrate them, so they
        stay put without being re-pinned every step. (Putting them to sleep instead is not exact: a body
        woken for the next episode skips collision detection for one substep.) Restoring the mass
        restores the inertia too, and the body then moves bit for bit like a never-parked one."""
        mass = 0.0 if parked else self.task.objects[i].mass * self.params.mass
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

    def _read_pool(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        ids = self.ids
        objects = {n: sensors.pose_wxyz(row) for n, row in zip(ids.objects, self._obj_view, strict=True)}
        markers = {n: sensors.pose_wxyz(row) for n, row in zip(ids.markers, self._mark_view, strict=True)}
        return objects, markers

    # ------------------------------------------------------------------ rendering
    def _render_images(self, camera: str, width: int, height: int, modes: tuple[str, ...]) -> dict[str, Any]:
        rgb, depth, seg = self._render(camera, width, height, pretty=False, depth="depth" in modes,
                                       seg="seg" in modes)
        return {"rgb": rgb, "depth": depth, "seg": seg}

    def _render_pretty(self, camera: str, width: int, height: int) -> np.ndarray:
        return self._render(camera, width, height, pretty=True)[0]

    def _camera_pose(self, camera: str) -> tuple[np.ndarray, np.ndarray]:
        spec = self._camera_specs[camera]
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
        spec = self._camera_specs[camera]
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
            **self._light, **self._kw,
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


def _jittered(spec: scene_spec.CameraSpec, params: SimParams) -> scene_spec.CameraSpec:
    """``spec`` with the episode's field of view and, for a camera fixed in the world, its shift (the
    aim point moves with it: the same viewing direction)."""
    fovy = spec.fovy + params.fov_delta
    if spec.frame is not None:
        return dataclasses.replace(spec, fovy=fovy)
    x, y, z = np.add(spec.pos, params.camera_shift).tolist()
    tx, ty, tz = np.add(spec.target, params.camera_shift).tolist()
    return dataclasses.replace(spec, fovy=fovy, pos=(x, y, z), target=(tx, ty, tz))
